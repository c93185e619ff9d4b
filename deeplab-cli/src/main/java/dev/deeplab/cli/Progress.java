package dev.deeplab.cli;

import dev.deeplab.train.TrainingProgress;
import java.time.Duration;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress of long work: a live bar on stderr when it is an interactive terminal, plain log lines
 * otherwise (pipes, files, CI). Java cannot see whether stderr is a terminal, so the launcher says
 * so ({@code -Ddeeplab.stderr.terminal=true}); {@code CI} set means log lines, {@code NO_COLOR}
 * set means a bar without colours.
 */
final class Progress implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("deeplab");
  private final ProgressBar bar;

  private Progress(ProgressBar bar) {
    this.bar = bar;
  }

  /** True when stderr is an interactive terminal and not a CI log. */
  static boolean onTerminal() {
    return Boolean.getBoolean("deeplab.stderr.terminal") && System.getenv("CI") == null;
  }

  static Progress start(String task, long total) {
    return new Progress(builder(task, total, 0).build());
  }

  private static ProgressBarBuilder builder(String task, long total, long first) {
    ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(total)
        .startsFrom(first, Duration.ZERO);
    if (onTerminal()) {
      b.setStyle(System.getenv("NO_COLOR") != null ? ProgressBarStyle.UNICODE_BLOCK
          : ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUpdateIntervalMillis(250);
    } else {
      b.setConsumer(new DelegatingProgressBarConsumer(LOG::info)).setStyle(ProgressBarStyle.ASCII)
          .setUpdateIntervalMillis(10_000).continuousUpdate();
    }
    return b;
  }

  void step() {
    bar.step();
  }

  @Override
  public void close() {
    bar.close();
  }

  /** Training progress: a bar with loss, learning rate and speed on a terminal, else log lines. */
  static TrainingProgress training() {
    if (!onTerminal()) {
      return TrainingProgress.log(Duration.ofSeconds(10));
    }
    return new TrainingProgress() {
      private ProgressBar bar;

      @Override
      public void start(long firstStep, long total) {
        bar = builder("train", total, firstStep).showSpeed().build();
      }

      @Override
      public void update(long step, float loss, float learningRate, double imagesPerSecond) {
        bar.stepTo(step);
        bar.setExtraMessage(String.format(" loss %.4f lr %.2e %.1f img/s", loss, learningRate,
            imagesPerSecond));
      }

      @Override
      public void close() {
        if (bar != null) {
          bar.close();
        }
      }
    };
  }
}
