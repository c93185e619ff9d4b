package dev.deeplab.internal.caffe;

import java.io.IOException;

/** A Caffe model file that cannot be read or is refused; the message is one line for the user. */
public class CaffeFormatException extends IOException {
  public CaffeFormatException(String message) {
    super(message);
  }

  public CaffeFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
