package dev.deeplab.train;

import java.io.IOException;

/**
 * A task of the training cluster is missing: it did not answer at start-up, or stopped answering
 * during training. The message is one line naming the task; training stopped after the last
 * complete checkpoint, from which the same command resumes once the task runs again.
 */
public final class ClusterException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String task;

  public ClusterException(String task, String message) {
    super(message);
    this.task = task;
  }

  /** The missing task, e.g. {@code /job:worker/replica:0/task:1}. */
  public String task() {
    return task;
  }
}
