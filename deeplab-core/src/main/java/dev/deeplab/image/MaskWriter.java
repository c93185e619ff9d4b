package dev.deeplab.image;

import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.internal.io.AtomicFiles;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes segmentation results as PNG files:
 *
 * <ul>
 *   <li>a <b>mask</b>: a palette-indexed 8-bit PNG whose pixel values are the class ids and whose
 *       palette gives each id its colour — the format of PASCAL VOC's {@code SegmentationClass}
 *       ground truth, which {@link LabelReader} reads back exactly;
 *   <li>an <b>overlay</b>: the photo with each pixel blended with its class colour, {@code out =
 *       (1 - alpha) * photo + alpha * colour}, alpha 0.5 by default, pixels of class 0
 *       (background) left as they are — the visualisation of DeepLab's demo notebook ({@code
 *       research/deeplab/deeplab_demo.ipynb} in tensorflow/models).
 * </ul>
 *
 * <p>Palettes are {@code int[]} of {@code 0xRRGGBB} indexed by class id (e.g. {@code
 * LabelSet.palette()}); ids past the palette's end are drawn black. Files are written under a
 * temporary name and renamed ({@link AtomicFiles#writeUnsynced}), so a failure or a kill never
 * leaves a half-written PNG; they are not forced to disk one by one (as image libraries do not).
 *
 * <p>Stateless and thread-safe.
 */
public final class MaskWriter {
  /** The default overlay opacity of class colours. */
  public static final double DEFAULT_ALPHA = 0.5;

  /** The class left unblended in overlays (background). */
  public static final int BACKGROUND_CLASS = 0;

  private MaskWriter() {}

  /** Writes {@code mask} as a palette-indexed 8-bit PNG (pixel value = class id). */
  public static void writeMask(Path out, LabelMap mask, int[] palette) throws IOException {
    checkPalette(palette);
    AtomicFiles.writeUnsynced(out, stream -> PngEncoder.writeIndexed(stream, mask.width(),
        mask.height(), mask.ids(), palette));
  }

  /** The PNG bytes {@link #writeMask} would write. */
  public static byte[] encodeMask(LabelMap mask, int[] palette) throws IOException {
    checkPalette(palette);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PngEncoder.writeIndexed(bytes, mask.width(), mask.height(), mask.ids(), palette);
    return bytes.toByteArray();
  }

  /** {@link #writeOverlay(Path, RgbImage, LabelMap, int[], double)} with alpha 0.5. */
  public static void writeOverlay(Path out, RgbImage photo, LabelMap mask, int[] palette) throws IOException {
    writeOverlay(out, photo, mask, palette, DEFAULT_ALPHA);
  }

  /** Writes {@link #overlay(RgbImage, LabelMap, int[], double)} as an RGB PNG. */
  public static void writeOverlay(Path out, RgbImage photo, LabelMap mask, int[] palette, double alpha)
      throws IOException {
    writePng(out, overlay(photo, mask, palette, alpha));
  }

  /** Writes an RGB image as an 8-bit RGB PNG. */
  public static void writePng(Path out, RgbImage image) throws IOException {
    AtomicFiles.writeUnsynced(out, stream -> PngEncoder.writeRgb(stream, image.width(),
        image.height(), image.rgb()));
  }

  /**
   * Blends class colours into a photo: {@code round((1 - alpha) * photo + alpha * colour)} per
   * channel, except where the class is {@link #BACKGROUND_CLASS}.
   *
   * @param alpha colour opacity in [0, 1]
   * @throws IllegalArgumentException if the mask and photo sizes differ or alpha is out of range
   */
  public static RgbImage overlay(RgbImage photo, LabelMap mask, int[] palette, double alpha) {
    if (photo.width() != mask.width() || photo.height() != mask.height()) {
      throw new IllegalArgumentException("mask is " + mask.width() + "x" + mask.height()
          + " but photo is " + photo.width() + "x" + photo.height());
    }
    if (!(alpha >= 0 && alpha <= 1)) {
      throw new IllegalArgumentException("alpha must be in [0, 1], got " + alpha);
    }
    byte[] src = photo.rgb();
    byte[] dst = src.clone();
    byte[] ids = mask.ids();
    // per class present: the blended value of each channel for each photo value, made once
    byte[][] blends = new byte[256][];
    for (int i = 0; i < ids.length; i++) {
      int id = ids[i] & 0xFF;
      if (id == BACKGROUND_CLASS) {
        continue;
      }
      byte[] blend = blends[id];
      if (blend == null) {
        blend = blends[id] = blendTable(id < palette.length ? palette[id] : 0, alpha);
      }
      int at = i * 3;
      dst[at] = blend[src[at] & 0xFF];
      dst[at + 1] = blend[256 + (src[at + 1] & 0xFF)];
      dst[at + 2] = blend[512 + (src[at + 2] & 0xFF)];
    }
    return new RgbImage(photo.width(), photo.height(), dst);
  }

  /** {@code round((1 - alpha) * p + alpha * k)} for channel c's k, at {@code 256 * c + p}. */
  private static byte[] blendTable(int color, double alpha) {
    byte[] table = new byte[3 * 256];
    for (int c = 0; c < 3; c++) {
      int k = (color >> (16 - 8 * c)) & 0xFF;
      for (int p = 0; p < 256; p++) {
        table[256 * c + p] = (byte) Math.round((1 - alpha) * p + alpha * k);
      }
    }
    return table;
  }

  /**
   * A {@link BufferedImage#TYPE_BYTE_INDEXED} image of the mask with a 256-entry palette.
   *
   * @param palette colours {@code 0xRRGGBB} by id; at most 256, missing entries black
   */
  public static BufferedImage toIndexedImage(LabelMap mask, int[] palette) {
    checkPalette(palette);
    byte[] r = new byte[256];
    byte[] g = new byte[256];
    byte[] b = new byte[256];
    for (int i = 0; i < palette.length; i++) {
      r[i] = (byte) (palette[i] >> 16);
      g[i] = (byte) (palette[i] >> 8);
      b[i] = (byte) palette[i];
    }
    IndexColorModel icm = new IndexColorModel(8, 256, r, g, b);
    BufferedImage image = new BufferedImage(mask.width(), mask.height(), BufferedImage.TYPE_BYTE_INDEXED, icm);
    byte[] data = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
    System.arraycopy(mask.ids(), 0, data, 0, data.length);
    return image;
  }

  private static void checkPalette(int[] palette) {
    if (palette.length > 256) {
      throw new IllegalArgumentException(
          "an 8-bit palette has at most 256 colours, got " + palette.length);
    }
  }
}
