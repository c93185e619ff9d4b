package dev.deeplab.cli;

import dev.deeplab.infer.PretrainedModel;
import java.io.IOException;
import java.nio.file.Path;

/** The model commands use when none is given: the pretrained model packaged in the library. */
final class ModelLocation {
  static final String DEFAULT_MODEL = PretrainedModel.NAME;

  private ModelLocation() {}

  /** {@code model} if given, else the pretrained model (unpacked into the user's cache). */
  static Path orDefault(Path model) throws IOException {
    return model != null ? model : PretrainedModel.directory();
  }
}
