package dev.deeplab.eval;

import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.internal.train.TensorBoardWriter;
import dev.deeplab.train.TrainingRun;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Evaluates the checkpoints of a training run as they appear, as the official {@code eval.py}
 * does with {@code evaluate_repeatedly} ({@code eval_interval_secs}, {@code
 * max_number_of_evaluations}), while training goes on: every {@code interval} the run's directory
 * is listed and each checkpoint not seen before is evaluated once, oldest first (the official
 * loop takes only the newest at each poll; here none is skipped unless it is deleted first). The
 * serving graph is built once; each checkpoint's weights are restored into it.
 *
 * <p>Each evaluation is written to TensorBoard event files in {@code summaryDir} (by default the
 * run's {@code eval/} subdirectory) at the checkpoint's global step, under the official tags:
 * {@code eval/miou_<scales>[_flipped]_overall} (mean IoU, {@code tf.metrics.mean_iou}) and
 * {@code eval/miou_<scales>[_flipped]_class_<c>} (TP / (TP + FP + FN) of class c, NaN when the
 * class has no label pixel), e.g. {@code eval/miou_1.0_overall}.
 *
 * <p>Watching ends once the checkpoint of the run's final step has been evaluated, or after
 * {@code maxEvaluations} evaluations. A checkpoint deleted (rotated away by the trainer) between
 * listing and reading is skipped with a one-line warning.
 *
 * <p>Not thread-safe: one {@link #run} at a time.
 */
public final class CheckpointWatcher {
  private static final Logger LOG = LoggerFactory.getLogger("deeplab.eval");

  /** The official {@code eval_interval_secs}: five minutes. */
  public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(300);

  /**
   * One evaluated checkpoint.
   *
   * @param step the checkpoint's global step
   * @param checkpoint its prefix
   * @param matrix the confusion matrix over the split
   */
  public record Evaluation(long step, Path checkpoint, ConfusionMatrix matrix) {}

  /**
   * How to watch.
   *
   * @param scales inference scales, in (0, 4]
   * @param flip also average the left-right flipped predictions
   * @param interval time between listings of the directory, positive
   * @param maxEvaluations stop after this many evaluations; 0 for no limit
   * @param summaryDir where the event files go
   */
  public record Options(List<Double> scales, boolean flip, Duration interval, int maxEvaluations,
      Path summaryDir, ResizeToRange resize) {
    /** Validates the ranges. */
    public Options {
      scales = List.copyOf(scales);
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("the interval must be positive, got " + interval);
      }
      if (maxEvaluations < 0) {
        throw new IllegalArgumentException("max evaluations must be >= 0, got " + maxEvaluations);
      }
    }

    /** Single scale, no flip, {@link #DEFAULT_INTERVAL}, no limit, {@code <run>/eval}. */
    public static Options defaults(TrainingRun run) {
      return new Options(List.of(1.0), false, DEFAULT_INTERVAL, 0,
          run.directory().resolve("eval"), ResizeToRange.none());
    }

    public Options withScales(List<Double> s, boolean f) {
      return new Options(s, f, interval, maxEvaluations, summaryDir, resize);
    }

    public Options withInterval(Duration d) {
      return new Options(scales, flip, d, maxEvaluations, summaryDir, resize);
    }

    public Options withMaxEvaluations(int n) {
      return new Options(scales, flip, interval, n, summaryDir, resize);
    }

    public Options withSummaryDir(Path dir) {
      return new Options(scales, flip, interval, maxEvaluations, dir, resize);
    }

    /** The official {@code resize_to_range} applied to each image before predicting. */
    public Options withResize(ResizeToRange r) {
      return new Options(scales, flip, interval, maxEvaluations, summaryDir, r);
    }
  }

  private final TrainingRun run;
  private final SegmentationDataset dataset;
  private final Options options;

  public CheckpointWatcher(TrainingRun run, SegmentationDataset dataset, Options options) {
    this.run = run;
    this.dataset = dataset;
    this.options = options;
  }

  /**
   * The official summary tag of an evaluation setting without its {@code eval/} prefix and
   * suffix: {@code miou} then {@code _<scale>} for each scale as Python prints a float, then
   * {@code _flipped} when flipping, e.g. {@code miou_0.5_1.0_1.5_flipped}.
   */
  public static String tag(List<Double> scales, boolean flip) {
    StringBuilder sb = new StringBuilder("miou");
    for (double s : scales) {
      sb.append('_').append(s == Math.rint(s) ? (long) s + ".0" : Double.toString(s));
    }
    return flip ? sb.append("_flipped").toString() : sb.toString();
  }

  /**
   * Watches until the final step's checkpoint is evaluated or {@code maxEvaluations} is reached,
   * calling {@code listener} after each evaluation.
   *
   * @return the number of checkpoints evaluated
   * @throws IOException if a checkpoint that still exists cannot be read, the dataset fails, or
   *     the event file cannot be written
   * @throws InterruptedException if interrupted while waiting
   */
  public int run(Consumer<Evaluation> listener) throws IOException, InterruptedException {
    String tag = "eval/" + tag(options.scales(), options.flip());
    int evaluated = 0;
    long seen = Long.MIN_VALUE;
    try (Evaluator evaluator = Evaluator.withoutWeights(run, options.scales(), options.flip());
        TensorBoardWriter events = new TensorBoardWriter(options.summaryDir())) {
      LOG.info("watching {} every {} s; events in {}", run.directory(),
          options.interval().toMillis() / 1000.0, events.file());
      while (true) {
        long pollStart = System.nanoTime();
        for (long step : run.checkpointSteps()) {
          if (step <= seen) {
            continue;
          }
          seen = step;
          Path prefix = run.checkpoint(step);
          try {
            evaluator.restore(prefix);
          } catch (IOException e) {
            if (run.checkpointSteps().contains(step)) {
              throw e;
            }
            LOG.warn("skipping {}: deleted before it could be read (rotated by the trainer)",
                prefix);
            continue;
          }
          ConfusionMatrix cm = evaluator.evaluate(dataset, run.labels(), options.resize(),
              () -> {});
          write(events, tag, step, cm);
          listener.accept(new Evaluation(step, prefix, cm));
          evaluated++;
          if (step >= run.steps()
              || (options.maxEvaluations() > 0 && evaluated >= options.maxEvaluations())) {
            return evaluated;
          }
        }
        long waited = System.nanoTime() - pollStart;
        Thread.sleep(Math.max(0, (options.interval().toNanos() - waited) / 1_000_000));
      }
    }
  }

  /** The official scalars of one evaluation at {@code step}. */
  private static void write(TensorBoardWriter events, String tag, long step, ConfusionMatrix cm)
      throws IOException {
    events.scalar(tag + "_overall", step, cm.meanIou());
    for (int c = 0; c < cm.numClasses(); c++) {
      boolean labelled = cm.truePositives(c) + cm.falseNegatives(c) > 0;
      events.scalar(tag + "_class_" + c, step, labelled ? cm.iou(c) : Double.NaN);
    }
  }
}
