package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.train.CheckpointManager;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loop never grows the graph: the operation count after step 1 equals the count after step 10,
 * with a checkpoint, an evaluation, a batch-norm recalibration and image summaries in between.
 */
class GraphStaticTest {
  @TempDir Path tmp;

  @Test
  void loopAddsNoOperations() throws Exception {
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(65)).steps(10).batchSize(2)
        .baseLearningRate(0.01).build();
    Map<Long, Integer> counts = new HashMap<>();
    Trainer.Options options = Trainer.Options.defaults(tmp).withCheckpointEvery(5)
        .withEvalEvery(5).withPreciseBatchNorm(1).withImageSummariesEvery(5);
    VocDataset data = new VocDataset(VocMini.root(), "train");
    TrainResult r = new Trainer(config, options)
        .onStep((g, s) -> counts.put(s.step(), g.operationCount()))
        .train(data, data, null);
    System.out.println("graph operations: step 1 " + counts.get(1L) + ", step 10 " + counts.get(10L));
    assertEquals(counts.get(1L), counts.get(10L));
    assertEquals(10, r.endStep());
    assertTrue(r.lastEvaluation().isPresent());
    assertEquals(java.util.List.of(5L, 10L), new CheckpointManager(tmp, 5).steps());
  }
}
