package dev.deeplab.train;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Training stopped because the loss became NaN, infinite or exploded. The weights in memory are
 * ruined and were not saved; the newest checkpoint on disk (if any) is the last good state.
 *
 * <p>Immutable and thread-safe.
 */
public final class TrainingDivergedException extends RuntimeException {
  private final long step;
  private final float loss;
  private final transient Path lastCheckpoint;

  TrainingDivergedException(long step, float loss, double limit, Optional<Path> lastCheckpoint) {
    super("training diverged at step " + step + ": loss is " + describe(loss, limit)
        + "; stopped without saving"
        + lastCheckpoint.map(p -> ", the last good checkpoint is " + p).orElse(" (no checkpoint yet)")
        + " (try a lower --base-lr)");
    this.step = step;
    this.loss = loss;
    this.lastCheckpoint = lastCheckpoint.orElse(null);
  }

  private static String describe(float loss, double limit) {
    if (Float.isNaN(loss)) {
      return "NaN";
    }
    if (Float.isInfinite(loss)) {
      return "infinite";
    }
    return loss + ", above the limit " + limit;
  }

  /** The step whose loss diverged. */
  public long step() {
    return step;
  }

  /** The diverged loss value. */
  public float loss() {
    return loss;
  }

  /** The newest checkpoint on disk, if any. */
  public Optional<Path> lastCheckpoint() {
    return Optional.ofNullable(lastCheckpoint);
  }
}
