package dev.deeplab.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.PngChunks.Chunk;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * Our PNG encoder against the JDK's PNG decoder (pixels, palette), the PNG specification's chunk
 * layout and CRCs, and hand-filtered rows. {@code tools/interop/check_png_writer.py} decodes the
 * CLI's masks and overlays with Python's PIL.
 */
class PngEncoderTest {


  @Test
  void rgbDecodesToTheSamePixelsWithImageIo() throws IOException {
    Random random = new Random(7);
    // 1x1; odd sizes; 300x200 random pixels, whose IDATs span several chunks
    for (int[] size : new int[][] {{1, 1}, {3, 2}, {97, 61}, {300, 200}}) {
      int w = size[0];
      int h = size[1];
      byte[] rgb = new byte[w * h * 3];
      random.nextBytes(rgb);
      byte[] png = encodeRgb(w, h, rgb);
      BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
      assertEquals(w, image.getWidth());
      assertEquals(h, image.getHeight());
      int[] samples = image.getRaster().getPixels(0, 0, w, h, (int[]) null);
      assertEquals(rgb.length, samples.length);
      for (int i = 0; i < rgb.length; i++) {
        assertEquals(rgb[i] & 0xFF, samples[i], "sample " + i + " of " + w + "x" + h);
      }
    }
  }

  @Test
  void indexedDecodesToTheSameIdsAndPaletteWithImageIo() throws IOException {
    int w = 513;
    int h = 300;
    byte[] ids = new byte[w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        ids[y * w + x] = (byte) (x < 200 ? 0 : y < 100 ? 15 : x % 7 == 0 ? 255 : 3);
      }
    }
    int[] palette = {0x000000, 0x800000, 0x008000, 0x808000, 0x123456};
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PngEncoder.writeIndexed(out, w, h, ids, palette);
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(out.toByteArray()));
    assertEquals(BufferedImage.TYPE_BYTE_INDEXED, image.getType());
    int[] samples = image.getRaster().getSamples(0, 0, w, h, 0, (int[]) null);
    for (int i = 0; i < ids.length; i++) {
      assertEquals(ids[i] & 0xFF, samples[i], "pixel " + i);
    }
    IndexColorModel colors = (IndexColorModel) image.getColorModel();
    assertEquals(256, colors.getMapSize());
    for (int i = 0; i < 256; i++) {
      int expected = i < palette.length ? palette[i] : 0;
      assertEquals(expected, colors.getRGB(i) & 0xFFFFFF, "palette entry " + i);
    }
  }

  @Test
  void chunksFollowTheSpecificationWithValidCrcs() throws IOException {
    byte[] rgb = new byte[400 * 300 * 3];
    new Random(1).nextBytes(rgb);
    List<Chunk> chunks = PngChunks.read(encodeRgb(400, 300, rgb));
    assertEquals("IHDR", chunks.get(0).type());
    // width 400, height 300, bit depth 8, colour type 2, compression 0, filter 0, interlace 0
    assertArrayEquals(new byte[] {0, 0, 1, (byte) 144, 0, 0, 1, 44, 8, 2, 0, 0, 0},
        chunks.get(0).data());
    assertEquals("IEND", chunks.get(chunks.size() - 1).type());
    assertEquals(0, chunks.get(chunks.size() - 1).data().length);
    List<Chunk> idats = chunks.subList(1, chunks.size() - 1);
    assertTrue(idats.size() > 1, "random pixels need several 64 KB IDAT chunks");
    for (Chunk c : idats) {
      assertEquals("IDAT", c.type());
      assertTrue(c.data().length <= 1 << 16);
    }
    List<Chunk> indexed = PngChunks.read(encodeIndexed(2, 1, new byte[] {1, 0}, new int[] {0, 0xFF0000}));
    assertEquals(List.of("IHDR", "PLTE", "IDAT", "IEND"),
        indexed.stream().map(Chunk::type).toList());
    assertEquals(3, indexed.get(0).data()[9], "colour type 3: palette");
    assertEquals(768, indexed.get(1).data().length);
  }

  @Test
  void rowsAreFilteredAsWorkedOutByHand() throws IOException, DataFormatException {
    // 2x2 RGB: Sub filter (type 1), each byte minus the one 3 to its left, modulo 256
    byte[] rgb = {10, 20, 30, 15, 5, (byte) 200, 0, 0, 0, (byte) 255, 1, 2};
    assertArrayEquals(new byte[] {1, 10, 20, 30, 5, -15, (byte) 170,
        1, 0, 0, 0, (byte) 255, 1, 2}, scanlines(encodeRgb(2, 2, rgb)));
    // 3x2 indexed: Up filter (type 2), each byte minus the one above; the first row as it is
    byte[] ids = {1, 2, 3, 1, 5, 0};
    assertArrayEquals(new byte[] {2, 1, 2, 3, 2, 0, 3, -3},
        scanlines(encodeIndexed(3, 2, ids, new int[] {0})));
  }

  @Test
  void wrongSizesAndPalettesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> encodeRgb(2, 2, new byte[11]));
    assertThrows(IllegalArgumentException.class, () -> encodeRgb(0, 2, new byte[0]));
    assertThrows(IllegalArgumentException.class,
        () -> encodeIndexed(2, 1, new byte[2], new int[257]));
  }

  private static byte[] encodeRgb(int w, int h, byte[] rgb) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PngEncoder.writeRgb(out, w, h, rgb);
    return out.toByteArray();
  }

  private static byte[] encodeIndexed(int w, int h, byte[] ids, int[] palette)
      throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PngEncoder.writeIndexed(out, w, h, ids, palette);
    return out.toByteArray();
  }

  /** The IDAT chunks' zlib stream, inflated: the filtered scanlines. */
  private static byte[] scanlines(byte[] png) throws IOException, DataFormatException {
    ByteArrayOutputStream zlib = new ByteArrayOutputStream();
    for (Chunk c : PngChunks.read(png)) {
      if (c.type().equals("IDAT")) {
        zlib.write(c.data());
      }
    }
    Inflater inflater = new Inflater();
    inflater.setInput(zlib.toByteArray());
    byte[] out = new byte[1024];
    int n = inflater.inflate(out);
    assertTrue(inflater.finished());
    inflater.end();
    return Arrays.copyOf(out, n);
  }
}
