package dev.deeplab.image;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/** Builds small test images in memory with ImageIO. */
public final class TestImages {
  private TestImages() {}

  public static byte[] encode(BufferedImage image, String format) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (!ImageIO.write(image, format, out)) {
        throw new IllegalStateException("no " + format + " writer for " + image);
      }
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Path write(Path dir, String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  /** A w x h RGB image whose pixel (x, y) is (x*10, y*10, 200). */
  public static BufferedImage rgbGradient(int w, int h) {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        image.setRGB(x, y, (x * 10) << 16 | (y * 10) << 8 | 200);
      }
    }
    return image;
  }

  /** A grey image whose raster sample at (x, y) is 17 * x + y. */
  public static BufferedImage grey(int w, int h) {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        image.getRaster().setSample(x, y, 0, 17 * x + y);
      }
    }
    return image;
  }

  /** A 16-bit greyscale image whose sample at (x, y) is 0x0101 * (x * 16 + y) + 0x80. */
  public static BufferedImage grey16(int w, int h) {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        image.getRaster().setSample(x, y, 0, 0x0101 * (x * 16 + y) + 0x80);
      }
    }
    return image;
  }

  /** A 16-bit RGB image: sample (x, y, band) = (band * 60 + x + y) * 256 + 0xFF. */
  public static BufferedImage rgb16(int w, int h) {
    ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB),
        false, false, Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
    WritableRaster raster = cm.createCompatibleWritableRaster(w, h);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int b = 0; b < 3; b++) {
          raster.setSample(x, y, b, (b * 60 + x + y) * 256 + 0xFF);
        }
      }
    }
    return new BufferedImage(cm, raster, false, null);
  }

  /** ARGB: left half opaque red, right half fully transparent with colour (10, 20, 30). */
  public static BufferedImage rgba(int w, int h) {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        image.setRGB(x, y, x < w / 2 ? 0xFFFF0000 : 0x000A141E);
      }
    }
    return image;
  }

  /** A palette image with 4 colours; index at (x, y) is (x + y) % 4. */
  public static final int[] PALETTE4 = {0x000000, 0xFF8000, 0x00FF00, 0x3366CC};

  public static BufferedImage palette(int w, int h) {
    byte[] r = new byte[4];
    byte[] g = new byte[4];
    byte[] b = new byte[4];
    for (int i = 0; i < 4; i++) {
      r[i] = (byte) (PALETTE4[i] >> 16);
      g[i] = (byte) (PALETTE4[i] >> 8);
      b[i] = (byte) PALETTE4[i];
    }
    IndexColorModel icm = new IndexColorModel(8, 4, r, g, b);
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, icm);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        image.getRaster().setSample(x, y, 0, (x + y) % 4);
      }
    }
    return image;
  }

  /** A solid-colour RGB image. */
  public static BufferedImage solid(int w, int h, int rgb) {
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        image.setRGB(x, y, rgb);
      }
    }
    return image;
  }

  /** A 4-channel (CMYK) JPEG written from a raw raster, all channels set to {@code value}. */
  public static byte[] cmykJpeg(int w, int h, int value) throws IOException {
    WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int b = 0; b < 4; b++) {
          raster.setSample(x, y, b, value);
        }
      }
    }
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
      writer.setOutput(ios);
      writer.write(new IIOImage(raster, null, null));
    } finally {
      writer.dispose();
    }
    return out.toByteArray();
  }

  /** A bundled resource's bytes, e.g. {@code /dev/deeplab/photos/owl.jpg}. */
  public static byte[] resource(String path) throws IOException {
    try (InputStream in = TestImages.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IOException("missing test resource " + path);
      }
      return in.readAllBytes();
    }
  }
}
