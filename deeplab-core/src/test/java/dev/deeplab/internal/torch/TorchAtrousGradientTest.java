package dev.deeplab.internal.torch;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.nn.GraphOps;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The dilated convs of the PyTorch networks in training graphs ({@code nn.Conv2d(k, padding=d,
 * dilation=d)} and its depthwise form, built through SpaceToBatchND) at odd and even sizes: the
 * 3×3 conv's forward equals TensorFlow's native dilated conv (its inference form), and the
 * gradients of a linear loss {@code sum(y·R)} with respect to kernel and input equal central
 * finite differences, which are exact for a loss linear in each (up to float32 rounding).
 */
class TorchAtrousGradientTest {

  @ParameterizedTest
  @CsvSource({"false, 2, 9, 11", "false, 6, 13, 8", "true, 2, 10, 7", "true, 4, 9, 9"})
  void dilatedConvMatchesNativeAndFiniteDifferences(boolean depthwise, int rate, int h, int w) {
    int cin = 3;
    int cout = depthwise ? 3 : 4;
    Random r = new Random(rate * 31L + h);
    float[] x = random(r, 2 * h * w * cin);
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = GraphOps.create(g);
      NetState state = new NetState(true, true, AtrousMode.SPACE_TO_BATCH, 1);
      Placeholder<TFloat32> input = tf.placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(2, h, w, cin)));
      TorchLayers train = new TorchLayers(NetScope.root(tf, state));
      Operand<TFloat32> y = depthwise ? train.depthwise("c", input, 3, 1, rate, rate)
          : train.conv("c", input, cout, 3, 1, rate, rate, false);
      Variable<TFloat32> kernel = state.variables().get("c.weight").variable();
      // the inference form: a native dilated Conv2D (depthwise convs have no native dilated
      // CPU kernel and take SpaceToBatchND there too)
      Operand<TFloat32> yNative = depthwise ? tf.identity(y)
          : new TorchLayers(tf, (n, sh, role) -> kernel).conv("c", input, cout, 3, 1, rate, rate,
              false);
      long outSize = y.shape().size(1) * y.shape().size(2) * cout * 2;
      assertTrue(y.shape().size(1) == h && y.shape().size(2) == w, y.shape().toString());
      float[] weightsR = random(r, (int) outSize);
      Operand<TFloat32> loss = tf.reduceSum(tf.math.mul(y, tf.constant(Shape.of(2, h, w, cout),
          DataBuffers.of(weightsR, true, false))), tf.constant(new int[] {0, 1, 2, 3}));
      Output<?>[] grads = g.addGradients(loss.asOutput(),
          new Output<?>[] {kernel.asOutput(), input.asOutput()});
      Placeholder<TFloat32> value = tf.placeholder(TFloat32.class);
      org.tensorflow.op.Op set = tf.assign(kernel, value);
      s.initialize();
      float[] k0 = read(s, kernel);
      double worst = 0;
      double worstNative = 0;
      try (TFloat32 xt = tensor(x, Shape.of(2, h, w, cin));
          Result res = s.runner().feed(input, xt).fetch(grads[0]).fetch(grads[1]).fetch(y)
              .fetch(yNative).run()) {
        float[] gk = floats((TFloat32) res.get(0));
        float[] gx = floats((TFloat32) res.get(1));
        float[] a = floats((TFloat32) res.get(2));
        float[] b = floats((TFloat32) res.get(3));
        for (int i = 0; i < a.length; i++) {
          worstNative = Math.max(worstNative, Math.abs(a[i] - b[i]));
        }
        double eps = 1e-2;
        for (int i = 0; i < gk.length; i += Math.max(1, gk.length / 12)) {
          float[] plus = k0.clone();
          plus[i] += (float) eps;
          float[] minus = k0.clone();
          minus[i] -= (float) eps;
          double fd = (lossAt(s, set, value, kernel, plus, input, x, h, w, cin, loss)
              - lossAt(s, set, value, kernel, minus, input, x, h, w, cin, loss)) / (2 * eps);
          worst = Math.max(worst, Math.abs(fd - gk[i]) / Math.max(1, Math.abs(fd)));
        }
        lossAt(s, set, value, kernel, k0, input, x, h, w, cin, loss);
        for (int i = 0; i < gx.length; i += Math.max(1, gx.length / 12)) {
          float[] plus = x.clone();
          plus[i] += (float) eps;
          float[] minus = x.clone();
          minus[i] -= (float) eps;
          double fd = (lossAt(s, null, null, null, null, input, plus, h, w, cin, loss)
              - lossAt(s, null, null, null, null, input, minus, h, w, cin, loss)) / (2 * eps);
          worst = Math.max(worst, Math.abs(fd - gx[i]) / Math.max(1, Math.abs(fd)));
        }
      }
      System.out.printf("torch %s conv rate %d on %dx%d: forward vs native %.2g, gradients vs "
          + "finite differences %.2g%n", depthwise ? "depthwise" : "3x3", rate, h, w,
          worstNative, worst);
      assertTrue(worstNative < 1e-5, "forward differs from the native dilated conv: "
          + worstNative);
      assertTrue(worst < 2e-3, "gradient differs from finite differences: " + worst);
    }
  }

  private static float[] read(Session s, Variable<TFloat32> v) {
    try (Result r = s.runner().fetch(v).run()) {
      return floats((TFloat32) r.get(0));
    }
  }

  private static double lossAt(Session s, org.tensorflow.op.Op set, Placeholder<TFloat32> value,
      Variable<TFloat32> kernel, float[] k, Placeholder<TFloat32> in, float[] x, int h, int w,
      int c, Operand<TFloat32> loss) {
    if (set != null) {
      try (TFloat32 t = tensor(k, kernel.shape())) {
        s.runner().feed(value, t).addTarget(set).run().close();
      }
    }
    try (TFloat32 xt = tensor(x, Shape.of(2, h, w, c));
        Result r = s.runner().feed(in, xt).fetch(loss).run()) {
      return ((TFloat32) r.get(0)).getFloat();
    }
  }

  private static TFloat32 tensor(float[] v, Shape shape) {
    return TFloat32.tensorOf(shape, DataBuffers.of(v, true, false));
  }

  private static float[] random(Random r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (2 * r.nextDouble() - 1);
    }
    return v;
  }

  private static float[] floats(TFloat32 t) {
    float[] out = new float[(int) t.shape().size()];
    t.asRawTensor().data().asFloats().read(out);
    return out;
  }
}
