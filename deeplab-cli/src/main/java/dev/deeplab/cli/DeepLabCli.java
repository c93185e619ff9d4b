package dev.deeplab.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code deeplab} command line: parses options and calls the library, nothing else.
 *
 * <p>Exit codes: 0 success; 1 the input or the environment is wrong (a missing or unreadable
 * file, a bad model, a full disk), with a one-line message; 2 the command line is wrong; 3 an
 * internal error (a bug: the message asks for {@code --verbose}); 130 interrupted.
 */
@Command(
    name = "deeplab",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "DeepLab v3/v3+ semantic segmentation on TensorFlow Java.",
    subcommands = {
      SegmentCommand.class,
      EvalCommand.class,
      ImportCommand.class,
      ExportCommand.class,
      TrainCommand.class,
      BenchCommand.class,
      InspectCommand.class,
      CommandLine.HelpCommand.class
    })
public final class DeepLabCli {

  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
      description = "Print stack traces of errors.")
  boolean verbose;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (for tests and {@link #main}). */
  public static int run(String... args) {
    CommandLine cli = new CommandLine(new DeepLabCli());
    cli.setExecutionExceptionHandler(new ErrorHandler());
    return cli.execute(args);
  }
}
