package dev.deeplab.cli;

import dev.deeplab.export.ModelExporter;
import dev.deeplab.export.ModelInfo;
import dev.deeplab.io.tflite.TfliteDeepLabImporter;
import dev.deeplab.io.tflite.TfliteDeepLabWeights;
import dev.deeplab.model.ModelConfig;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code deeplab import}: turns weights from elsewhere into one of our SavedModels. */
@Command(name = "import", mixinStandardHelpOptions = true,
    description = {"Import official DeepLab weights and write a SavedModel "
        + "(TF Serving layout <output>/<version>/).",
        "Example: deeplab import --tflite src/main/resources/dev/deeplab/models/"
            + "deeplabv3_mnv2_pascal_quant.tflite --output savedmodels/deeplabv3_mnv2_pascal"})
final class ImportCommand implements Callable<Integer> {
  @Option(names = "--tflite", required = true, paramLabel = "FILE",
      description = "An official DeepLabv3 MobileNetV2 TFLite file (quantised weights are "
          + "dequantised, folded batch norm kept).")
  Path tflite;

  @Option(names = "--output", required = true, paramLabel = "DIR",
      description = "Model base directory, e.g. savedmodels/NAME.")
  Path output;

  @Option(names = "--version", description = "Version number (default: the next free one).")
  Integer version;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    TfliteDeepLabWeights w = TfliteDeepLabImporter.importFile(tflite);
    ModelConfig config = ModelExporter.configOf(w);
    ModelInfo info = ModelExporter.infoFor(config, "tflite:" + tflite.getFileName());
    Path dir = ModelExporter.export(w.variables(), info, output,
        version == null ? OptionalInt.empty() : OptionalInt.of(version));
    spec.commandLine().getOut().printf("imported %s (%s, depth multiplier %s, %d classes) into %s%n",
        tflite.getFileName(), config.variant(), w.depthMultiplier(), config.numClasses(), dir);
    return 0;
  }
}
