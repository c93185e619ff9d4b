package dev.deeplab.train;

import java.time.Duration;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shows training progress: a progress bar (me.tongfei.progressbar, on stderr) with step, loss,
 * learning rate and images/s on an interactive terminal; an SLF4J log line every few seconds
 * otherwise (no console, or the {@code CI} environment variable set).
 */
public interface TrainingProgress extends AutoCloseable {

  /** Reports that {@code step} of {@code total} is done. */
  void update(long step, float loss, float learningRate, double imagesPerSecond);

  @Override
  void close();

  /** True when a progress bar suits the environment (a console and no {@code CI}). */
  static boolean interactive() {
    return System.console() != null && System.getenv("CI") == null;
  }

  /** A bar on a terminal, log lines otherwise. */
  static TrainingProgress create(long firstStep, long total) {
    return interactive() ? new Bar(firstStep, total) : new Log(total, Duration.ofSeconds(10));
  }

  /** Log lines at most every {@code interval} (and at the last step). */
  static TrainingProgress log(long total, Duration interval) {
    return new Log(total, interval);
  }

  /** The progress-bar display. */
  final class Bar implements TrainingProgress {
    private final ProgressBar bar;

    Bar(long firstStep, long total) {
      bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(total)
          .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).startsFrom(firstStep, Duration.ZERO)
          .showSpeed().build();
    }

    @Override
    public void update(long step, float loss, float learningRate, double imagesPerSecond) {
      bar.stepTo(step);
      bar.setExtraMessage(String.format(" loss %.4f lr %.2e %.1f img/s", loss, learningRate,
          imagesPerSecond));
    }

    @Override
    public void close() {
      bar.close();
    }
  }

  /** The log-line display. */
  final class Log implements TrainingProgress {
    private static final Logger LOG = LoggerFactory.getLogger("deeplab.train");
    private final long total;
    private final long intervalNanos;
    private long last = Long.MIN_VALUE;

    Log(long total, Duration interval) {
      this.total = total;
      this.intervalNanos = interval.toNanos();
    }

    @Override
    public void update(long step, float loss, float learningRate, double imagesPerSecond) {
      long now = System.nanoTime();
      if (last != Long.MIN_VALUE && now - last < intervalNanos && step < total) {
        return;
      }
      last = now;
      LOG.info(String.format("step %d/%d loss %.4f lr %.3e %.1f img/s", step, total, loss,
          learningRate, imagesPerSecond));
    }

    @Override
    public void close() {}
  }
}
