package dev.deeplab.internal.tflite;

/**
 * Thrown when bytes are not a well-formed TFLite flatbuffer (wrong file identifier, truncated file,
 * offsets or indices out of range, inconsistent shapes), or when a well-formed model is not the
 * graph an importer expects.
 *
 * <p>The message is always a single line that names the problem, for example {@code "not a TFLite
 * file: file identifier is 'PK\x03\x04', expected 'TFL3'"}. The file format is defined by the
 * TFLite flatbuffer schema ({@code tensorflow/compiler/mlir/lite/schema/schema.fbs}).
 */
public class TfliteFormatException extends Exception {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message a one-line description of the problem (line breaks are replaced by spaces)
   */
  public TfliteFormatException(String message) {
    super(oneLine(message));
  }

  /**
   * Creates the exception with a cause.
   *
   * @param message a one-line description of the problem (line breaks are replaced by spaces)
   * @param cause the underlying error
   */
  public TfliteFormatException(String message, Throwable cause) {
    super(oneLine(message), cause);
  }

  private static String oneLine(String message) {
    return message == null ? "malformed TFLite model" : message.replaceAll("[\\r\\n]+", " ");
  }
}
