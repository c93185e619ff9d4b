package dev.deeplab.io.image;

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
}
