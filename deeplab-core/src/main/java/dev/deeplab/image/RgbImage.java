package dev.deeplab.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;

/**
 * An 8-bit RGB image: {@code width * height * 3} bytes, interleaved R, G, B, rows top to bottom
 * (the HWC uint8 layout of TensorFlow's {@code tf.image.decode_jpeg(..., channels=3)}, which the
 * official DeepLab input pipeline uses: {@code research/deeplab/datasets/data_generator.py}).
 *
 * <p>The byte array is shared, not copied: {@link #rgb()} returns the backing array.
 *
 * <p>The pixel array is shared, not copied: treat it as read-only, and instances are then safe to
 * share between threads.
 */
public final class RgbImage {
  private final int width;
  private final int height;
  private final byte[] rgb;

  /**
   * @param width width in pixels, at least 1
   * @param height height in pixels, at least 1
   * @param rgb {@code width * height * 3} bytes, interleaved RGB, row-major; kept, not copied
   */
  public RgbImage(int width, int height, byte[] rgb) {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
    }
    if (rgb.length != (long) width * height * 3) {
      throw new IllegalArgumentException(
          width + "x" + height + " RGB image needs " + ((long) width * height * 3) + " bytes, got "
              + rgb.length);
    }
    this.width = width;
    this.height = height;
    this.rgb = rgb;
  }

  /** Width in pixels. */
  public int width() {
    return width;
  }

  /** Height in pixels. */
  public int height() {
    return height;
  }

  /** The backing array: interleaved RGB bytes, row-major. Unsigned: use {@code b & 0xFF}. */
  public byte[] rgb() {
    return rgb;
  }

  /** The pixel at column {@code x}, row {@code y} as {@code 0xRRGGBB}. */
  public int rgbAt(int x, int y) {
    if (x < 0 || y < 0 || x >= width || y >= height) {
      throw new IndexOutOfBoundsException("(" + x + "," + y + ") outside " + width + "x" + height);
    }
    int i = (y * width + x) * 3;
    return (rgb[i] & 0xFF) << 16 | (rgb[i + 1] & 0xFF) << 8 | (rgb[i + 2] & 0xFF);
  }

  /** A {@link BufferedImage#TYPE_3BYTE_BGR} copy, e.g. for {@code ImageIO.write}. */
  public BufferedImage toBufferedImage() {
    BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    byte[] bgr = ((DataBufferByte) out.getRaster().getDataBuffer()).getData();
    for (int i = 0; i < rgb.length; i += 3) {
      bgr[i] = rgb[i + 2];
      bgr[i + 1] = rgb[i + 1];
      bgr[i + 2] = rgb[i];
    }
    return out;
  }

  /**
   * Converts any decoded image to 8-bit RGB from its raw samples, the way TensorFlow's {@code
   * decode_png}/{@code decode_jpeg} with {@code channels=3} do, with no colour management:
   *
   * <ul>
   *   <li>RGB: the samples as they are; embedded ICC profiles and gamma are ignored.
   *   <li>Greyscale: the grey value copied to R, G and B.
   *   <li>Palette (indexed): the palette colour of each index.
   *   <li>Alpha: dropped (not composited), as {@code channels=3} does; a transparent pixel keeps
   *       the colour stored under it.
   *   <li>More than 8 bits per sample (16-bit PNG): the high byte, like libpng's {@code
   *       png_set_strip_16}; fewer bits (1/2/4-bit grey, 5-6-5 BMP): scaled to 0..255.
   *   <li>Other colour spaces (CMYK JPEG): converted by the image's own {@link ColorModel}.
   * </ul>
   */
  public static RgbImage of(BufferedImage image) {
    int w = image.getWidth();
    int h = image.getHeight();
    byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
    ColorModel cm = image.getColorModel();
    Raster raster = image.getRaster();
    if (cm instanceof IndexColorModel icm) {
      fromPalette(raster, icm, out);
    } else if (cm.getColorSpace().getType() == ColorSpace.TYPE_RGB && cm.getNumColorComponents() == 3) {
      fromSamples(raster, new int[] {0, 1, 2}, out);
    } else if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && cm.getNumColorComponents() == 1) {
      fromSamples(raster, new int[] {0, 0, 0}, out);
    } else {
      fromColorModel(image, out);
    }
    return new RgbImage(w, h, out);
  }

  private static void fromPalette(Raster raster, IndexColorModel icm, byte[] out) {
    int w = raster.getWidth();
    int[] row = new int[w];
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      raster.getSamples(0, y, w, 1, 0, row);
      for (int x = 0; x < w; x++) {
        int rgb = icm.getRGB(row[x]);
        out[o++] = (byte) (rgb >> 16);
        out[o++] = (byte) (rgb >> 8);
        out[o++] = (byte) rgb;
      }
    }
  }

  /** Copies bands {@code bands[0..2]} into R, G, B, scaled to 8 bits. */
  private static void fromSamples(Raster raster, int[] bands, byte[] out) {
    if (fromInterleavedBytes(raster, bands, out)) {
      return;
    }
    int w = raster.getWidth();
    int numBands = raster.getNumBands();
    int[] bits = new int[3];
    for (int c = 0; c < 3; c++) {
      bits[c] = raster.getSampleModel().getSampleSize(bands[c]);
    }
    int[] row = new int[w * numBands];
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      raster.getPixels(0, y, w, 1, row);
      for (int x = 0; x < w; x++) {
        int base = x * numBands;
        for (int c = 0; c < 3; c++) {
          out[o++] = (byte) to8Bits(row[base + bands[c]], bits[c]);
        }
      }
    }
  }

  /**
   * The common case of {@link #fromSamples} straight from the bytes: 8-bit samples interleaved in
   * one byte array, as ImageIO decodes JPEGs and 8-bit PNGs. False if the raster is not like that.
   */
  private static boolean fromInterleavedBytes(Raster raster, int[] bands, byte[] out) {
    if (!(raster.getSampleModel() instanceof PixelInterleavedSampleModel sm)
        || !(raster.getDataBuffer() instanceof DataBufferByte buffer)
        || buffer.getNumBanks() != 1 || buffer.getOffset() != 0
        || raster.getSampleModelTranslateX() != 0 || raster.getSampleModelTranslateY() != 0) {
      return false;
    }
    for (int bits : sm.getSampleSize()) {
      if (bits != 8) {
        return false;
      }
    }
    byte[] data = buffer.getData();
    int w = raster.getWidth();
    int pixelStride = sm.getPixelStride();
    int scanlineStride = sm.getScanlineStride();
    int[] offsets = sm.getBandOffsets();
    int r = offsets[bands[0]];
    int g = offsets[bands[1]];
    int b = offsets[bands[2]];
    int o = 0;
    for (int y = 0; y < raster.getHeight(); y++) {
      int end = y * scanlineStride + w * pixelStride;
      for (int i = y * scanlineStride; i < end; i += pixelStride) {
        out[o++] = data[i + r];
        out[o++] = data[i + g];
        out[o++] = data[i + b];
      }
    }
    return true;
  }

  static int to8Bits(int value, int bits) {
    if (bits == 8) {
      return value;
    }
    if (bits > 8) {
      return value >>> (bits - 8);
    }
    int max = (1 << bits) - 1;
    return (value * 255 + max / 2) / max;
  }

  private static void fromColorModel(BufferedImage image, byte[] out) {
    int w = image.getWidth();
    int[] row = new int[w];
    int o = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      image.getRGB(0, y, w, 1, row, 0, w);
      for (int x = 0; x < w; x++) {
        out[o++] = (byte) (row[x] >> 16);
        out[o++] = (byte) (row[x] >> 8);
        out[o++] = (byte) row[x];
      }
    }
  }
}
