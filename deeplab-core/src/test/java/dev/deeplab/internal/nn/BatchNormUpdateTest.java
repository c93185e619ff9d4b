package dev.deeplab.internal.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The training-mode batch-norm update against hand-computed values: {@code moving -= (1 - decay)
 * * (moving - batch)}, with the Bessel-corrected batch variance as TF's fused kernel hands it to
 * slim, for the decays the official code gives each network part.
 */
class BatchNormUpdateTest {

  /** Moving mean and variance after one update from 0 and 1 with a batch of four values. */
  private static float[] afterOneStep(BatchNormSpec spec, float[] x) {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = GraphOps.create(g);
      NetState state = new NetState(false, true, AtrousMode.SPACE_TO_BATCH, 0);
      NetScope layer = NetScope.root(tf, state).child("layer");
      spec.apply(layer, tf.constant(Shape.of(1, 2, 2, 1), DataBuffers.of(x, true, false)));
      s.initialize();
      Ops run = tf.withControlDependencies(state.updateOps());
      s.runner().addTarget(run.noOp()).run().close();
      try (Result r = s.runner().fetch("layer/BatchNorm/moving_mean")
          .fetch("layer/BatchNorm/moving_variance").run()) {
        return new float[] {((TFloat32) r.get(0)).getFloat(), ((TFloat32) r.get(1)).getFloat()};
      }
    }
  }

  @Test
  void movingAveragesFollowEachNetworksDecay() {
    float[] x = {1, 2, 3, 6}; // mean 3, sum of squares 14, unbiased variance 14/3
    double mean = 3;
    double variance = 14.0 / 3;
    for (float decay : new float[] {0.997f, 0.9997f, 0.95f}) {
      float[] r = afterOneStep(new BatchNormSpec(decay, 1e-3f), x);
      double rate = 1 - (double) decay;
      assertArrayEquals(new float[] {(float) (rate * mean), (float) (1 - rate * (1 - variance))},
          r, 2e-6f, "decay " + decay);
    }
  }
}
