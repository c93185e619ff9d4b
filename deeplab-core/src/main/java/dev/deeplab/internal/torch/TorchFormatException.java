package dev.deeplab.internal.torch;

import java.io.IOException;

/** A PyTorch weight file that cannot be read or is refused; the message is one line for the user. */
public class TorchFormatException extends IOException {
  public TorchFormatException(String message) {
    super(message);
  }

  public TorchFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
