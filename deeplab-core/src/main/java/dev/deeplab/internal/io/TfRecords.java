package dev.deeplab.internal.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * The TFRecord file framing ({@code tensorflow/core/lib/io/record_writer.cc}, {@code
 * record_reader.cc}): each record is a little-endian uint64 length, the masked CRC-32C of those 8
 * bytes, the data, and the masked CRC-32C of the data. The mask rotates the CRC right by 15 bits
 * and adds {@code 0xa282ead8} ({@code tensorflow/core/lib/hash/crc32c.h}).
 *
 * <p>Reading checks both CRCs; every problem is an {@link IOException} with a one-line message
 * naming the file and the record index, e.g. {@code train-00000.tfrecord: record 3: data CRC
 * mismatch (corrupt record)}.
 */
public final class TfRecords {
  /** Records larger than this are refused as corrupt (a photo and its label need far less). */
  public static final long MAX_RECORD_BYTES = 1L << 30;

  private static final int HEADER = 12;
  private static final int FOOTER = 4;

  private TfRecords() {}

  /**
   * Where a record's data is.
   *
   * @param offset position of the data in the file
   * @param length data length in bytes
   */
  public record Position(long offset, int length) {}

  /** Writes one record. */
  public static void write(OutputStream out, byte[] data) throws IOException {
    byte[] length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(data.length).array();
    out.write(length);
    out.write(intLe(maskedCrc(length, 0, 8)));
    out.write(data);
    out.write(intLe(maskedCrc(data, 0, data.length)));
  }

  private static byte[] intLe(int v) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
  }

  /** TFRecord's masked CRC-32C of {@code data[offset, offset + length)}. */
  public static int maskedCrc(byte[] data, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(data, offset, length);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + 0xa282ead8;
  }

  /**
   * Reads the header of the record that starts at {@code position}: checks the length CRC and that
   * the file holds the whole record.
   *
   * @param name the file's name for messages
   * @return the record's data position, or {@code null} at the end of the file
   * @throws IOException if the header is truncated or corrupt, or the record runs past the end
   */
  public static Position header(FileChannel file, String name, int index, long position)
      throws IOException {
    long size = file.size();
    if (position == size) {
      return null;
    }
    if (size - position < HEADER) {
      throw problem(name, index, "truncated record header (" + (size - position)
          + " bytes left, 12 needed)");
    }
    ByteBuffer header = readFully(file, name, index, position, HEADER);
    byte[] bytes = header.array();
    long length = header.getLong(0);
    if (header.getInt(8) != maskedCrc(bytes, 0, 8)) {
      throw problem(name, index, "length CRC mismatch (corrupt record header)");
    }
    if (length < 0 || length > MAX_RECORD_BYTES) {
      throw problem(name, index, "record length " + Long.toUnsignedString(length)
          + " is over the limit of " + MAX_RECORD_BYTES + " bytes");
    }
    long left = size - position - HEADER;
    if (length + FOOTER > left) {
      throw problem(name, index, "truncated record (" + length + " data bytes declared, "
          + Math.max(0, left - FOOTER) + " left)");
    }
    return new Position(position + HEADER, (int) length);
  }

  /** The position of the record after the one whose data is at {@code p}. */
  public static long next(Position p) {
    return p.offset() + p.length() + FOOTER;
  }

  /**
   * Reads a record's data and checks its CRC.
   *
   * @throws IOException if it cannot be read or the CRC does not match
   */
  public static byte[] data(FileChannel file, String name, int index, Position p)
      throws IOException {
    ByteBuffer buffer = readFully(file, name, index, p.offset(), p.length() + FOOTER);
    byte[] bytes = buffer.array();
    if (buffer.getInt(p.length()) != maskedCrc(bytes, 0, p.length())) {
      throw problem(name, index, "data CRC mismatch (corrupt record)");
    }
    return java.util.Arrays.copyOf(bytes, p.length());
  }

  private static ByteBuffer readFully(FileChannel file, String name, int index, long position,
      int length) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
    long at = position;
    while (buffer.hasRemaining()) {
      int n = file.read(buffer, at);
      if (n < 0) {
        throw problem(name, index, "unexpected end of file");
      }
      at += n;
    }
    return buffer;
  }

  private static IOException problem(String name, int index, String what) {
    return new IOException(name + ": record " + index + ": " + what);
  }
}
