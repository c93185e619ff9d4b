package dev.deeplab.internal.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deeplab.internal.weights.FloatTensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.types.TFloat32;

/**
 * The 1×1 convs that oneDNN 3.7 crashes on (ResNet's block3/block4 channel pairs) are built as a
 * MatMul: the values of TF's Conv2D + FusedBatchNorm (+ Relu), in inference (batch norm folded)
 * and with training-mode batch norm, same variables, the static shape kept (also with unknown
 * spatial dims).
 */
class PointwiseConvTest {

  @ParameterizedTest(name = "{0}->{1}, relu {2}, static size {3}, train BN {4}, frozen {5}")
  @CsvSource({"256, 1024, false, true, false, false", "1024, 512, true, true, false, false",
      "512, 2048, false, false, false, false", "512, 1024, true, true, true, false",
      "512, 256, true, true, false, false", "512, 256, false, true, true, false",
      "256, 1024, true, false, false, true", "512, 256, true, true, false, true"})
  void matchesConv2dWithBatchNorm(int in, int out, boolean relu, boolean staticSize,
      boolean trainBatchNorm, boolean frozen) {
    int n = 2;
    int h = 3;
    int w = 5;
    Random rnd = new Random(in * 31L + out);
    float[] x = random(rnd, n * h * w * in, 1f);
    float[] k = random(rnd, in * out, 0.05f);
    float[] gamma = random(rnd, out, 1f);
    float[] beta = random(rnd, out, 1f);
    float[] mean = random(rnd, out, 1f);
    float[] var = random(rnd, out, 1f);
    for (int i = 0; i < out; i++) {
      var[i] = 0.5f + Math.abs(var[i]);
    }
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      // frozen: the weights built in as constants, batch norm folded into them (NetState.folded)
      NetState state = frozen ? NetState.folded(AtrousMode.SPACE_TO_BATCH, Map.of(
              "conv/weights", new FloatTensor(new long[] {1, 1, in, out}, k),
              "conv/BatchNorm/gamma", new FloatTensor(new long[] {out}, gamma),
              "conv/BatchNorm/beta", new FloatTensor(new long[] {out}, beta),
              "conv/BatchNorm/moving_mean", new FloatTensor(new long[] {out}, mean),
              "conv/BatchNorm/moving_variance", new FloatTensor(new long[] {out}, var)))
          : new NetState(trainBatchNorm, trainBatchNorm, AtrousMode.SPACE_TO_BATCH, 0);
      Operand<TFloat32> input = tf.withName("x").placeholder(TFloat32.class, Placeholder.shape(
          staticSize ? Shape.of(-1, h, w, in) : Shape.of(-1, -1, -1, in)));
      BatchNormSpec bn = new BatchNormSpec(0.997f, 1e-5f);
      Conv conv = Conv.conv(out, 1).batchNorm(bn)
          .activation(relu ? Activation.RELU : Activation.NONE);
      Operand<TFloat32> y = conv.apply(NetScope.root(tf, state), "conv", input);
      assertArrayEquals(staticSize ? new long[] {-1, h, w, out} : new long[] {-1, -1, -1, out},
          y.shape().asArray());
      boolean pair = List.of("256,1024", "512,1024", "512,2048", "1024,512", "1024,2048")
          .contains(in + "," + out);
      assertEquals(pair ? 0 : 1, count(g, "Conv2D"));
      assertEquals(pair ? 1 : 0, count(g, "MatMul"));
      assertEquals(!frozen && (trainBatchNorm || !pair) ? 1 : 0, count(g, "FusedBatchNormV3"));

      Operand<TFloat32> filter = constant(tf, Shape.of(1, 1, in, out), k);
      Operand<TFloat32> empty = tf.constant(new float[0]);
      Operand<TFloat32> expectedOp = tf.nn.fusedBatchNorm(
          tf.nn.conv2d(input, filter, List.of(1L, 1L, 1L, 1L), "SAME"),
          constant(tf, Shape.of(out), gamma), constant(tf, Shape.of(out), beta),
          trainBatchNorm ? empty : constant(tf, Shape.of(out), mean),
          trainBatchNorm ? empty : constant(tf, Shape.of(out), var),
          FusedBatchNorm.isTraining(trainBatchNorm), FusedBatchNorm.epsilon(1e-5f)).y();
      if (relu) {
        expectedOp = tf.nn.relu(expectedOp);
      }
      try (Session s = new Session(g)) {
        if (!frozen) { // frozen: the variables are left uninitialised, so reading one would fail
          s.runner()
              .addTarget(tf.assign(state.variables().get("conv/weights").variable(), filter))
              .addTarget(assign(tf, state, "conv/BatchNorm/gamma", gamma))
              .addTarget(assign(tf, state, "conv/BatchNorm/beta", beta))
              .addTarget(assign(tf, state, "conv/BatchNorm/moving_mean", mean))
              .addTarget(assign(tf, state, "conv/BatchNorm/moving_variance", var))
              .run();
        }
        try (TFloat32 xt = TFloat32.tensorOf(Shape.of(n, h, w, in), DataBuffers.of(x, true, false));
            Result r = s.runner().feed(input, xt).fetch(y).fetch(expectedOp).run()) {
          TFloat32 actual = (TFloat32) r.get(0);
          assertArrayEquals(new long[] {n, h, w, out}, actual.shape().asArray());
          // Folding rounds differently: within float rounding of values of order 1.
          assertArrayEquals(values((TFloat32) r.get(1)), values(actual), 2e-5f);
        }
      }
    }
  }

  @Test
  void withBiasMatchesConv2dAndBiasAdd() {
    int in = 256;
    int out = 1024;
    Random rnd = new Random(3);
    float[] x = random(rnd, 2 * 4 * 4 * in, 1f);
    float[] k = random(rnd, in * out, 0.05f);
    float[] b = random(rnd, out, 1f);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      NetState state = NetState.inference();
      Operand<TFloat32> input = constant(tf, Shape.of(2, 4, 4, in), x);
      Operand<TFloat32> y = Conv.conv(out, 1).withBias().activation(Activation.RELU)
          .apply(NetScope.root(tf, state), "conv", input);
      assertEquals(1, count(g, "MatMul"));
      Operand<TFloat32> filter = constant(tf, Shape.of(1, 1, in, out), k);
      Operand<TFloat32> expected = tf.nn.relu(tf.nn.biasAdd(
          tf.nn.conv2d(input, filter, List.of(1L, 1L, 1L, 1L), "SAME"),
          constant(tf, Shape.of(out), b)));
      try (Session s = new Session(g)) {
        s.runner()
            .addTarget(tf.assign(state.variables().get("conv/weights").variable(), filter))
            .addTarget(assign(tf, state, "conv/biases", b))
            .run();
        try (Result r = s.runner().fetch(y).fetch(expected).run()) {
          assertArrayEquals(values((TFloat32) r.get(1)), values((TFloat32) r.get(0)), 1e-5f);
        }
      }
    }
  }

  private static Operand<?> assign(Ops tf, NetState state, String name, float[] v) {
    return tf.assign(state.variables().get(name).variable(), constant(tf, Shape.of(v.length), v));
  }

  private static Operand<TFloat32> constant(Ops tf, Shape shape, float[] v) {
    return tf.constant(shape, DataBuffers.of(v, true, false));
  }

  private static int count(Graph g, String type) {
    int c = 0;
    for (var it = g.operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      if (op.type().equals(type)) {
        c++;
      }
    }
    return c;
  }

  private static float[] values(TFloat32 t) {
    float[] v = new float[(int) t.shape().size()];
    t.copyTo(DataBuffers.of(v, false, false));
    return v;
  }

  private static float[] random(Random rnd, int n, float scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) rnd.nextGaussian() * scale;
    }
    return v;
  }
}
