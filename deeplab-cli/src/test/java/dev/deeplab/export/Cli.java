package dev.deeplab.export;

import dev.deeplab.cli.DeepLabCli;
import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/**
 * Runs the {@code deeplab} command line in-process, as {@link DeepLabCli#run} does (same error
 * handler), capturing stdout and stderr. Registers {@code export} when the CLI does not have it
 * yet, so that these tests do not depend on the order in which commands are wired up.
 */
final class Cli {
  /** What one run printed and returned. */
  record Run(int exit, String out, String err) {
    /** The stderr lines that are not TensorFlow's own logging. */
    java.util.List<String> errorLines() {
      return err.lines().filter(l -> l.startsWith("deeplab")).toList();
    }
  }

  private Cli() {}

  static Run run(String... args) {
    CommandLine cli = DeepLabCli.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }
}
