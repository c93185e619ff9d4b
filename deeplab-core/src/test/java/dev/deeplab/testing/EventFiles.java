package dev.deeplab.testing;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.tensorflow.proto.Event;

/**
 * Reads TensorBoard event files record by record as TF's {@code RecordReader} does, checking both
 * masked CRC-32C checksums of every record (computed here from the format's definition, not by
 * the writer under test).
 */
public final class EventFiles {
  private EventFiles() {}

  /** The events of every {@code events.out.tfevents.*} file in {@code dir}, file by file. */
  public static List<Event> readDirectory(Path dir) throws IOException {
    List<Event> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents."))
          .sorted().toList()) {
        out.addAll(read(f));
      }
    }
    return out;
  }

  /** The events of one file. */
  public static List<Event> read(Path file) throws IOException {
    List<Event> out = new ArrayList<>();
    try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
      while (true) {
        byte[] header = new byte[12];
        try {
          in.readFully(header);
        } catch (EOFException e) {
          return out;
        }
        ByteBuffer b = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        long length = b.getLong();
        check(Arrays.copyOf(header, 8), b.getInt(), file);
        byte[] data = new byte[Math.toIntExact(length)];
        in.readFully(data);
        byte[] footer = new byte[4];
        in.readFully(footer);
        check(data, ByteBuffer.wrap(footer).order(ByteOrder.LITTLE_ENDIAN).getInt(), file);
        out.add(Event.parseFrom(data));
      }
    }
  }

  /** TFRecord's mask: rotate right by 15 bits, add 0xa282ead8 ({@code crc32c.h}). */
  private static void check(byte[] bytes, int stored, Path file) throws IOException {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    int c = (int) crc.getValue();
    int masked = Integer.rotateRight(c, 15) + 0xa282ead8;
    if (masked != stored) {
      throw new IOException("bad record checksum in " + file);
    }
  }
}
