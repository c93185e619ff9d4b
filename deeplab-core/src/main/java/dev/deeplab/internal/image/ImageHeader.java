package dev.deeplab.internal.image;

import dev.deeplab.image.ImageReader;

/**
 * What an image file's header says, read without decoding any pixels (see {@link
 * ImageReader#readHeader}).
 *
 * @param format the container format, recognised from the file's content
 * @param width the width in pixels
 * @param height the height in pixels
 */
public record ImageHeader(ImageFormat format, int width, int height) {

  /** {@code width * height}. */
  public long pixels() {
    return (long) width * height;
  }

  /**
   * Reads only the header of an image file: format and size, without decoding pixels; applies the
   * pixel limit.
   *
   * @throws ImageFormatException with a one-line message naming {@code file} for any problem
   */
  public static ImageHeader read(java.nio.file.Path file, long maxPixels)
      throws dev.deeplab.image.ImageFormatException {
    try (ImageDecoder decoder = ImageDecoder.open(file, maxPixels)) {
      return decoder.header();
    }
  }
}
