package dev.deeplab.cli;

import dev.deeplab.export.CheckpointImporter;
import dev.deeplab.export.FrozenGraphWrapper;
import dev.deeplab.export.ModelExporter;
import dev.deeplab.export.ModelInfo;
import dev.deeplab.io.tflite.TfliteDeepLabImporter;
import dev.deeplab.io.tflite.TfliteDeepLabWeights;
import dev.deeplab.model.ModelConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import org.tensorflow.proto.GraphDef;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab import}: turns official weights (a TFLite file, a TF1 checkpoint, a frozen
 * graph) into one of our SavedModels.
 */
@Command(name = "import", sortOptions = false,
    description = {"Import official DeepLab weights and write a SavedModel "
        + "(TF Serving layout <output>/<version>/).",
        "  --checkpoint: a TF1 checkpoint (V2 or V1) read by the official variable names, for "
            + "the architecture given by --variant/--preset and the options below. Missing or "
            + "mismatched variables are shown in a table and refused unless they lie under a "
            + "--reinitialize scope; optimizer slots and global_step are never restored.",
        "  --frozen-graph: an official frozen_inference_graph.pb (ImageTensor -> "
            + "SemanticPredictions), wrapped with serving signatures (batch 1).",
        "  --tflite: the official DeepLabv3 MobileNetV2 TFLite file.",
        "Examples:",
        "  deeplab import --checkpoint model.ckpt-30000 --preset mobilenetv2_coco_voc "
            + "--output savedmodels/mnv2_voc",
        "  deeplab import --checkpoint xception_65/model.ckpt --variant xception_65 "
            + "--num-classes 5 --reinitialize logits --output savedmodels/x65_5",
        "  deeplab import --frozen-graph frozen_inference_graph.pb --labels pascal_voc "
            + "--output savedmodels/zoo_mnv2",
        "  deeplab import --tflite src/main/resources/dev/deeplab/models/"
            + "deeplabv3_mnv2_pascal_quant.tflite --output savedmodels/deeplabv3_mnv2_pascal"})
final class ImportCommand implements Callable<Integer> {
  /** Rows per status shown in the variable table. */
  static final int TABLE_ROWS = 40;

  @Option(names = "--checkpoint", paramLabel = "PREFIX",
      description = "A TF1 checkpoint: prefix (model.ckpt-30000), its .index file, a V1 file, "
          + "or a directory with a 'checkpoint' state file.")
  Path checkpoint;

  @Option(names = "--frozen-graph", paramLabel = "FILE",
      description = "An official frozen GraphDef (frozen_inference_graph.pb).")
  Path frozenGraph;

  @Option(names = "--tflite", paramLabel = "FILE",
      description = "An official DeepLabv3 MobileNetV2 TFLite file (quantised weights are "
          + "dequantised, folded batch norm kept).")
  Path tflite;

  @ArgGroup(exclusive = false, heading = "Architecture (for --checkpoint; --num-classes and "
      + "--crop-size also for --frozen-graph):%n")
  ModelOptions model = new ModelOptions();

  @Option(names = "--reinitialize", split = ",", paramLabel = "SCOPES",
      description = "With --checkpoint: comma-separated variable scopes (e.g. logits) that start "
          + "from fresh initial values instead of the checkpoint's, for a different class count.")
  List<String> reinitialize;

  @Option(names = "--labels", paramLabel = "NAME",
      description = "Label set for class names: pascal_voc, cityscapes, ade20k (default: the "
          + "built-in set with the model's class count).")
  String labels;

  @Mixin
  VersionedOutput target = new VersionedOutput();

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    int sources = (checkpoint != null ? 1 : 0) + (frozenGraph != null ? 1 : 0)
        + (tflite != null ? 1 : 0);
    if (sources != 1) {
      throw new UserError("give exactly one of --checkpoint, --frozen-graph or --tflite");
    }
    if (reinitialize != null && checkpoint == null) {
      throw new UserError("--reinitialize applies to --checkpoint only");
    }
    PrintWriter out = spec.commandLine().getOut();
    OptionalInt v = target.version();
    Path output = target.output;
    if (checkpoint != null) {
      importCheckpoint(checkpoint, model, reinitialize == null ? List.of() : reinitialize,
          labels, output, v, out);
    } else if (frozenGraph != null) {
      importFrozenGraph(out, v);
    } else {
      if (model.given() || model.numClasses != null || labels != null) {
        throw new UserError("--tflite takes no architecture or --labels options: the file "
            + "defines them");
      }
      TfliteDeepLabWeights w = TfliteDeepLabImporter.importFile(tflite);
      ModelConfig config = ModelExporter.configOf(w);
      ModelInfo info = ModelExporter.infoFor(config, "tflite:" + tflite.getFileName());
      Path dir = ModelExporter.export(w.variables(), info, output, v);
      out.printf("imported %s (%s, depth multiplier %s, %d classes) into %s%n",
          tflite.getFileName(), config.variant(), w.depthMultiplier(), config.numClasses(), dir);
    }
    return 0;
  }

  /**
   * Lists a checkpoint, prints how it compares with the model, refuses a mismatch, else exports;
   * shared with {@code deeplab export --checkpoint}.
   */
  static Path importCheckpoint(Path path, ModelOptions model, List<String> reinitialize,
      String labels, Path output, OptionalInt version, PrintWriter out) throws Exception {
    ModelConfig config = model.toConfig();
    String prefix = CheckpointImporter.resolvePrefix(path);
    CheckpointImporter.Plan plan = CheckpointImporter.plan(prefix, config, reinitialize);
    ModelInfo info = ModelExporter.infoFor(config, "checkpoint:" + Path.of(prefix).getFileName(),
        labels);
    out.printf("checkpoint %s (%s, %d entries); model %s: %d variables%n", prefix,
        plan.format(), plan.entries(), describe(config),
        plan.variables().size());
    String table = plan.report().table(TABLE_ROWS);
    if (!table.isEmpty()) {
      out.print(table);
    }
    out.println(plan.report().summary());
    out.flush();
    CheckpointImporter.requireClean(plan);
    Path dir = CheckpointImporter.run(plan, info, output, version);
    out.printf("restored %d variables%s; wrote %s%n", plan.restoredNames().size(),
        plan.freshNames().isEmpty() ? "" : ", " + plan.freshNames().size()
            + " reinitialized (" + String.join(",", plan.scopes()) + ")", dir);
    return dir;
  }

  private void importFrozenGraph(PrintWriter out, OptionalInt v) throws Exception {
    GraphDef gd = FrozenGraphWrapper.read(frozenGraph);
    FrozenGraphWrapper.Detected found = FrozenGraphWrapper.detect(gd);
    ModelConfig config = model.given() ? model.toConfig() : found.config();
    if (model.numClasses != null) {
      config = config.withNumClasses(model.numClasses);
    } else if (found.numClasses().isPresent()) {
      config = config.withNumClasses(found.numClasses().getAsInt());
    } else if (labels != null) {
      config = config.withNumClasses(dev.deeplab.data.DatasetInfo.byName(labels).numClasses());
    } else {
      throw new UserError("cannot tell the number of classes of " + frozenGraph
          + " (no logits/semantic/weights node): give --num-classes or --labels");
    }
    if (found.numClasses().isPresent() && found.numClasses().getAsInt() != config.numClasses()) {
      throw new UserError(frozenGraph + " has " + found.numClasses().getAsInt()
          + " classes (logits/semantic/weights), not " + config.numClasses());
    }
    if (model.cropSize != null) {
      int[] hw = ModelOptions.parseSize(model.cropSize);
      config = config.withCropSize(hw[0], hw[1]);
    }
    ModelInfo info = ModelExporter.infoFor(config,
        FrozenGraphWrapper.SOURCE_PREFIX + frozenGraph.getFileName(), labels);
    Path dir = FrozenGraphWrapper.wrap(gd, info, target.output, v);
    out.printf("frozen graph %s: %d nodes, %s%s, %d classes%s%n", frozenGraph, found.nodes(),
        found.variant().map(x -> x.officialName()).orElse("backbone not recognised"),
        found.decoder() ? " with decoder" : "", config.numClasses(),
        found.hasProbabilities() ? ", SemanticProbabilities" : "");
    out.printf("wrote %s: serving_default (images uint8 [1,h,w,3] -> semantic int32 [1,h,w]%s) "
        + "and predict_image_bytes; images larger than %dx%d are scaled down to fit%n", dir,
        found.hasProbabilities() ? ", probabilities" : "", config.cropHeight(),
        config.cropWidth());
  }

  /** E.g. {@code xception_65 OS16 decoder 4 21 classes 513x513}. */
  static String describe(ModelConfig c) {
    return c.variant().officialName() + " (output stride " + c.outputStride()
        + (c.hasDecoder() ? ", decoder" : "") + (c.atrousRates().isEmpty() ? ""
            : ", rates " + c.atrousRates().toString().replace(" ", ""))
        + ", " + c.numClasses() + " classes, crop " + c.cropHeight() + "x" + c.cropWidth() + ")";
  }
}
