package dev.deeplab.internal.infer;

import dev.deeplab.infer.Segmenter;

/**
 * The large-image path of {@link Segmenter}, in plain Java: the serving graph's own resizing
 * ({@code ServingGraph}: fit into the crop with align-corners bilinear, map class ids back with
 * align-corners nearest neighbour, probabilities with align-corners bilinear), computed with
 * TensorFlow's formulas ({@code resize_bilinear_op.cc}, {@code resize_nearest_neighbor_op.cc},
 * legacy scaler, {@code half_pixel_centers=false}) in float32, so that a large image fed through
 * this path gives what the graph would give, up to rounding the resized pixels to 8 bits.
 *
 * <p>Every method reads its input in place and allocates only its output (plus one small index
 * table per axis), so memory stays proportional to the output.
 */
public final class Resampling {
  private Resampling() {}

  /**
   * The size {@code {height, width}} the serving graph fits an image into: {@code scale =
   * min(1, cropH / h, cropW / w)} in float32, each side {@code clip(round_half_even(side *
   * scale), 1, crop)}.
   */
  public static int[] fittedSize(int height, int width, int cropHeight, int cropWidth) {
    float hf = height;
    float wf = width;
    float scale = Math.min(1f, Math.min((float) cropHeight / hf, (float) cropWidth / wf));
    return new int[] {fitted(hf, scale, cropHeight), fitted(wf, scale, cropWidth)};
  }

  private static int fitted(float side, float scale, int crop) {
    double r = Math.rint(side * scale);
    return (int) Math.max(1, Math.min(crop, r));
  }

  /** TF's {@code CalculateResizeScale} with {@code align_corners=true}. */
  static float alignCornersScale(int in, int out) {
    return out > 1 ? (in - 1) / (float) (out - 1) : in / (float) out;
  }

  /**
   * Resizes interleaved RGB bytes with align-corners bilinear interpolation, rounding to the
   * nearest byte.
   */
  public static byte[] bilinearRgb(byte[] rgb, int width, int height, int outWidth, int outHeight) {
    int[] x0 = new int[outWidth];
    int[] x1 = new int[outWidth];
    float[] xl = new float[outWidth];
    weights(width, outWidth, x0, x1, xl);
    int[] y0 = new int[outHeight];
    int[] y1 = new int[outHeight];
    float[] yl = new float[outHeight];
    weights(height, outHeight, y0, y1, yl);
    byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(outWidth, outHeight), 3)];
    int o = 0;
    for (int y = 0; y < outHeight; y++) {
      long top = (long) y0[y] * width * 3;
      long bottom = (long) y1[y] * width * 3;
      for (int x = 0; x < outWidth; x++) {
        int l = x0[x] * 3;
        int r = x1[x] * 3;
        for (int c = 0; c < 3; c++) {
          float v = lerp(rgb[(int) (top + l + c)] & 0xFF, rgb[(int) (top + r + c)] & 0xFF,
              rgb[(int) (bottom + l + c)] & 0xFF, rgb[(int) (bottom + r + c)] & 0xFF,
              xl[x], yl[y]);
          out[o++] = (byte) Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
    return out;
  }

  /**
   * Resizes {@code [height, width, channels]} floats with align-corners bilinear interpolation
   * into a new array of {@code outHeight * outWidth * channels}.
   */
  public static float[] bilinear(float[] in, int width, int height, int channels, int outWidth,
      int outHeight) {
    int[] x0 = new int[outWidth];
    int[] x1 = new int[outWidth];
    float[] xl = new float[outWidth];
    weights(width, outWidth, x0, x1, xl);
    int[] y0 = new int[outHeight];
    int[] y1 = new int[outHeight];
    float[] yl = new float[outHeight];
    weights(height, outHeight, y0, y1, yl);
    float[] out = new float[Math.multiplyExact(Math.multiplyExact(outWidth, outHeight), channels)];
    int o = 0;
    for (int y = 0; y < outHeight; y++) {
      int top = y0[y] * width * channels;
      int bottom = y1[y] * width * channels;
      for (int x = 0; x < outWidth; x++) {
        int l = x0[x] * channels;
        int r = x1[x] * channels;
        for (int c = 0; c < channels; c++) {
          out[o++] = lerp(in[top + l + c], in[top + r + c], in[bottom + l + c],
              in[bottom + r + c], xl[x], yl[y]);
        }
      }
    }
    return out;
  }

  /**
   * Resizes row-major ids with align-corners nearest neighbour: source index {@code
   * min(roundf(i * scale), in - 1)} per axis, as {@code tf.image.resize_nearest_neighbor(...,
   * align_corners=True)} does.
   */
  public static int[] nearest(int[] ids, int width, int height, int outWidth, int outHeight) {
    int[] xs = nearestIndex(width, outWidth);
    int[] out = new int[Math.multiplyExact(outWidth, outHeight)];
    float sy = alignCornersScale(height, outHeight);
    int previous = -1;
    for (int y = 0; y < outHeight; y++) {
      int sourceRow = Math.min(Math.round(y * sy), height - 1);
      int o = y * outWidth;
      if (sourceRow == previous) {
        System.arraycopy(out, o - outWidth, out, o, outWidth);
        continue;
      }
      int base = sourceRow * width;
      for (int x = 0; x < outWidth; x++) {
        out[o + x] = ids[base + xs[x]];
      }
      previous = sourceRow;
    }
    return out;
  }

  private static int[] nearestIndex(int in, int out) {
    float s = alignCornersScale(in, out);
    int[] index = new int[out];
    for (int i = 0; i < out; i++) {
      index[i] = Math.min(Math.round(i * s), in - 1);
    }
    return index;
  }

  /**
   * TF's {@code compute_interpolation_weights} with the legacy scaler, for the first {@code
   * lower.length} of {@code out} pixels.
   */
  static void weights(int in, int out, int[] lower, int[] upper, float[] lerp) {
    float scale = alignCornersScale(in, out);
    for (int i = 0; i < lower.length; i++) {
      float v = i * scale;
      float f = (float) Math.floor(v);
      lower[i] = Math.max((int) f, 0);
      upper[i] = Math.min((int) Math.ceil(v), in - 1);
      lerp[i] = v - f;
    }
  }

  /** TF's {@code compute_lerp}. */
  static float lerp(float topLeft, float topRight, float bottomLeft, float bottomRight,
      float xLerp, float yLerp) {
    float top = topLeft + (topRight - topLeft) * xLerp;
    float bottom = bottomLeft + (bottomRight - bottomLeft) * xLerp;
    return top + (bottom - top) * yLerp;
  }
}
