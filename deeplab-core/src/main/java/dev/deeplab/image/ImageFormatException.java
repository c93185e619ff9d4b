package dev.deeplab.image;

import java.io.IOException;

/**
 * A file that cannot be turned into pixels: missing, empty, not an image, an unsupported format,
 * truncated or corrupt data, or larger than the configured pixel limit.
 *
 * <p>The message is always one line of the form {@code "<file>: <problem>"}, fit for a log line or
 * for a count of skipped samples (see {@code train --skip-bad-samples}).
 *
 * <p>Immutable and thread-safe.
 */
public class ImageFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String source;
  private final String problem;

  /**
   * @param source the file or stream name the problem is about
   * @param problem what is wrong, without the file name
   */
  public ImageFormatException(String source, String problem) {
    this(source, problem, null);
  }

  /**
   * @param source the file or stream name the problem is about
   * @param problem what is wrong, without the file name
   * @param cause the underlying exception, or {@code null}
   */
  public ImageFormatException(String source, String problem, Throwable cause) {
    super(oneLine(source) + ": " + oneLine(problem), cause);
    this.source = source;
    this.problem = problem;
  }

  /** The file or stream name. */
  public String source() {
    return source;
  }

  /** The problem, without the file name. */
  public String problem() {
    return problem;
  }

  public static String oneLine(String s) {
    return s == null ? "null" : s.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
  }
}
