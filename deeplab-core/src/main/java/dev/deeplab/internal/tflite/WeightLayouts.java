package dev.deeplab.internal.tflite;

import dev.deeplab.internal.weights.FloatTensor;

/**
 * Converts TFLite filter layouts to TensorFlow's. TFLite CONV_2D filters are {@code [out, kh, kw,
 * in]} and DEPTHWISE_CONV_2D filters {@code [1, kh, kw, channels]} (TFLite schema, {@code
 * Conv2DOptions} / {@code DepthwiseConv2DOptions} kernels); TF's {@code Conv2D} wants {@code [kh,
 * kw, in, out]} and {@code DepthwiseConv2dNative} {@code [kh, kw, channels, multiplier]}.
 */
final class WeightLayouts {

  private WeightLayouts() {}

  /** {@code [out, kh, kw, in]} → {@code [kh, kw, in, out]}. */
  static FloatTensor convToTf(FloatTensor ohwi) {
    long[] s = ohwi.shape();
    int out = (int) s[0];
    int kh = (int) s[1];
    int kw = (int) s[2];
    int in = (int) s[3];
    float[] src = ohwi.data();
    float[] dst = new float[src.length];
    for (int o = 0; o < out; o++) {
      for (int y = 0; y < kh; y++) {
        for (int x = 0; x < kw; x++) {
          for (int i = 0; i < in; i++) {
            dst[((y * kw + x) * in + i) * out + o] = src[((o * kh + y) * kw + x) * in + i];
          }
        }
      }
    }
    return new FloatTensor(new long[] {kh, kw, in, out}, dst);
  }

  /**
   * {@code [1, kh, kw, c]} → {@code [kh, kw, c, 1]}: the same values in the same order, since the
   * moved axis has size 1.
   */
  static FloatTensor depthwiseToTf(FloatTensor ohwc) {
    long[] s = ohwc.shape();
    return new FloatTensor(new long[] {s[1], s[2], s[3], 1}, ohwc.data().clone());
  }

  /**
   * Reorders the input channels of a TF {@code [kh, kw, in, out]} filter: input channel {@code j}
   * of the result is input channel {@code from[j]} of {@code hwio}.
   */
  static FloatTensor permuteInputs(FloatTensor hwio, int[] from) {
    long[] s = hwio.shape();
    int khw = (int) (s[0] * s[1]);
    int in = (int) s[2];
    int out = (int) s[3];
    float[] src = hwio.data();
    float[] dst = new float[src.length];
    for (int p = 0; p < khw; p++) {
      for (int j = 0; j < in; j++) {
        System.arraycopy(src, (p * in + from[j]) * out, dst, (p * in + j) * out, out);
      }
    }
    return new FloatTensor(s.clone(), dst);
  }
}
