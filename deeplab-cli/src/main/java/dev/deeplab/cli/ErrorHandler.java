package dev.deeplab.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;

/**
 * Turns exceptions into one line on stderr and an exit code: a wrong command line ({@link
 * UsageError}) exits 2 with a usage line; user and environment problems (exceptions of type {@link
 * UserError}, I/O, bad arguments) exit 1; anything else is a bug and exits 3. The stack trace is printed only with {@code --verbose}.
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {
  static final int USER_ERROR = 1;
  static final int INTERNAL_ERROR = 3;

  @Override
  public int handleExecutionException(Exception e, CommandLine cmd,
      CommandLine.ParseResult parseResult) {
    if (e instanceof UsageError) {
      DeepLabCli.usage(cmd, e.getMessage());
      return DeepLabCli.USAGE_ERROR;
    }
    boolean verbose = parseResult.hasMatchedOption("--verbose")
        || parseResult.subcommands().stream().anyMatch(p -> hasVerbose(p));
    boolean user = isUserError(e);
    String message = user ? describe(e)
        : "internal error: " + e + (verbose ? "" : " (run with --verbose for details)");
    cmd.getErr().println("deeplab: " + message);
    if (verbose) {
      e.printStackTrace(cmd.getErr());
    }
    return user ? USER_ERROR : INTERNAL_ERROR;
  }

  private static boolean hasVerbose(CommandLine.ParseResult p) {
    return p.hasMatchedOption("--verbose")
        || p.subcommands().stream().anyMatch(ErrorHandler::hasVerbose);
  }

  static boolean isUserError(Throwable e) {
    return e instanceof UserError
        || e instanceof IOException
        || e instanceof UncheckedIOException
        || e instanceof IllegalArgumentException
        || e.getClass().getSimpleName().endsWith("FormatException")
        || e.getClass().getSimpleName().equals("CheckpointException");
  }

  static String describe(Throwable e) {
    if (e instanceof NoSuchFileException n) {
      return (n.getReason() != null ? n.getReason() : "no such file") + ": " + n.getFile();
    }
    if (e instanceof AccessDeniedException a) {
      return "permission denied: " + a.getFile();
    }
    if (e instanceof java.nio.file.FileAlreadyExistsException f) {
      return "already exists (and is not a directory): " + f.getFile();
    }
    if (e instanceof FileSystemException f) {
      return (f.getReason() != null ? f.getReason() : "cannot use this path") + ": " + f.getFile();
    }
    String m = e.getMessage() == null ? e.toString() : e.getMessage();
    return m.strip().split("\\R", 2)[0];
  }
}
