package dev.deeplab.internal.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The atrous conv's forward values against a direct loop over the definition of a dilated SAME
 * convolution: {@code y[i,j] = Σ x[i + (a-1)·r, j + (b-1)·r] · w[a,b]}, zero outside the image.
 * Sizes cover maps that are and are not multiples of the rate, and rates at or above the map size
 * (only the centre tap sees the image).
 */
class AtrousConvTest {

  @ParameterizedTest(name = "{0}x{1}, rate {2}, depthwise {3}")
  @CsvSource({
      "9, 9, 2, true", "9, 8, 3, true", "12, 12, 6, true", "7, 11, 6, true", "5, 5, 7, true",
      "33, 33, 18, true", "9, 9, 2, false", "10, 7, 3, false", "4, 6, 5, false"})
  void matchesTheDefinitionOfADilatedSameConv(int h, int w, int rate, boolean depthwise) {
    int c = 3;
    int out = depthwise ? c : 2;
    Random rnd = new Random(h * 131 + w * 17 + rate);
    float[] x = random(rnd, h * w * c);
    float[] k = random(rnd, 9 * c * (depthwise ? 1 : out));
    float[] expected = direct(x, h, w, c, k, rate, depthwise, out);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      NetState state = NetState.inference();
      Operand<TFloat32> in = tf.constant(Shape.of(1, h, w, c), DataBuffers.of(x, true, false));
      Conv conv = depthwise ? Conv.depthwise(3) : Conv.conv(out, 3);
      Operand<TFloat32> y = conv.rate(rate).apply(NetScope.root(tf, state), "conv", in);
      try (Session s = new Session(g)) {
        String name = depthwise ? "conv/depthwise_weights" : "conv/weights";
        long[] shape = depthwise ? new long[] {3, 3, c, 1} : new long[] {3, 3, c, out};
        s.runner().addTarget(tf.assign(state.variables().get(name).variable(),
            tf.constant(Shape.of(shape), DataBuffers.of(k, true, false)))).run();
        try (Result r = s.runner().fetch(y).run()) {
          TFloat32 t = (TFloat32) r.get(0);
          assertEquals(Shape.of(1, h, w, out), t.shape());
          float[] actual = new float[expected.length];
          t.copyTo(DataBuffers.of(actual, false, false));
          for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5, "element " + i);
          }
        }
      }
    }
  }

  @Test
  void evenKernelsAreRefused() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> in = tf.zeros(tf.constant(new long[] {1, 8, 8, 2}), TFloat32.class);
      assertThrows(IllegalArgumentException.class, () ->
          Conv.conv(2, 2).rate(2).apply(NetScope.root(tf, NetState.inference()), "conv", in));
    }
  }

  private static float[] random(Random rnd, int n) {
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) rnd.nextGaussian();
    }
    return a;
  }

  /** NHWC input, HWIO (dense) or HWC1 (depthwise) 3×3 kernel, dilated SAME, double sums. */
  private static float[] direct(float[] x, int h, int w, int c, float[] k, int rate,
      boolean depthwise, int out) {
    float[] y = new float[h * w * out];
    for (int i = 0; i < h; i++) {
      for (int j = 0; j < w; j++) {
        for (int o = 0; o < out; o++) {
          double sum = 0;
          for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++) {
              int yi = i + (a - 1) * rate;
              int xj = j + (b - 1) * rate;
              if (yi < 0 || yi >= h || xj < 0 || xj >= w) {
                continue;
              }
              if (depthwise) {
                sum += x[(yi * w + xj) * c + o] * k[(a * 3 + b) * c + o];
              } else {
                for (int ci = 0; ci < c; ci++) {
                  sum += x[(yi * w + xj) * c + ci] * k[((a * 3 + b) * c + ci) * out + o];
                }
              }
            }
          }
          y[(i * w + j) * out + o] = (float) sum;
        }
      }
    }
    return y;
  }
}
