package dev.deeplab.cli;

import java.nio.file.Path;
import java.util.OptionalInt;
import picocli.CommandLine.Option;

/**
 * Where {@code import} and {@code export} write: a model base directory and an optional version
 * (TF Serving layout {@code <output>/<version>/}). Carries its own {@code -h/--help} because
 * picocli's standard {@code --version} would clash with the SavedModel {@code --version}.
 */
final class VersionedOutput {
  @Option(names = "--output", required = true, paramLabel = "DIR",
      description = "Model base directory, e.g. savedmodels/NAME.")
  Path output;

  @Option(names = "--version", description = "Version number (default: the next free one).")
  Integer version;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  OptionalInt version() {
    return version == null ? OptionalInt.empty() : OptionalInt.of(version);
  }
}
