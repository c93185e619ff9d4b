package dev.deeplab.cli;

import dev.deeplab.export.ModelImporter;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.OptionalInt;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab import}: turns official weights (a TFLite file, a TF1 checkpoint, a frozen
 * graph, a PyTorch state dict, DeepLab-LargeFOV's Caffe model) into one of our SavedModels.
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
        "  --pytorch: a PyTorch state dict (.pth, .pt, .safetensors) of the network --arch, "
            + "strictly: every tensor must fit; the pickle may only rebuild tensors.",
        "  --caffe: DeepLab-LargeFOV's released .caffemodel (conv1_1..fc7, fc8_voc12) for "
            + "--preset deeplabv1_largefov_vgg16, strictly: every layer must fit.",
        "Examples:",
        "  deeplab import --checkpoint model.ckpt-30000 --preset mobilenetv2_coco_voc "
            + "--labels pascal_voc -o savedmodels/mnv2_voc",
        "  deeplab import --checkpoint xception_65/model.ckpt --variant xception_65 "
            + "--num-classes 5 --reinitialize logits --labels my_labels.txt -o savedmodels/x65_5",
        "  deeplab import --frozen-graph frozen_inference_graph.pb --labels pascal_voc "
            + "-o savedmodels/zoo_mnv2",
        "  deeplab import --tflite deeplabv3_mnv2_pascal_quant.tflite --labels pascal_voc "
            + "-o savedmodels/deeplabv3_mnv2_pascal",
        "  deeplab import --pytorch deeplabv3_resnet50.pth --arch torchvision_deeplabv3_resnet50 "
            + "--labels pascal_voc -o savedmodels/tv_r50",
        "  deeplab import --caffe deeplab_largefov.caffemodel --preset deeplabv1_largefov_vgg16 "
            + "--labels pascal_voc -o savedmodels/largefov"})
final class ImportCommand implements Callable<Integer> {
  /** Rows per status shown in the variable table. */
  static final int TABLE_ROWS = 40;

  /** Exactly one source. */
  static final class Source {
    @Option(names = "--checkpoint", required = true, paramLabel = "PREFIX",
        description = "A TF1 checkpoint: prefix (model.ckpt-30000), its .index file, a V1 file, "
            + "or a directory with a 'checkpoint' state file.")
    Path checkpoint;

    @Option(names = "--frozen-graph", required = true, paramLabel = "FILE",
        description = "An official frozen GraphDef (frozen_inference_graph.pb).")
    Path frozenGraph;

    @Option(names = "--pytorch", required = true, paramLabel = "FILE",
        description = "A PyTorch state dict (.pth/.pt, or a checkpoint holding one under "
            + "model_state) or a .safetensors file, for the network given by --arch.")
    Path pytorch;

    @Option(names = "--caffe", required = true, paramLabel = "FILE",
        description = "DeepLab-LargeFOV's Caffe weights (.caffemodel, either layer format), for "
            + "--preset deeplabv1_largefov_vgg16; the class count is fc8's unless --num-classes.")
    Path caffe;

    @Option(names = "--tflite", required = true, paramLabel = "FILE",
        description = "An official DeepLabv3 MobileNetV2 TFLite file (quantised weights are "
            + "dequantised, folded batch norm kept).")
    Path tflite;
  }

  @ArgGroup(exclusive = true, multiplicity = "1", heading = "Source (one of):%n")
  Source source;

  @ArgGroup(exclusive = false, heading = "Architecture (for --checkpoint and --caffe; "
      + "--num-classes and --crop-size also for --frozen-graph):%n")
  ModelOptions model = new ModelOptions();

  @Option(names = "--arch", paramLabel = "ARCH",
      description = "With --pytorch: the PyTorch network: torchvision_deeplabv3_resnet50, "
          + "torchvision_deeplabv3_resnet101, torchvision_deeplabv3_mobilenet_v3_large, "
          + "torchvision_lraspp_mobilenet_v3_large, vainf_deeplabv3plus_resnet50, "
          + "vainf_deeplabv3plus_resnet101, vainf_deeplabv3plus_mobilenet. VainF's networks run "
          + "at --output-stride 16 (default, as its main.py) or 8: give the one it was trained "
          + "with; torchvision's at 8 (ResNets) and 16 (MobileNetV3).")
  String arch;

  @Option(names = "--reinitialize", split = ",", paramLabel = "SCOPES",
      description = "With --checkpoint: comma-separated variable scopes (e.g. logits) that start "
          + "from fresh initial values instead of the checkpoint's, for a different class count.")
  List<String> reinitialize;

  @Option(names = "--labels", paramLabel = "LABELS", converter = LabelSetConverter.class,
      description = LabelSetConverter.DESCRIPTION)
  LabelSet labels;

  @Mixin
  VersionedOutput target = new VersionedOutput();

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    target.version(); // a bad --model-version is a command-line mistake: report it first
    if (reinitialize != null && source.checkpoint == null) {
      throw new UsageError("--reinitialize applies to --checkpoint only");
    }
    if ((arch != null) != (source.pytorch != null)) {
      throw new UsageError(
          arch == null ? "--pytorch needs --arch" : "--arch applies to --pytorch only");
    }
    PrintWriter out = spec.commandLine().getOut();
    if (source.pytorch != null) {
      importPytorch(out);
    } else if (source.caffe != null) {
      importCaffe(out);
    } else if (source.checkpoint != null) {
      importCheckpoint(source.checkpoint, model.toConfig(),
          reinitialize == null ? List.of() : reinitialize, labels, target, out);
    } else if (source.frozenGraph != null) {
      importFrozenGraph(out);
    } else {
      if (model.given() || model.hasOverrides()) {
        throw new UsageError("--tflite takes no architecture options: the file defines them");
      }
      ModelImporter.TfliteImport t = ModelImporter.tflite(source.tflite);
      ModelConfig config = t.config();
      Path dir = t.write(labels, target.output, target.version());
      out.printf("imported %s (%s, depth multiplier %s, %d classes) into %s%n",
          source.tflite.getFileName(), config.variant(), config.depthMultiplier(),
          config.numClasses(), dir);
    }
    return 0;
  }

  /**
   * Lists a checkpoint, prints how it compares with the model, refuses a mismatch, else writes;
   * shared with {@code deeplab export --checkpoint}.
   */
  static Path importCheckpoint(Path path, ModelConfig config, List<String> reinitialize,
      LabelSet labels, VersionedOutput target, PrintWriter out) throws Exception {
    ModelImporter.CheckpointImport plan = ModelImporter.checkpoint(path, config, reinitialize);
    out.printf("checkpoint %s (%s, %d entries); model %s: %d variables%n", plan.prefix(),
        plan.format(), plan.entries(), describe(config), plan.modelVariables());
    printComparison(out, plan.table(TABLE_ROWS), plan.summary());
    Path dir = plan.write(labels, target.output, target.version());
    out.printf("restored %d variables%s; wrote %s%n", plan.restored(),
        plan.reinitialized() == 0 ? "" : ", " + plan.reinitialized() + " reinitialized ("
            + String.join(",", plan.reinitializedScopes()) + ")", dir);
    return dir;
  }

  private void importPytorch(PrintWriter out) throws Exception {
    if (model.given() || model.decoder != null || model.decoderOutputStrides != null
        || model.atrousRates != null || model.multiGrid != null || model.separableAspp != null
        || model.separableDecoder != null || model.depthMultiplier != null
        || model.cropSize != null || model.boundedActivation != null
        || model.densePredictionCellJson != null) {
      throw new UsageError("--pytorch takes --arch, --num-classes and --output-stride only: the "
          + "PyTorch code defines the rest");
    }
    ModelVariant variant;
    try {
      variant = ModelVariant.fromName(arch);
    } catch (IllegalArgumentException e) {
      throw new UsageError("unknown --arch '" + arch + "' (expected one of "
          + pytorchArchitectures() + ")");
    }
    if (variant.family() != ModelVariant.Family.PYTORCH) {
      throw new UsageError("--arch " + arch + " is not a PyTorch network (expected one of "
          + pytorchArchitectures() + ")");
    }
    ModelImporter.PyTorchImport plan;
    try {
      plan = ModelImporter.pytorch(source.pytorch, variant,
          model.numClasses == null ? OptionalInt.empty() : OptionalInt.of(model.numClasses),
          model.outputStride == null ? OptionalInt.empty() : OptionalInt.of(model.outputStride));
    } catch (IllegalArgumentException e) {
      throw new UsageError(e.getMessage());
    }
    out.printf("pytorch %s (%s, %d tensors); model %s: %d variables%n", source.pytorch,
        plan.format(), plan.entries(), describe(plan.config()), plan.modelVariables());
    printComparison(out, plan.table(TABLE_ROWS), plan.summary());
    Path dir = plan.write(labels, target.output, target.version());
    out.printf("wrote %s; images with a side above %d are scaled down to fit%n", dir,
        plan.config().cropHeight());
  }

  private void importCaffe(PrintWriter out) throws Exception {
    if (!model.given()) {
      throw new UsageError("--caffe needs --preset deeplabv1_largefov_vgg16");
    }
    if (model.outputStride != null || model.decoder != null || model.decoderOutputStrides != null
        || model.atrousRates != null || model.multiGrid != null || model.separableAspp != null
        || model.separableDecoder != null || model.depthMultiplier != null
        || model.boundedActivation != null || model.densePredictionCellJson != null
        || model.nasStemFilters != null || model.nasClassificationHead != null
        || model.nasRemoveOs32Stride != null) {
      throw new UsageError("--caffe takes --preset, --num-classes and --crop-size only: "
          + "DeepLab-LargeFOV's prototxt defines the rest");
    }
    ModelConfig config = model.toConfig();
    if (config.variant() != ModelVariant.VGG_16) {
      throw new UsageError("--caffe reads DeepLab-LargeFOV only: give --preset "
          + "deeplabv1_largefov_vgg16, not " + config.variant().officialName());
    }
    ModelImporter.CaffeImport plan = ModelImporter.caffe(source.caffe, config,
        model.numClasses == null ? OptionalInt.empty() : OptionalInt.of(model.numClasses));
    out.printf("caffe %s (%s, %d layers with weights%s); model %s: %d variables%n",
        source.caffe, plan.format(), plan.layers(),
        plan.classifier().map(c -> ", classifier " + c).orElse(""), describe(plan.config()),
        plan.modelVariables());
    printComparison(out, plan.table(TABLE_ROWS), plan.summary());
    Path dir = plan.write(labels, target.output, target.version());
    out.printf("restored %d variables; wrote %s%n", plan.modelVariables(), dir);
  }

  private static String pytorchArchitectures() {
    return java.util.Arrays.stream(ModelVariant.values())
        .filter(v -> v.family() == ModelVariant.Family.PYTORCH)
        .map(ModelVariant::officialName).collect(java.util.stream.Collectors.joining(", "));
  }

  private void importFrozenGraph(PrintWriter out) throws Exception {
    ModelImporter.FrozenGraphImport found = ModelImporter.frozenGraph(source.frozenGraph);
    ModelConfig config = model.given() ? model.toConfig() : found.detectedConfig();
    if (model.numClasses != null) {
      config = config.withNumClasses(model.numClasses);
    } else if (found.numClasses().isPresent()) {
      config = config.withNumClasses(found.numClasses().getAsInt());
    } else if (labels != null) {
      config = config.withNumClasses(labels.numClasses());
    } else {
      throw new UserError("cannot tell the number of classes of " + source.frozenGraph
          + " (no logits/semantic/weights node): give --num-classes or --labels");
    }
    if (model.cropSize != null) {
      int[] hw = ModelOptions.parseSize(model.cropSize);
      config = config.withCropSize(hw[0], hw[1]);
    }
    Path dir = found.write(config, labels, target.output, target.version());
    out.printf("frozen graph %s: %d nodes, %s%s, %d classes%s%n", source.frozenGraph,
        found.nodes(), found.variant().map(x -> x.officialName()).orElse("backbone not recognised"),
        (found.decoder() ? " with decoder" : "")
            + (config.densePredictionCell().isEmpty() ? "" : " (dense prediction cell)")
            + (config.variant().family() == ModelVariant.Family.NAS ? " (output stride "
                + config.outputStride() + ", " + config.nasStemOutputNumConvFilters()
                + " stem filters" + (config.nasUseClassificationHead()
                    ? ", classification head" : "") + ")" : ""),
        config.numClasses(),
        found.hasProbabilities() ? ", SemanticProbabilities" : "");
    out.printf("wrote %s (batch 1); images larger than %dx%d are scaled down to fit%n", dir,
        config.cropHeight(), config.cropWidth());
  }

  /** E.g. {@code xception_65 (output stride 16, decoder, 21 classes, crop 513x513)}. */
  static String describe(ModelConfig c) {
    return c.variant().officialName() + " (output stride " + c.outputStride()
        + (c.hasDecoder() ? ", decoder" : "") + (c.atrousRates().isEmpty() ? ""
            : ", rates " + c.atrousRates().toString().replace(" ", ""))
        + ", " + c.numClasses() + " classes, crop " + c.cropHeight() + "x" + c.cropWidth() + ")";
  }

  /** The file-against-network table (missing, unexpected, mismatched), then its one-line summary. */
  private static void printComparison(PrintWriter out, String table, String summary) {
    if (!table.isEmpty()) {
      out.print(table);
    }
    out.println(summary);
    out.flush();
  }
}
