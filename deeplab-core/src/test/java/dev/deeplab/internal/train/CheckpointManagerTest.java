package dev.deeplab.internal.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.train.TinyModels;
import dev.deeplab.train.TrainConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoint files: completeness, the state file, retention, interrupted writes. */
class CheckpointManagerTest {
  @TempDir Path tmp;

  private void fake(Path dir, long step) throws Exception {
    Checkpoints.writeFloats(dir.resolve("model.ckpt-" + step),
        Map.of("w", new FloatTensor(new long[] {1}, new float[] {step})));
  }

  @Test
  void onlyCompleteCheckpointsCount() throws Exception {
    CheckpointManager m = new CheckpointManager(tmp, 3);
    m.prepare();
    fake(tmp, 10);
    fake(tmp, 20);
    // a write killed after moving its data file, before the index: not a checkpoint
    Files.writeString(tmp.resolve("model.ckpt-30.data-00000-of-00001"), "partial");
    // an index without its data: not a checkpoint either
    fake(tmp, 40);
    Files.delete(tmp.resolve("model.ckpt-40.data-00000-of-00001"));
    // leftovers of an interrupted save are removed by prepare()
    Files.writeString(tmp.resolve(".tmp-model.ckpt-50.index"), "x");
    m.prepare();
    assertFalse(Files.exists(tmp.resolve(".tmp-model.ckpt-50.index")));
    assertEquals(List.of(10L, 20L), m.steps());
    assertEquals(tmp.resolve("model.ckpt-20"), m.latest().orElseThrow());
  }

  @Test
  void savesAtomicallyKeepsTheNewestAndWritesTheStateFile() throws Exception {
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(33)).steps(10).batchSize(1)
        .build();
    CheckpointManager m = new CheckpointManager(tmp, 2);
    m.prepare();
    try (TrainingGraph g = TrainingGraph.build(config)) {
      Batch b = new Batch(0, 1, 33, 33, new float[33 * 33 * 3], new byte[33 * 33], List.of("z"));
      for (int i = 0; i < 3; i++) {
        g.step(b);
        m.save(g);
      }
      assertEquals(List.of(2L, 3L), m.steps());
      String state = Files.readString(tmp.resolve("checkpoint"));
      assertTrue(state.startsWith("model_checkpoint_path: \"model.ckpt-3\""), state);
      assertTrue(state.contains("all_model_checkpoint_paths: \"model.ckpt-2\""), state);
      try (var files = Files.list(tmp)) {
        assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".tmp")));
      }
      // every variable is in the checkpoint under its official name, slots and step included
      var names = Checkpoints.list(tmp.resolve("model.ckpt-3").toString()).keySet();
      assertTrue(names.contains("global_step"));
      assertTrue(names.contains("logits/semantic/weights"));
      assertTrue(names.contains("logits/semantic/weights/Momentum"));
      assertTrue(names.contains("MobilenetV2/Conv/BatchNorm/moving_mean"));
      // restoring puts the step back
      g.restore(tmp.resolve("model.ckpt-2").toString());
      assertEquals(2, g.globalStep());
    }
  }
}
