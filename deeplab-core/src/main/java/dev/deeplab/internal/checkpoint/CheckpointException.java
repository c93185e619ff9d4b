package dev.deeplab.internal.checkpoint;

/** A checkpoint that cannot be read or written; the message is one line for the user. */
public class CheckpointException extends Exception {
  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
