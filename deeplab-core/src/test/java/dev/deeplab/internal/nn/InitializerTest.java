package dev.deeplab.internal.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Initialisers reach the standard deviations the official code gets. Pins the TF Java 1.1.0 trap
 * that its {@code He}/{@code VarianceScaling} use fan_in = kh·kw·cin·cin for conv kernels (std
 * 0.0074 instead of 0.0589 for [3,3,64,128]): ours computes fan_in = kh·kw·cin.
 */
class InitializerTest {

  private static double std(Initializer init, long... shape) {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> v = init.create(tf, Shape.of(shape), new long[] {1, 2});
      try (Result r = s.runner().fetch(v).run()) {
        TFloat32 t = (TFloat32) r.get(0);
        float[] a = new float[(int) t.shape().size()];
        t.copyTo(DataBuffers.of(a, false, false));
        double mean = 0;
        for (float x : a) {
          mean += x;
        }
        mean /= a.length;
        double var = 0;
        for (float x : a) {
          var += (x - mean) * (x - mean);
        }
        return Math.sqrt(var / a.length);
      }
    }
  }

  @Test
  void varianceScalingUsesTheConvFanIn() {
    // slim: truncated normal with stddev sqrt(1.3 * 2 / fan_in); truncation at 2 sigma leaves
    // 0.8796 of it. fan_in = 3*3*64 = 576.
    double expected = Math.sqrt(1.3 * 2 / 576) * 0.8796;
    assertEquals(expected, std(Initializer.varianceScaling(), 3, 3, 64, 128), expected * 0.03);
  }

  @Test
  void truncatedNormalKeepsItsStddev() {
    assertEquals(0.09 * 0.8796, std(Initializer.truncatedNormal(0.09), 3, 3, 32, 64), 0.0015);
  }

  @Test
  void xavierUniformHasTheGlorotLimit() {
    // U(-l, l) has std l / sqrt(3); l = sqrt(6 / (fan_in + fan_out)) = sqrt(6 / (256 + 48)).
    double expected = Math.sqrt(6.0 / (256 + 48)) / Math.sqrt(3);
    assertEquals(expected, std(Initializer.xavierUniform(), 1, 1, 256, 48), expected * 0.03);
  }

  @Test
  void trainingRefusesDilatedConvOps() {
    // TF 2.18's gradients of Conv2D/DepthwiseConv2dNative with dilations are wrong.
    assertThrows(IllegalArgumentException.class,
        () -> new NetState(true, true, AtrousMode.NATIVE_DILATION, 0));
  }
}
