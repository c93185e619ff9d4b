package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.cli.TrainCommand;
import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.train.CheckpointManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Failures stop cleanly: a diverging loss keeps the last good checkpoint; a bad directory fails early. */
class DivergenceTest {
  @TempDir Path tmp;

  @Test
  void explodingLossStopsAndKeepsLastGoodCheckpoint() throws Exception {
    diverge(1e4, "above the limit");
  }

  @Test
  void nanLossStopsAndKeepsLastGoodCheckpoint() throws Exception {
    diverge(Double.MAX_VALUE, "is NaN");
  }

  private void diverge(double maxLoss, String expected) throws Exception {
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(65)).steps(30).batchSize(2)
        .baseLearningRate(1e5).seed(1).build();
    Path dir = tmp.resolve("run" + maxLoss);
    Trainer.Options options = Trainer.Options.defaults(dir).withCheckpointEvery(1)
        .withMaxLoss(maxLoss);
    TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
        () -> new Trainer(config, options).train(new VocDataset(VocMini.root(), "train"), null, null));
    System.out.println("divergence: " + e.getMessage());
    assertFalse(e.getMessage().contains("\n"), "one line");
    assertTrue(e.getMessage().contains(expected) || (expected.contains("NaN")
        && e.getMessage().contains("infinite")), e.getMessage());
    assertTrue(e.step() > 1, "the first steps were fine");
    CheckpointManager checkpoints = new CheckpointManager(dir, 5);
    assertEquals(e.step() - 1, checkpoints.latestStep().orElseThrow(), "no checkpoint after the bad step");
    assertEquals(checkpoints.latest(), e.lastCheckpoint());
    // the last good checkpoint is complete, readable and finite
    String prefix = e.lastCheckpoint().orElseThrow().toString();
    var weights = Checkpoints.readFloats(prefix, java.util.List.of("logits/semantic/weights"));
    for (float v : weights.get("logits/semantic/weights").data()) {
      assertTrue(Float.isFinite(v));
    }
    assertTrue(Files.readString(dir.resolve("checkpoint")).contains("model.ckpt-" + (e.step() - 1)));
  }

  @Test
  void unwritableCheckpointDirectoryFailsBeforeTraining() throws Exception {
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(65)).steps(3).batchSize(2).build();
    long t0 = System.nanoTime();
    IOException e = assertThrows(IOException.class,
        () -> new Trainer(config, Trainer.Options.defaults(file.resolve("ckpt")))
            .train(new VocDataset(VocMini.root(), "train"), null, null));
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.println("unwritable: " + e.getMessage() + " (after " + seconds + " s)");
    assertTrue(e.getMessage().contains("not writable"));
    assertFalse(e.getMessage().contains("\n"));
    assertTrue(seconds < 5, "failed before building the graph");
  }

  @Test
  void commandLineReportsUnwritableDirectoryAsOneLine() throws Exception {
    Path file = Files.writeString(tmp.resolve("b-file"), "x");
    CommandLine cli = new CommandLine(new TrainCommand());
    cli.parseArgs("--variant", "mobilenet_v2", "--depth-multiplier", "0.25", "--data",
        VocMini.root().toString(), "--steps", "2", "--batch-size", "2", "--crop-size", "65",
        "--checkpoint-dir", file.resolve("x").toString());
    IOException e = assertThrows(IOException.class, () -> ((TrainCommand) cli.getCommand()).call());
    assertTrue(e.getMessage().startsWith("checkpoint directory"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  void commandLineRejectsBadDevicesAndUnevenBatches() {
    for (String[] args : new String[][] {
        {"--devices", "tpu:0", "--batch-size", "2"},
        {"--devices", "cpu:0,cpu:1", "--batch-size", "3"}}) {
      CommandLine cli = new CommandLine(new TrainCommand());
      String[] base = {"--variant", "mobilenet_v2", "--data", VocMini.root().toString(), "--steps",
          "2", "--crop-size", "65", "--checkpoint-dir", tmp.toString()};
      String[] all = java.util.stream.Stream.concat(java.util.Arrays.stream(base),
          java.util.Arrays.stream(args)).toArray(String[]::new);
      cli.parseArgs(all);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ((TrainCommand) cli.getCommand()).call());
      System.out.println("bad options: " + e.getMessage());
      assertFalse(e.getMessage().contains("\n"));
    }
  }
}
