package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.train.Devices;
import dev.deeplab.internal.train.InputPipeline;
import dev.deeplab.internal.train.TrainingGraph;
import dev.deeplab.internal.weights.FloatTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Data parallelism: two replicas on two virtual CPU devices, each with half of the batch, make
 * the same update as one replica with the whole batch (batch norm in inference mode and no
 * dropout, so that per-replica statistics and masks cannot differ).
 */
class MultiDeviceTest {

  @Test
  void twoDevicesUpdateLikeOne() throws Exception {
    TrainConfig one = TrainConfig.builder(TinyModels.mobilenet(65)).steps(10).batchSize(4)
        .baseLearningRate(0.05).fineTuneBatchNorm(false).dropout(false).seed(7).build();
    TrainConfig two = one.toBuilder().devices(Devices.parse("cpu:0,cpu:1")).build();
    assertEquals(2, two.replicas());
    assertEquals(2, two.replicaBatchSize());

    List<Batch> batches = new ArrayList<>();
    try (InputPipeline input = new InputPipeline(new VocDataset(VocMini.root(), "train"), one,
        false, 1, 1)) {
      for (int s = 0; s < 3; s++) {
        batches.add(input.batch(s));
      }
    }
    float[] lossOne = new float[batches.size()];
    float[] lossTwo = new float[batches.size()];
    Map<String, FloatTensor> w1;
    Map<String, FloatTensor> w2;
    try (TrainingGraph g = TrainingGraph.build(one)) {
      for (int i = 0; i < batches.size(); i++) {
        lossOne[i] = g.step(batches.get(i)).loss();
      }
      w1 = g.modelWeights();
    }
    try (TrainingGraph g = TrainingGraph.build(two)) {
      assertEquals("/device:CPU:1",
          g.graph().operationOrThrow(replicaOp(g, "replica_1/")).device());
      for (int i = 0; i < batches.size(); i++) {
        lossTwo[i] = g.step(batches.get(i)).loss();
      }
      w2 = g.modelWeights();
    }
    double diff = TinyModels.maxDifference(w1, w2);
    System.out.printf("multi-device: losses 1 device %s, 2 devices %s; max |weight diff| after "
        + "%d steps %.3g%n", java.util.Arrays.toString(lossOne), java.util.Arrays.toString(lossTwo),
        batches.size(), diff);
    for (int i = 0; i < lossOne.length; i++) {
      assertEquals(lossOne[i], lossTwo[i], 1e-5 * Math.max(1, lossOne[i]), "loss of step " + i);
    }
    assertTrue(diff < 1e-5 * Math.max(1, TinyModels.maxAbs(w1)), "weights differ by " + diff);
  }

  /** Some op of a replica (a conv of its network). */
  private static String replicaOp(TrainingGraph g, String prefix) {
    for (var it = g.graph().operations(); it.hasNext(); ) {
      var op = it.next();
      if (op.name().startsWith(prefix) && op.type().equals("Conv2D")) {
        return op.name();
      }
    }
    throw new AssertionError("no conv under " + prefix);
  }
}
