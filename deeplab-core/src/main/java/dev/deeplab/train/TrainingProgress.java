package dev.deeplab.train;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives training progress from {@link Trainer}, on the training thread: once {@link #start}, then
 * {@link #update} after every step, then {@link #close}. The default ({@link #log}) writes an SLF4J
 * line every few seconds; the command line shows a progress bar on a terminal instead.
 * Implementations need not be thread-safe: one training run calls one instance from one thread.
 */
public interface TrainingProgress extends AutoCloseable {

  /** Called before the first step: steps {@code firstStep + 1 .. total} follow. */
  default void start(long firstStep, long total) {}

  /** Reports that {@code step} is done, with its loss, learning rate and recent throughput. */
  void update(long step, float loss, float learningRate, double imagesPerSecond);

  /** Called after the last step, and when training stops early. */
  @Override
  default void close() {}

  /** SLF4J lines ({@code deeplab.train}, INFO) at most every {@code interval}, and at the end. */
  static TrainingProgress log(Duration interval) {
    return new Log(interval);
  }

  /** The log-line display. */
  final class Log implements TrainingProgress {
    private static final Logger LOG = LoggerFactory.getLogger("deeplab.train");
    private final long intervalNanos;
    private long total;
    private long last = Long.MIN_VALUE;

    private Log(Duration interval) {
      this.intervalNanos = interval.toNanos();
    }

    @Override
    public void start(long firstStep, long total) {
      this.total = total;
    }

    @Override
    public void update(long step, float loss, float learningRate, double imagesPerSecond) {
      long now = System.nanoTime();
      if (last != Long.MIN_VALUE && now - last < intervalNanos && step < total) {
        return;
      }
      last = now;
      if (LOG.isInfoEnabled()) {
        LOG.info(String.format("step %d/%d loss %.4f lr %.3e %.1f img/s", step, total, loss,
            learningRate, imagesPerSecond));
      }
    }
  }
}
