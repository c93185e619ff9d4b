package dev.deeplab.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

/** A PNG file's chunks, read by the PNG specification's layout, for tests of PNG writers. */
public final class PngChunks {
  private PngChunks() {}

  /** One chunk: its four-letter type and its data. */
  public record Chunk(String type, byte[] data) {}

  /** The chunks after the signature (asserted), each CRC-32 asserted. */
  public static List<Chunk> read(byte[] png) {
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'},
        Arrays.copyOf(png, 8), "PNG signature");
    ByteBuffer b = ByteBuffer.wrap(png);
    b.position(8);
    List<Chunk> chunks = new ArrayList<>();
    while (b.hasRemaining()) {
      int length = b.getInt();
      byte[] typeAndData = new byte[4 + length];
      b.get(typeAndData);
      CRC32 crc = new CRC32();
      crc.update(typeAndData);
      String type = new String(typeAndData, 0, 4, StandardCharsets.US_ASCII);
      assertEquals((int) crc.getValue(), b.getInt(), "CRC of " + type);
      chunks.add(new Chunk(type, Arrays.copyOfRange(typeAndData, 4, typeAndData.length)));
    }
    return chunks;
  }
}
