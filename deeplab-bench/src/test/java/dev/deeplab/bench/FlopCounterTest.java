package dev.deeplab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.model.ModelConfig;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

class FlopCounterTest {

  /** conv 3×3 3→4 on 8×8 (SAME), depthwise 3×3 stride 2 on 4 channels, a [2,5]×[5,7] product. */
  private static Graph tinyGraph(long batch) {
    Graph g = new Graph();
    Ops tf = Ops.create(g);
    Operand<TFloat32> x = tf.placeholder(TFloat32.class,
        Placeholder.shape(Shape.of(batch, 8, 8, 3)));
    Operand<TFloat32> y = tf.nn.conv2d(x, tf.zeros(tf.constant(new long[] {3, 3, 3, 4}),
        TFloat32.class), List.of(1L, 1L, 1L, 1L), "SAME");
    tf.nn.depthwiseConv2dNative(y, tf.zeros(tf.constant(new long[] {3, 3, 4, 1}),
        TFloat32.class), List.of(1L, 2L, 2L, 1L), "SAME");
    tf.linalg.matMul(tf.zeros(tf.constant(new long[] {2, 5}), TFloat32.class),
        tf.zeros(tf.constant(new long[] {5, 7}), TFloat32.class));
    return g;
  }

  @Test
  void countsHandComputedMadds() {
    try (Graph g = tinyGraph(1)) {
      FlopCount c = FlopCounter.count(g, 1);
      assertEquals(8 * 8 * 4 * 3 * 3 * 3, c.convMadds());       // 6912
      assertEquals(4 * 4 * 4 * 3 * 3, c.depthwiseMadds());      // 576
      assertEquals(2 * 7 * 5, c.matmulMadds());                 // 70
      assertEquals(1, c.convOps());
      assertEquals(1, c.depthwiseOps());
      assertEquals(2.0 * (6912 + 576 + 70) / 1e9, c.gflop(), 1e-15);
    }
  }

  @Test
  void unknownBatchCountsAsGiven() {
    try (Graph g = tinyGraph(-1)) {
      FlopCount c = FlopCounter.count(g, 3);
      assertEquals(3 * 6912, c.convMadds());
      assertEquals(3 * 576, c.depthwiseMadds());
      assertEquals(70, c.matmulMadds());
    }
  }

  private static void assertWithin(double expected, double actual, double fraction) {
    assertTrue(Math.abs(actual - expected) <= fraction * expected,
        "expected " + expected + " within " + fraction * 100 + "%, got " + actual);
  }

  @Test
  void mobilenetV2MatchesModelZoo() {
    // model_zoo.md: mobilenetv2_coco_voc_trainaug, OS16, 513x513: 2.75B MAdds.
    assertWithin(2.75, FlopCounter.forConfig(ModelConfig.preset("mobilenetv2_coco_voc")).gmadds(),
        0.01);
  }

  @Test
  void xception65MatchesPaper() {
    // DeepLabv3+ paper Table 5 / model_zoo.md: X-65 DLv3+ OS16 (SC, decoder) 54.17B; OS8 177.10B.
    ModelConfig x65 = ModelConfig.preset("xception65_coco_voc");
    assertWithin(54.17, FlopCounter.forConfig(x65).gmadds(), 0.01);
    ModelConfig os8 = x65.withOutputStride(8).withAtrousRates(ModelConfig.officialRates(8));
    assertWithin(177.10, FlopCounter.forConfig(os8).gmadds(), 0.01);
  }

  @Test
  void oneByOneConvBuiltAsAProductCountsAsTheConv() {
    // ResNet's 256->1024 1x1 conv is a MatMul on [N*H*W, 256] (Conv, for oneDNN 3.7); with an
    // unknown batch its rows come from the [N, H, W, C] tensor reshaped into it.
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(
          Shape.of(-1, 5, 7, 256)));
      Conv.conv(1024, 1).withBias().apply(NetScope.root(tf, NetState.inference()), "c", x);
      FlopCount c = FlopCounter.count(g, 2);
      assertEquals(2L * 5 * 7 * 256 * 1024, c.matmulMadds());
      assertEquals(0, c.convOps(), "built as a product");
    }
  }
}
