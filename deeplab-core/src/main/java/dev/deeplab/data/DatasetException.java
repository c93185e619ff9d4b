package dev.deeplab.data;

import java.io.IOException;

/**
 * A dataset problem: a missing or empty split file, or a sample that cannot be loaded (missing or
 * unreadable image or label, label size different from the image, label values out of range).
 *
 * <p>The message is one line naming the file concerned, so that {@code train --skip-bad-samples}
 * can log and count skipped samples.
 *
 * <p>Immutable and thread-safe.
 */
public class DatasetException extends IOException {
  private static final long serialVersionUID = 1L;

  /** @param message one line naming the file and the problem */
  public DatasetException(String message) {
    super(message);
  }

  /**
   * @param message one line naming the file and the problem
   * @param cause the underlying exception
   */
  public DatasetException(String message, Throwable cause) {
    super(message, cause);
  }
}
