package dev.deeplab.infer;

/**
 * TensorFlow failed while segmenting (for example out of native memory, or a model whose graph
 * cannot run on this machine). The message is one line; the cause is TensorFlow's exception.
 * Mistakes of the caller are reported as {@link IllegalArgumentException} instead, unreadable
 * images as {@link dev.deeplab.image.ImageFormatException}.
 *
 * <p>Immutable and thread-safe.
 */
public class SegmentationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** An exception with a one-line message and TensorFlow's exception as the cause. */
  public SegmentationException(String message, Throwable cause) {
    super(message, cause);
  }
}
