package dev.deeplab.internal.crf;

import java.util.stream.IntStream;

/**
 * Normalised Gaussian filtering on the pixel grid, for the CRF's smoothness kernel, which depends
 * on position only: {@code sum_j k(i, j) v_j / sum_j k(i, j)} with {@code k(i, j) = exp(-|x_i -
 * x_j|^2 / 2 sigma^2)}, computed exactly as two one-dimensional passes (the kernel is separable),
 * truncated at {@code 4 sigma} where its weights fall below {@code 3.4e-4} of the centre's.
 * Cheaper and more accurate than the permutohedral lattice for the few pixels of radius the
 * smoothness kernel has.
 *
 * <p>Immutable; {@link #filterAdd} runs its rows in parallel.
 */
public final class GaussianGrid {
  private final int width;
  private final int height;
  private final int radius;
  private final float[] taps;
  private final float[] inverseNormX;
  private final float[] inverseNormY;

  public GaussianGrid(int width, int height, double sigma) {
    if (!(sigma > 0) || Double.isInfinite(sigma)) {
      throw new IllegalArgumentException("sigma must be finite and > 0, got " + sigma);
    }
    this.width = width;
    this.height = height;
    this.radius = (int) Math.min(Math.ceil(4 * sigma), Math.max(width, height));
    this.taps = new float[2 * radius + 1];
    for (int k = -radius; k <= radius; k++) {
      taps[k + radius] = (float) Math.exp(-0.5 * k * k / (sigma * sigma));
    }
    this.inverseNormX = inverseNorms(width);
    this.inverseNormY = inverseNorms(height);
  }

  /** {@code 1 / sum_j k} along one axis of {@code n} pixels, the image's edges cutting it. */
  private float[] inverseNorms(int n) {
    float[] inv = new float[n];
    for (int x = 0; x < n; x++) {
      double sum = 0;
      for (int k = Math.max(-radius, -x); k <= Math.min(radius, n - 1 - x); k++) {
        sum += taps[k + radius];
      }
      inv[x] = (float) (1 / sum);
    }
    return inv;
  }

  /**
   * Adds {@code factor} times the normalised filtering of {@code in} (row-major {@code [height,
   * width, channels]}) to {@code out}.
   *
   * @param tmp scratch of at least {@code width * height * channels} floats
   */
  public void filterAdd(float[] in, float[] out, int channels, float factor, float[] tmp) {
    int row = width * channels;
    IntStream.range(0, height).parallel().forEach(y -> {
      int base = y * row;
      java.util.Arrays.fill(tmp, base, base + row, 0f);
      for (int k = -radius; k <= radius; k++) {
        float g = taps[k + radius];
        int x0 = Math.max(0, -k);
        int x1 = Math.min(width, width - k);
        int shift = k * channels;
        for (int i = base + x0 * channels; i < base + x1 * channels; i++) {
          tmp[i] += g * in[i + shift];
        }
      }
      for (int x = 0; x < width; x++) {
        float s = inverseNormX[x];
        for (int c = 0, i = base + x * channels; c < channels; c++, i++) {
          tmp[i] *= s;
        }
      }
    });
    IntStream.range(0, height).parallel().forEach(y -> {
      int base = y * row;
      float s = factor * inverseNormY[y];
      for (int k = Math.max(-radius, -y); k <= Math.min(radius, height - 1 - y); k++) {
        float g = s * taps[k + radius];
        int src = (y + k) * row;
        for (int i = 0; i < row; i++) {
          out[base + i] += g * tmp[src + i];
        }
      }
    });
  }
}
