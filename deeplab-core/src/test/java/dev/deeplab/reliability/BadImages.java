package dev.deeplab.reliability;

import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.TestModels;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;

/**
 * Real bad input for the reliability tests, made in memory from the bundled photos: truncated and
 * corrupt files, wrong extensions, every pixel layout users have (greyscale, RGBA, 16-bit,
 * palette), degenerate sizes, and a PNG header claiming more pixels than the reader's limit.
 */
public final class BadImages {
  private BadImages() {}

  /** A {@code w x h} crop of a bundled photo (from its top-left area). */
  public static RgbImage photoCrop(String photo, int w, int h) throws IOException {
    RgbImage p = TestModels.photo(photo);
    return TestModels.crop(p, Math.min(60, p.width() - w), Math.min(40, p.height() - h), w, h);
  }

  /** Encodes with ImageIO ({@code png}, {@code jpg}, {@code bmp}, {@code gif}). */
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

  /** 8-bit RGB. */
  public static BufferedImage rgb(RgbImage src) {
    return src.toBufferedImage();
  }

  /** 8-bit greyscale (the green channel). */
  public static BufferedImage grey(RgbImage src) {
    BufferedImage out = new BufferedImage(src.width(), src.height(), BufferedImage.TYPE_BYTE_GRAY);
    WritableRaster r = out.getRaster();
    for (int y = 0; y < src.height(); y++) {
      for (int x = 0; x < src.width(); x++) {
        r.setSample(x, y, 0, (src.rgbAt(x, y) >> 8) & 0xFF);
      }
    }
    return out;
  }

  /** 16-bit greyscale ({@code v * 257}). */
  public static BufferedImage grey16(RgbImage src) {
    BufferedImage out = new BufferedImage(src.width(), src.height(),
        BufferedImage.TYPE_USHORT_GRAY);
    WritableRaster r = out.getRaster();
    for (int y = 0; y < src.height(); y++) {
      for (int x = 0; x < src.width(); x++) {
        r.setSample(x, y, 0, ((src.rgbAt(x, y) >> 8) & 0xFF) * 257);
      }
    }
    return out;
  }

  /** 16-bit RGB ({@code v * 257} per channel). */
  public static BufferedImage rgb16(RgbImage src) {
    ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB),
        new int[] {16, 16, 16}, false, false, Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
    WritableRaster r = cm.createCompatibleWritableRaster(src.width(), src.height());
    for (int y = 0; y < src.height(); y++) {
      for (int x = 0; x < src.width(); x++) {
        int p = src.rgbAt(x, y);
        for (int c = 0; c < 3; c++) {
          r.setSample(x, y, c, ((p >> (16 - 8 * c)) & 0xFF) * 257);
        }
      }
    }
    return new BufferedImage(cm, r, false, null);
  }

  /** RGBA with a varying alpha. */
  public static BufferedImage rgba(RgbImage src) {
    BufferedImage out = new BufferedImage(src.width(), src.height(),
        BufferedImage.TYPE_INT_ARGB);
    for (int y = 0; y < src.height(); y++) {
      for (int x = 0; x < src.width(); x++) {
        out.setRGB(x, y, ((x * 7 + y * 3) & 0xFF) << 24 | src.rgbAt(x, y));
      }
    }
    return out;
  }

  /** Palette-indexed (a 6x6x6 colour cube). */
  public static BufferedImage palette(RgbImage src) {
    byte[] r = new byte[216];
    byte[] g = new byte[216];
    byte[] b = new byte[216];
    for (int i = 0; i < 216; i++) {
      r[i] = (byte) (i / 36 * 51);
      g[i] = (byte) (i / 6 % 6 * 51);
      b[i] = (byte) (i % 6 * 51);
    }
    BufferedImage out = new BufferedImage(src.width(), src.height(),
        BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 216, r, g, b));
    for (int y = 0; y < src.height(); y++) {
      for (int x = 0; x < src.width(); x++) {
        int p = src.rgbAt(x, y);
        int index = Math.round((p >> 16 & 0xFF) / 51f) * 36 + Math.round((p >> 8 & 0xFF) / 51f) * 6
            + Math.round((p & 0xFF) / 51f);
        out.getRaster().setSample(x, y, 0, index);
      }
    }
    return out;
  }

  /**
   * A valid PNG signature and IHDR chunk claiming {@code width x height} 8-bit RGB pixels, with no
   * pixel data: the reader must refuse it from the header, before allocating anything.
   */
  public static byte[] pngHeaderOnly(int width, int height) {
    ByteBuffer ihdr = ByteBuffer.allocate(4 + 13);
    ihdr.put("IHDR".getBytes(StandardCharsets.US_ASCII)).putInt(width).putInt(height)
        .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
    CRC32 crc = new CRC32();
    crc.update(ihdr.array());
    ByteBuffer png = ByteBuffer.allocate(8 + 4 + 17 + 4);
    png.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    png.putInt(13).put(ihdr.array()).putInt((int) crc.getValue());
    return png.array();
  }

  /** The first {@code fraction} of the bytes. */
  public static byte[] truncate(byte[] data, double fraction) {
    return Arrays.copyOf(data, (int) (data.length * fraction));
  }

  /** {@code n} random bytes. */
  public static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /**
   * The readable variants of one crop, by file name: every pixel layout, a PNG named {@code .jpg},
   * 1x1 and very small images.
   */
  public static Map<String, byte[]> readable(RgbImage crop) throws IOException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("rgb.png", encode(rgb(crop), "png"));
    files.put("photo.jpg", encode(rgb(crop), "jpg"));
    files.put("photo.bmp", encode(rgb(crop), "bmp"));
    files.put("png-named.jpg", encode(rgb(crop), "png"));
    files.put("grey.png", encode(grey(crop), "png"));
    files.put("grey.jpg", encode(grey(crop), "jpg"));
    files.put("rgba.png", encode(rgba(crop), "png"));
    files.put("grey16.png", encode(grey16(crop), "png"));
    files.put("rgb16.png", encode(rgb16(crop), "png"));
    files.put("palette.png", encode(palette(crop), "png"));
    files.put("palette.gif", encode(palette(crop), "gif"));
    files.put("one-pixel.png", encode(rgb(TestModels.crop(crop, 5, 5, 1, 1)), "png"));
    files.put("tiny-3x2.png", encode(rgb(TestModels.crop(crop, 5, 5, 3, 2)), "png"));
    files.put("strip-1x40.png", encode(rgb(TestModels.crop(crop, 5, 5, 1, 40)), "png"));
    return files;
  }

  /** The unreadable ones, by file name. */
  public static Map<String, byte[]> unreadable(RgbImage crop) throws IOException {
    byte[] jpeg = TestModels.resource("/dev/deeplab/photos/owl.jpg");
    byte[] png = TestModels.resource("/dev/deeplab/photos/chelsea.png");
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("truncated.jpg", truncate(jpeg, 0.5));
    files.put("truncated-header.jpg", truncate(jpeg, 0.01));
    files.put("truncated.png", truncate(png, 0.5));
    files.put("truncated.bmp", truncate(encode(rgb(crop), "bmp"), 0.5));
    files.put("empty.jpg", new byte[0]);
    files.put("random.jpg", randomBytes(4096, 1));
    files.put("text.png", "this is not an image\n".getBytes(StandardCharsets.US_ASCII));
    files.put("huge-header.png", pngHeaderOnly(12_000, 10_000));
    return files;
  }
}
