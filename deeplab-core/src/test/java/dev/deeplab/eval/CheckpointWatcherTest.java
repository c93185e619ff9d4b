package dev.deeplab.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.testing.EventFiles;
import dev.deeplab.train.TinyModels;
import dev.deeplab.train.TrainConfig;
import dev.deeplab.train.Trainer;
import dev.deeplab.train.TrainingRun;
import dev.deeplab.train.VocMini;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/**
 * {@code eval --watch}'s loop: checkpoints evaluated as training writes them, each once and in
 * order, their scalars read back from the event files; rotated checkpoints skipped; the limit on
 * evaluations.
 */
class CheckpointWatcherTest {
  private static final Duration POLL = Duration.ofMillis(20);

  @TempDir Path tmp;

  private static TrainConfig config() {
    return TrainConfig.builder(TinyModels.mobilenet(65)).steps(3).batchSize(2)
        .baseLearningRate(0.01).seed(7).build();
  }

  private static Trainer.Options trainOptions(Path dir) {
    return Trainer.Options.defaults(dir).withCheckpointEvery(1);
  }

  private static VocDataset train() {
    return new VocDataset(VocMini.root(), "train");
  }

  @Test
  void evaluatesEachCheckpointOnceAsTrainingWritesIt() throws Exception {
    Path dir = tmp.resolve("run");
    new Trainer(config(), trainOptions(dir).withUntilStep(1)).train(train(), null, null);
    TrainingRun run = TrainingRun.open(dir);
    List<CheckpointWatcher.Evaluation> seen = Collections.synchronizedList(new ArrayList<>());
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CheckpointWatcher watcher = new CheckpointWatcher(run, new VocDataset(VocMini.root(), "val"),
        CheckpointWatcher.Options.defaults(run).withInterval(POLL));
    Thread thread = new Thread(() -> {
      try {
        watcher.run(seen::add);
      } catch (Throwable t) {
        failure.set(t);
      }
    }, "watcher");
    thread.start();
    new Trainer(config(), trainOptions(dir)).train(train(), null, null);
    thread.join(TimeUnit.MINUTES.toMillis(2));
    assertFalse(thread.isAlive(), "the watcher did not stop after the final step");
    assertNull(failure.get());

    assertEquals(List.of(1L, 2L, 3L), seen.stream().map(CheckpointWatcher.Evaluation::step)
        .toList());
    Map<Long, Map<String, Float>> scalars = scalars(dir.resolve("eval"));
    assertEquals(List.of(1L, 2L, 3L), List.copyOf(scalars.keySet()));
    for (CheckpointWatcher.Evaluation e : seen) {
      Map<String, Float> atStep = scalars.get(e.step());
      assertEquals(1 + 21, atStep.size(), atStep.keySet().toString());
      assertEquals((float) e.matrix().meanIou(), atStep.get("eval/miou_1.0_overall"));
      ConfusionMatrix cm = e.matrix();
      for (int c = 0; c < 21; c++) {
        long tp = cm.count(c, c);
        long labelled = 0;
        long predicted = 0;
        for (int k = 0; k < 21; k++) {
          labelled += cm.count(c, k);
          predicted += cm.count(k, c);
        }
        float expected = labelled == 0 ? Float.NaN
            : (float) ((double) tp / (labelled + predicted - tp));
        assertEquals(expected, atStep.get("eval/miou_1.0_class_" + c), "class " + c);
      }
      assertEquals(run.checkpoint(e.step()), e.checkpoint());
    }
  }

  @Test
  void skipsACheckpointDeletedBeforeItIsReadAndStopsAtTheLimit() throws Exception {
    Path dir = tmp.resolve("run");
    new Trainer(config(), trainOptions(dir)).train(train(), null, null);
    TrainingRun run = TrainingRun.open(dir);
    VocDataset val = new VocDataset(VocMini.root(), "val");
    List<Long> steps = new ArrayList<>();
    // All three are listed at the first look; deleting the second after the first is evaluated
    // is a rotation between listing and reading.
    new CheckpointWatcher(run, val, CheckpointWatcher.Options.defaults(run).withInterval(POLL)
        .withSummaryDir(tmp.resolve("rotated"))).run(e -> {
          steps.add(e.step());
          if (e.step() == 1) {
            delete(dir, "model.ckpt-2.");
          }
        });
    assertEquals(List.of(1L, 3L), steps);
    assertEquals(List.of(1L, 3L), List.copyOf(scalars(tmp.resolve("rotated")).keySet()));

    steps.clear();
    int n = new CheckpointWatcher(run, val, CheckpointWatcher.Options.defaults(run)
        .withInterval(POLL).withMaxEvaluations(1).withSummaryDir(tmp.resolve("limited")))
        .run(e -> steps.add(e.step()));
    assertEquals(1, n);
    assertEquals(List.of(1L), steps);
  }

  @Test
  void tagsAreTheOfficialOnes() {
    assertEquals("miou_1.0", CheckpointWatcher.tag(List.of(1.0), false));
    assertEquals("miou_0.5_0.75_1.0_1.25_1.5_1.75_flipped",
        CheckpointWatcher.tag(List.of(0.5, 0.75, 1.0, 1.25, 1.5, 1.75), true));
  }

  private static void delete(Path dir, String prefix) {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(f -> f.getFileName().toString().startsWith(prefix)).toList()) {
        Files.delete(p);
      }
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Scalar values by step and tag, from every event file in {@code dir}. */
  private static Map<Long, Map<String, Float>> scalars(Path dir) throws Exception {
    Map<Long, Map<String, Float>> out = new TreeMap<>();
    for (Event e : EventFiles.readDirectory(dir)) {
      for (Summary.Value v : e.getSummary().getValueList()) {
        Float before = out.computeIfAbsent(e.getStep(), s -> new TreeMap<>())
            .put(v.getTag(), v.getSimpleValue());
        assertNull(before, "tag " + v.getTag() + " written twice at step " + e.getStep());
      }
    }
    return out;
  }
}
