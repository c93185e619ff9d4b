package dev.deeplab.internal.infer;

/**
 * A loaded network with the single-scale serving computation around it: uint8 RGB images of one
 * size in, class ids (and probabilities) at that size out. Implementations are thread-safe.
 */
public interface Network extends AutoCloseable {
  /** Class ids {@code [n*h*w]} and probabilities {@code [n*h*w*classes]} (or null). */
  record Output(int[] classIds, float[] probabilities) {}

  /**
   * Runs {@code n} images of {@code height x width}, RGB bytes back to back in {@code rgb}.
   *
   * @param probabilities also compute the probabilities (the model must have them)
   */
  Output run(byte[] rgb, int n, int height, int width, boolean probabilities);

  /** Whether the model has a probabilities output. */
  boolean hasProbabilities();

  @Override
  void close();
}
