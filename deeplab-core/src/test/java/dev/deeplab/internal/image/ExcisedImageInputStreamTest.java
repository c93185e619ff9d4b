package dev.deeplab.internal.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExcisedImageInputStreamTest {

  /** Bytes 0..99 without 10..19, 50 and 98..99. */
  private static ImageInputStream excised() {
    byte[] bytes = new byte[100];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) i;
    }
    ImageInputStream source = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes));
    return new ExcisedImageInputStream(source, new long[][] {{10, 20}, {50, 51}, {98, 100}});
  }

  private static byte[] expected(int from) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (int i = 0; i < 100; i++) {
      if (!(i >= 10 && i < 20 || i == 50 || i >= 98)) {
        out.write(i);
      }
    }
    byte[] all = out.toByteArray();
    return java.util.Arrays.copyOfRange(all, from, all.length);
  }

  @Test
  void readsAroundTheCuts() throws IOException {
    try (ImageInputStream in = excised()) {
      byte[] all = new byte[87];
      in.readFully(all);
      assertArrayEquals(expected(0), all);
      assertEquals(-1, in.read());
    }
  }

  @Test
  void seeksByteByByte() throws IOException {
    try (ImageInputStream in = excised()) {
      in.seek(39);
      byte[] rest = expected(39);
      for (byte b : rest) {
        assertEquals(b & 0xFF, in.read());
      }
      assertEquals(-1, in.read());
      in.seek(9);
      assertEquals(9, in.read());
      assertEquals(20, in.read());
      assertEquals(25 << 8 | 26, readShortAt(in, 15), "bytes 25 and 26 of the source");
    }
  }

  @Test
  void lengthIsTheSourcesLessTheCuts(@TempDir Path dir) throws IOException {
    Path file = Files.write(dir.resolve("bytes"), new byte[100]);
    try (ImageInputStream in = new ExcisedImageInputStream(new FileImageInputStream(file.toFile()),
        new long[][] {{10, 20}, {50, 51}})) {
      assertEquals(89, in.length());
    }
    try (ImageInputStream in = excised()) {
      assertEquals(-1, in.length(), "unknown, as the source's");
    }
  }

  private static int readShortAt(ImageInputStream in, long pos) throws IOException {
    in.seek(pos);
    return in.readUnsignedShort();
  }

  @Test
  void overlappingRangesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new ExcisedImageInputStream(
        new MemoryCacheImageInputStream(new ByteArrayInputStream(new byte[4])),
        new long[][] {{0, 3}, {2, 4}}));
  }
}
