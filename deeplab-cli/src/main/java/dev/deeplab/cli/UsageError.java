package dev.deeplab.cli;

/**
 * A mistake in the command line that picocli's declarations cannot express (two options that
 * exclude each other in a way an argument group cannot say, a value out of range): reported like
 * picocli's own parse errors, with a usage line, exit code 2.
 */
final class UsageError extends RuntimeException {
  UsageError(String message) {
    super(message);
  }
}
