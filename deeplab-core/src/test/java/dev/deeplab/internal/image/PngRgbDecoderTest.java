package dev.deeplab.internal.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.deeplab.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.api.Test;

/** Our PNG decoding against ImageIO's on PNGs that ImageIO writes (all five filter types). */
class PngRgbDecoderTest {

  /** Smooth areas (Sub, Up, Average, Paeth win) and noise (None wins), RGB or RGBA. */
  private static BufferedImage photo(int w, int h, boolean alpha, long seed) {
    BufferedImage image = new BufferedImage(w, h,
        alpha ? BufferedImage.TYPE_INT_ARGB : BufferedImage.TYPE_INT_RGB);
    Random random = new Random(seed);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int v = x < w / 2 ? (x * 255 / w) << 16 | (y * 255 / h) << 8 | (x + y) % 256
            : random.nextInt(1 << 24);
        image.setRGB(x, y, (alpha ? random.nextInt(256) : 255) << 24 | v);
      }
    }
    return image;
  }

  private static byte[] png(BufferedImage image, boolean interlaced) throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setProgressiveMode(interlaced ? ImageWriteParam.MODE_DEFAULT
          : ImageWriteParam.MODE_DISABLED);
      writer.write(null, new IIOImage(image, null, null), param);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  private static byte[] decode(byte[] png, int w, int h) throws IOException {
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(png))) {
      in.seek(20);
      byte[] rgb = PngRgbDecoder.decode(in, png, 34, w, h);
      assertEquals(20, in.getStreamPosition(), "the stream is left where it was");
      return rgb;
    }
  }

  @Test
  void rgbAndRgbaEqualImageIosPixels() throws IOException {
    for (boolean alpha : new boolean[] {false, true}) {
      for (int[] size : new int[][] {{1, 1}, {2, 3}, {37, 21}, {300, 250}}) {
        byte[] png = png(photo(size[0], size[1], alpha, size[0]), false);
        byte[] expected = RgbImage.of(ImageIO.read(new ByteArrayInputStream(png))).rgb();
        byte[] rgb = decode(png, size[0], size[1]);
        assertNotNull(rgb, "decoded here, not by ImageIO");
        assertArrayEquals(expected, rgb, (alpha ? "RGBA " : "RGB ") + Arrays.toString(size));
      }
    }
  }

  @Test
  void othersAreLeftToImageIo() throws IOException {
    assertNull(decode(png(photo(9, 7, false, 1), true), 9, 7), "interlaced");
    BufferedImage grey = new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_GRAY);
    assertNull(decode(png(grey, false), 4, 4), "greyscale");
    byte[] rgb = png(photo(30, 20, false, 2), false);
    assertNull(decode(Arrays.copyOf(rgb, rgb.length - 40), 30, 20), "truncated");
    assertNull(decode(rgb, 31, 20), "not the size the caller read from the header");
  }

  @Test
  void handMadeChunksAndFilterTypes() throws IOException {
    // 2x1 RGB, filter type 0: the pixels as stored; a text chunk before the data is skipped
    byte[] row = {0, 1, 2, 3, (byte) 200, 100, 50};
    assertArrayEquals(new byte[] {1, 2, 3, (byte) 200, 100, 50},
        decode(handMade("tEXt", row), 2, 1));
    // filter type 1 (Sub): the second pixel adds the first
    byte[] sub = {1, 1, 2, 3, 10, 20, 30};
    assertArrayEquals(new byte[] {1, 2, 3, 11, 22, 33}, decode(handMade("tEXt", sub), 2, 1));
    row[0] = 5;
    assertNull(decode(handMade("tEXt", row), 2, 1), "no filter type 5");
    row[0] = 0;
    assertNull(decode(handMade("XXXX", row), 2, 1), "an unknown critical chunk");
  }

  /** Signature, IHDR (2x1, 8-bit RGB), a chunk of type {@code extra}, one IDAT, IEND. */
  private static byte[] handMade(String extra, byte[] scanlines) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
    chunk(out, "IHDR", new byte[] {0, 0, 0, 2, 0, 0, 0, 1, 8, 2, 0, 0, 0});
    chunk(out, extra, new byte[] {'a', 0, 'b'});
    java.util.zip.Deflater deflater = new java.util.zip.Deflater();
    deflater.setInput(scanlines);
    deflater.finish();
    byte[] compressed = new byte[256];
    int n = deflater.deflate(compressed);
    deflater.end();
    chunk(out, "IDAT", Arrays.copyOf(compressed, n));
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(12 + data.length);
    b.putInt(data.length).put(type.getBytes(java.nio.charset.StandardCharsets.US_ASCII)).put(data);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(b.array(), 4, 4 + data.length);
    b.putInt((int) crc.getValue());
    out.writeBytes(b.array());
  }
}
