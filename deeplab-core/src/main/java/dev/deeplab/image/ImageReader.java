package dev.deeplab.image;

import dev.deeplab.internal.image.ImageDecoder;
import dev.deeplab.internal.image.ImageFormat;
import java.nio.file.Path;

/**
 * Reads photos into {@link RgbImage}s: JPEG, PNG, BMP and GIF (first frame), whatever the file is
 * called; the format is recognised from the content ({@link ImageFormat#detect}), so a PNG named
 * {@code .jpg} reads fine and random bytes named {@code .jpg} are reported as "not an image".
 *
 * <p>Pixels are converted as {@link RgbImage#of} describes, matching TensorFlow's {@code
 * tf.image.decode_image(..., channels=3)} used by the official DeepLab input pipeline ({@code
 * research/deeplab/datasets/data_generator.py} in tensorflow/models): greyscale is replicated,
 * palettes are expanded, <b>alpha is dropped</b> (not composited), 16-bit samples keep their high
 * byte, ICC profiles and EXIF orientation are ignored (a JPEG's profile is not handed to ImageIO,
 * which would convert the pixels through it). CMYK JPEGs are converted by ImageIO's CMYK colour
 * model. Common PNGs (8-bit RGB or RGBA, not interlaced) are decoded by our own code, the rest by
 * ImageIO.
 *
 * <p>Every failure is an {@link ImageFormatException} with a one-line message naming the file:
 * missing or empty file, not an image, unsupported format (TIFF, WebP, HEIF, ...), corrupt or
 * truncated data (including JPEGs that ImageIO would half-decode, filling the rest with grey), or
 * an image over the pixel limit. The limit is checked from the header, before any pixel memory is
 * allocated.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class ImageReader {
  /** The default pixel limit: 100 megapixels (300 MB as RGB bytes). */
  public static final long DEFAULT_MAX_PIXELS = 100_000_000L;

  private final long maxPixels;

  /** A reader with the {@link #DEFAULT_MAX_PIXELS default} pixel limit. */
  public ImageReader() {
    this(DEFAULT_MAX_PIXELS);
  }

  /**
   * @param maxPixels the largest {@code width * height} accepted; larger images are refused from
   *     their header, before decoding
   */
  public ImageReader(long maxPixels) {
    if (maxPixels <= 0) {
      throw new IllegalArgumentException("maxPixels must be positive, got " + maxPixels);
    }
    this.maxPixels = maxPixels;
  }

  /** The largest {@code width * height} this reader accepts. */
  public long maxPixels() {
    return maxPixels;
  }

  /**
   * Reads and decodes an image file.
   *
   * @throws ImageFormatException with a one-line message naming {@code file} for any problem
   */
  public RgbImage read(Path file) throws ImageFormatException {
    try (ImageDecoder decoder = ImageDecoder.open(file, maxPixels)) {
      return decoder.decodeRgb();
    }
  }

  /**
   * Decodes an image held in memory.
   *
   * @param data the encoded file content
   * @param name a name for messages, e.g. the original file name or URL
   * @throws ImageFormatException with a one-line message naming {@code name} for any problem
   */
  public RgbImage read(byte[] data, String name) throws ImageFormatException {
    try (ImageDecoder decoder = ImageDecoder.open(data, name, maxPixels)) {
      return decoder.decodeRgb();
    }
  }
}
