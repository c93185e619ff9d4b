package dev.deeplab.internal.train;

import java.util.List;

/**
 * A training batch, NHWC: {@code size} crops of {@code height x width} with float RGB values
 * 0..255 and uint8 labels.
 *
 * @param step the training step it is for
 * @param size number of images
 * @param height crop height
 * @param width crop width
 * @param pixels {@code size*height*width*3} floats
 * @param labels {@code size*height*width} class ids (unsigned bytes)
 * @param ids the sample ids, in batch order
 */
public record Batch(long step, int size, int height, int width, float[] pixels, byte[] labels,
    List<String> ids) {

  /** Checks the array sizes. */
  public Batch {
    long n = (long) size * height * width;
    if (pixels.length != n * 3 || labels.length != n) {
      throw new IllegalArgumentException("batch arrays do not match " + size + "x" + height + "x"
          + width);
    }
    ids = List.copyOf(ids);
  }
}
