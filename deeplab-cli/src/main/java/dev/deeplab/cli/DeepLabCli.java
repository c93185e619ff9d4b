package dev.deeplab.cli;

import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * The {@code deeplab} command line: parses options and calls the library, nothing else.
 *
 * <p>Exit codes: 0 success; 1 the input or the environment is wrong (a missing or unreadable
 * file, a bad model, a full disk), with a one-line message; 2 the command line is wrong (a usage
 * line follows the message); 3 an internal error (a bug: the message asks for {@code --verbose});
 * 130 interrupted.
 */
@Command(
    name = "deeplab",
    mixinStandardHelpOptions = true,
    scope = CommandLine.ScopeType.INHERIT,
    description = "DeepLab v3/v3+ semantic segmentation on TensorFlow Java.",
    subcommands = {
      SegmentCommand.class,
      EvalCommand.class,
      ImportCommand.class,
      ExportCommand.class,
      TrainCommand.class,
      ServerCommand.class,
      BenchCommand.class,
      InspectCommand.class,
      CommandLine.HelpCommand.class
    })
public final class DeepLabCli {
  /** Exit code of a wrong command line. */
  static final int USAGE_ERROR = 2;

  @Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
      description = "Print stack traces of errors.")
  boolean verbose;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code (for {@link #main}). */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  /** The command line with our error handling, writing to stdout and stderr (tests redirect). */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new DeepLabCli());
    // Set after the subcommands are built: picocli asks an annotated provider for the version
    // while it builds each subcommand, and ours loads TensorFlow's native library (0.3 s), which
    // segment on ONNX Runtime never needs. Set here, it is asked only for --version.
    versionProvider(cli, new Version());
    cli.setExecutionExceptionHandler(new ErrorHandler());
    cli.setParameterExceptionHandler(DeepLabCli::usageError);
    return cli;
  }

  private static void versionProvider(CommandLine cmd, Version version) {
    cmd.getCommandSpec().versionProvider(version);
    cmd.getSubcommands().values().forEach(sub -> versionProvider(sub, version));
  }

  /** One line naming the mistake, the command's synopsis, and where to read more. */
  private static int usageError(CommandLine.ParameterException e, String[] args) {
    CommandLine cmd = e.getCommandLine();
    usage(cmd, e.getMessage());
    return USAGE_ERROR;
  }

  static void usage(CommandLine cmd, String message) {
    PrintWriter err = cmd.getErr();
    String name = cmd.getCommandSpec().qualifiedName();
    err.println(name + ": " + message.replaceFirst("^Error: ", ""));
    err.print("Usage: " + cmd.getHelp().synopsis(0));
    err.println("Try '" + name + " --help' for more information.");
    err.flush();
  }
}
