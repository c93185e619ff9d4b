package dev.deeplab.cli;

import java.nio.file.Path;
import java.util.OptionalLong;
import picocli.CommandLine.Option;

/**
 * Where {@code import} and {@code export} write: a model base directory and an optional
 * SavedModel version (TF Serving layout {@code <output>/<version>/}).
 */
final class VersionedOutput {
  @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR",
      description = "Model base directory, e.g. savedmodels/NAME.")
  Path output;

  @Option(names = "--model-version", paramLabel = "N",
      description = "SavedModel version number, any positive 64-bit integer such as a timestamp "
          + "(default: one more than the highest version in --output, else 1).")
  Long version;

  OptionalLong version() {
    if (version != null && version < 1) {
      throw new UsageError("--model-version must be a positive integer, got " + version);
    }
    return version == null ? OptionalLong.empty() : OptionalLong.of(version);
  }
}
