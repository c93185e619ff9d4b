package dev.deeplab.internal.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deeplab.train.LossConfig;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TUint8;

/**
 * The training loss against values worked out by hand from the official definition ({@code
 * train_utils.add_softmax_cross_entropy_loss_for_each_scale}).
 */
class LossTest {

  /** Sum and normaliser of the loss of {@code logits [1,h,w,c]} against {@code labels [1,h,w]}. */
  private static float[] loss(float[] logits, int h, int w, int c, byte[] labels,
      LossConfig config, long step) {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Loss.Parts p = Loss.build(tf,
          tf.constant(Shape.of(1, h, w, c), DataBuffers.of(logits, true, false)),
          tf.constant(TUint8.class, Shape.of(1, h, w), DataBuffers.of(labels, true, false)),
          config, tf.constant(step), dev.deeplab.model.ModelVariant.MOBILENET_V2);
      try (Result r = s.runner().fetch(p.sum()).fetch(p.normalizer()).run()) {
        return new float[] {((TFloat32) r.get(0)).getFloat(), ((TFloat32) r.get(1)).getFloat()};
      }
    }
  }

  @Test
  void uniformLogitsCostLnCPerPixelAndIgnoredPixelsLeaveTheNormaliser() {
    int c = 21;
    byte[] labels = {0, 5, (byte) 255, 20, (byte) 255, 7};
    float[] r = loss(new float[6 * c], 2, 3, c, labels, LossConfig.defaults(), 0);
    assertEquals(4, r[1], 0, "4 labelled pixels");
    assertEquals(4 * Math.log(21), r[0], 1e-5);
    assertEquals(Math.log(21), r[0] / r[1], 1e-6);
  }

  @Test
  void anIgnoreLabelInsideTheClassesCountsNowhere() {
    // ADE20K: class 0 is "unlabelled" and ignored
    byte[] labels = {0, 1, 2, 0};
    float[] r = loss(new float[4 * 3], 2, 2, 3, labels, LossConfig.defaults().withIgnoreLabel(0),
        0);
    assertEquals(2, r[1], 0);
    assertEquals(2 * Math.log(3), r[0], 1e-6);
  }

  @Test
  void classWeightsScaleEachPixelButNotTheNormaliser() {
    byte[] labels = {0, 1, 1, (byte) 255};
    LossConfig weighted = LossConfig.defaults().withClassWeights(List.of(0.5, 2.0, 1.0));
    float[] r = loss(new float[4 * 3], 2, 2, 3, labels, weighted, 0);
    assertEquals(3, r[1], 0, "the official normaliser counts non-ignored pixels");
    assertEquals((0.5 + 2 + 2) * Math.log(3), r[0], 1e-5);
  }

  /** Two classes, label 1 everywhere, logits (a_i, 0): pixel loss ln(1 + e^a_i). */
  private static float[] twoClassLoss(float[] a, LossConfig config, long step) {
    float[] logits = new float[a.length * 2];
    byte[] labels = new byte[a.length];
    for (int i = 0; i < a.length; i++) {
      logits[2 * i] = a[i];
      labels[i] = 1;
    }
    return loss(logits, 1, a.length, 2, labels, config, step);
  }

  @Test
  void hardPixelMiningKeepsTheTopKPercentAndCountsThem() {
    float[] a = {-3, 2, 0, 4, -1, 1, 3, -2};
    // top 25% of 8 pixels = 2: a = 4 and 3
    float[] r = twoClassLoss(a, LossConfig.defaults().withHardPixelMining(0.25, 0), 0);
    assertEquals(2, r[1], 0);
    assertEquals(Math.log1p(Math.exp(4)) + Math.log1p(Math.exp(3)), r[0], 1e-5);
  }

  @Test
  void theMiningFractionRampsLinearlyFromAllPixels() {
    float[] a = {-3, 2, 0, 4, -1, 1, 3, -2};
    LossConfig ramp = LossConfig.defaults().withHardPixelMining(0.25, 10);
    // step 0: ratio 0, all 8 pixels
    float[] r0 = twoClassLoss(a, ramp, 0);
    assertEquals(8, r0[1], 0);
    // step 6: fraction 0.6 * 0.25 + 0.4 = 0.55, k = int(0.55 * 8) = 4: a = 4, 3, 2, 1
    float[] r6 = twoClassLoss(a, ramp, 6);
    assertEquals(4, r6[1], 0);
    double expected = 0;
    for (int v : new int[] {4, 3, 2, 1}) {
      expected += Math.log1p(Math.exp(v));
    }
    assertEquals(expected, r6[0], 1e-5);
    // beyond the ramp: 25%
    assertEquals(2, twoClassLoss(a, ramp, 50)[1], 0);
  }
}
