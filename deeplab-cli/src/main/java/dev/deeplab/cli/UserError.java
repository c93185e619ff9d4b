package dev.deeplab.cli;

/** A problem with what the user asked for; reported as one line, exit code 1. */
final class UserError extends RuntimeException {
  UserError(String message) {
    super(message);
  }
}
