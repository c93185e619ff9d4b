package dev.deeplab.internal.image;

import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.LabelMap;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.nio.file.Path;

/**
 * Reads segmentation ground truth as class ids: PASCAL VOC {@code SegmentationClass/*.png}
 * palette-indexed PNGs (the id is the palette <i>index</i> stored in the raster, never the colour;
 * 255 is VOC's "void" boundary), and 8-bit greyscale PNG label maps (Cityscapes {@code
 * *_labelTrainIds.png}, ADE20K {@code annotations/*.png}). This matches the official DeepLab
 * conversion, which reads VOC labels with PIL in palette mode ({@code
 * research/deeplab/datasets/remove_gt_colormap.py} in tensorflow/models).
 *
 * <p>16-bit greyscale PNGs are accepted when every value fits in 8 bits. RGB-coloured label
 * images, JPEGs (lossy, so ids would be corrupted) and other formats are refused with an {@link
 * ImageFormatException}, as are all the problems {@link ImageReader} reports.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class LabelReader {
  private final long maxPixels;

  /** A reader with the {@link ImageReader#DEFAULT_MAX_PIXELS default} pixel limit. */
  public LabelReader() {
    this(ImageReader.DEFAULT_MAX_PIXELS);
  }

  /** @param maxPixels the largest {@code width * height} accepted, checked from the header */
  public LabelReader(long maxPixels) {
    if (maxPixels <= 0) {
      throw new IllegalArgumentException("maxPixels must be positive, got " + maxPixels);
    }
    this.maxPixels = maxPixels;
  }

  /**
   * Reads a label PNG.
   *
   * @throws ImageFormatException with a one-line message naming {@code file} for any problem
   */
  public LabelMap read(Path file) throws ImageFormatException {
    try (ImageDecoder decoder = ImageDecoder.open(file, maxPixels)) {
      return decode(decoder, file.toString());
    }
  }

  /**
   * Reads a label PNG held in memory.
   *
   * @param name a name for messages
   * @throws ImageFormatException with a one-line message naming {@code name} for any problem
   */
  public LabelMap read(byte[] data, String name) throws ImageFormatException {
    try (ImageDecoder decoder = ImageDecoder.open(data, name, maxPixels)) {
      return decode(decoder, name);
    }
  }

  private static LabelMap decode(ImageDecoder decoder, String name) throws ImageFormatException {
    if (decoder.format() != ImageFormat.PNG) {
      throw new ImageFormatException(name, "label maps must be PNG (palette or greyscale class ids), got "
          + decoder.format().displayName());
    }
    BufferedImage image = decoder.decode();
    ColorModel cm = image.getColorModel();
    Raster raster = image.getRaster();
    boolean indexed = cm instanceof IndexColorModel;
    boolean grey = cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && cm.getNumColorComponents() == 1;
    if (!indexed && !grey) {
      throw new ImageFormatException(name, "label PNG holds " + cm.getNumColorComponents()
          + "-channel colour, not class ids; expected a palette-indexed or greyscale PNG");
    }
    int w = image.getWidth();
    int h = image.getHeight();
    byte[] ids = new byte[w * h];
    int[] row = new int[w];
    for (int y = 0; y < h; y++) {
      raster.getSamples(0, y, w, 1, 0, row);
      for (int x = 0; x < w; x++) {
        int v = row[x];
        if (v > 255) {
          throw new ImageFormatException(name, "label value " + v + " at (" + x + "," + y
              + ") does not fit in 8 bits; class ids must be 0..255");
        }
        ids[y * w + x] = (byte) v;
      }
    }
    return new LabelMap(w, h, ids);
  }
}
