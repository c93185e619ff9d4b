package dev.deeplab.cli;

import java.nio.file.Path;
import java.nio.file.Paths;

/** Where the bundled default model lives: {@code savedmodels/} of the project checkout. */
final class ModelLocation {
  static final String DEFAULT_MODEL = "deeplabv3_mnv2_pascal";

  private ModelLocation() {}

  /**
   * The bundled default model directory: {@code $DEEPLAB_HOME/savedmodels/deeplabv3_mnv2_pascal}
   * (the launcher sets {@code deeplab.home}), else relative to the working directory.
   */
  static Path defaultModel() {
    String home = System.getProperty("deeplab.home");
    Path base = home == null ? Paths.get("") : Paths.get(home);
    return base.resolve("savedmodels").resolve(DEFAULT_MODEL);
  }
}
