package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.weights.FloatTensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * N steps, stop, N more from the checkpoint equals 2N steps straight (same seed): weights,
 * momentum slots and global step. Exercises the whole recipe: official augmentation, dropout,
 * batch-norm training, poly learning rate.
 */
class ResumeTest {
  @TempDir Path tmp;

  @Test
  void resumedRunEqualsStraightRun() throws Exception {
    int n = 3;
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(65)).steps(2 * n).batchSize(2)
        .baseLearningRate(0.01).seed(42).build();
    VocDataset data = new VocDataset(VocMini.root(), "train");

    Trainer.Options resumed = Trainer.Options.defaults(tmp.resolve("resumed")).withCheckpointEvery(0);
    List<String> log = new java.util.ArrayList<>();
    Trainer.StepListener l = (g, r) -> log.add(r.step() + ":" + r.loss() + ":" + r.learningRate());
    TrainResult first = new Trainer(config, resumed.withUntilStep(n)).onStep(l).train(data, null, null);
    assertEquals(n, first.endStep());
    TrainResult second = new Trainer(config, resumed).onStep(l).train(data, null, null);
    System.out.println("resumed: " + log);
    log.clear();
    assertEquals(n, second.startStep());
    assertEquals(2 * n, second.endStep());

    Trainer.Options straight = Trainer.Options.defaults(tmp.resolve("straight"))
        .withCheckpointEvery(0);
    TrainResult all = new Trainer(config, straight).onStep(l).train(data, null, null);
    System.out.println("straight: " + log);
    assertEquals(0, all.startStep());

    Path a = second.lastCheckpoint().orElseThrow();
    Path b = all.lastCheckpoint().orElseThrow();
    assertEquals(a.getFileName(), b.getFileName());
    List<String> names = Checkpoints.list(a.toString()).values().stream()
        .filter(e -> e.dtype().equals("DT_FLOAT")).map(e -> e.name()).toList();
    assertTrue(names.stream().anyMatch(s -> s.endsWith("/Momentum")), "momentum slots saved");
    Map<String, FloatTensor> wa = Checkpoints.readFloats(a.toString(), names);
    Map<String, FloatTensor> wb = Checkpoints.readFloats(b.toString(), names);
    double diff = TinyModels.maxDifference(wa, wb);
    wa.forEach((k, v) -> {
      double d = TinyModels.maxDifference(Map.of(k, v), Map.of(k, wb.get(k)));
      if (d > 1e-5) {
        System.out.println("differs: " + k + " " + d);
      }
    });
    double scale = TinyModels.maxAbs(wb);
    System.out.printf("resume: %d+%d steps vs %d straight: max |diff| %.3g over %d tensors "
        + "(max |value| %.3g); loss %.6f vs %.6f%n", n, n, 2 * n, diff, names.size(), scale,
        second.lastLoss(), all.lastLoss());
    assertTrue(diff <= 1e-5 * Math.max(1, scale), "weights differ by " + diff);
    assertEquals(all.lastLoss(), second.lastLoss(), 1e-5 * Math.max(1, all.lastLoss()));
  }
}
