package dev.deeplab.internal.weights;

/**
 * Convolution kernels laid out {@code [out, in, kh, kw]} (PyTorch's and Caffe's layout) converted
 * to TensorFlow's {@code [kh, kw, in, out]}; tensors of another rank are left as they are.
 */
public final class Oihw {
  private Oihw() {}

  /** {@code [out, in, kh, kw]} → {@code [kh, kw, in, out]} for 4-D shapes; others unchanged. */
  public static long[] hwioShape(long[] shape) {
    return shape.length == 4 ? new long[] {shape[2], shape[3], shape[1], shape[0]} : shape;
  }

  /** {@link #toHwio(FloatTensor, boolean)} keeping the input channels' order. */
  public static FloatTensor toHwio(FloatTensor t) {
    return toHwio(t, false);
  }

  /**
   * {@code t} in TensorFlow's layout, its input channels reversed when {@code reverseInputs}
   * (Caffe's first convolution reads BGR where ours reads RGB); a tensor not of rank 4 is returned
   * as it is.
   */
  public static FloatTensor toHwio(FloatTensor t, boolean reverseInputs) {
    long[] s = t.shape();
    if (s.length != 4) {
      return t;
    }
    int o = (int) s[0];
    int in = (int) s[1];
    int kh = (int) s[2];
    int kw = (int) s[3];
    float[] src = t.data();
    float[] dst = new float[src.length];
    for (int a = 0; a < o; a++) {
      for (int b = 0; b < in; b++) {
        int c = reverseInputs ? in - 1 - b : b;
        for (int y = 0; y < kh; y++) {
          for (int x = 0; x < kw; x++) {
            dst[((y * kw + x) * in + c) * o + a] = src[((a * in + b) * kh + y) * kw + x];
          }
        }
      }
    }
    return new FloatTensor(hwioShape(s), dst);
  }
}
