package dev.deeplab.internal.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deeplab.train.LossConfig;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TUint8;

/** ADE20K's ignore label 0 lies inside [0, C): its pixels carry no loss and no weight. */
class IgnoreInsideClassesTest {
  @Test
  void unlabelledPixelsHaveNoLoss() {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      // two pixels, 3 classes: the first labelled 0 (ignored), the second labelled 2 with
      // logits (0, 0, ln 3), softmax (1/5, 1/5, 3/5): loss -ln(3/5)
      float[][][][] logits = {{{{5f, 0f, 0f}, {0f, 0f, (float) Math.log(3)}}}};
      Loss.Parts parts = Loss.build(tf, tf.constant(logits),
          tf.dtypes.cast(tf.constant(new int[][][] {{{0, 2}}}), TUint8.class),
          LossConfig.defaults().withIgnoreLabel(0), null,
          dev.deeplab.model.ModelVariant.MOBILENET_V2);
      try (Result r = s.runner().fetch(parts.sum()).fetch(parts.normalizer()).run()) {
        assertEquals(-Math.log(3.0 / 5), ((TFloat32) r.get(0)).getFloat(), 1e-6);
        assertEquals(1f, ((TFloat32) r.get(1)).getFloat(), 0f);
      }
    }
  }
}
