package dev.deeplab.cli;

import dev.deeplab.export.ModelExporter;
import dev.deeplab.export.OnnxExporter;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ServingOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab export}: a servable SavedModel version from a training checkpoint (model
 * variables only) or from one of our SavedModels (a new version of it).
 */
@Command(name = "export", sortOptions = false,
    description = {"Export a SavedModel for TF Serving (<output>/<version>/, next free version "
        + "by default, written atomically): a clean inference graph (batch norm in inference "
        + "mode, no loss, no optimizer) with the serving signatures (README, \"Serving\").",
        "  --checkpoint: a training checkpoint (ours or official); only the model's variables "
            + "are restored, by name (optimizer slots and global_step are left out).",
        "  --model: one of our SavedModels, rebuilt from its recorded configuration.",
        "Examples:",
        "  deeplab export --checkpoint train/model.ckpt-30000 --preset mobilenetv2_coco_voc "
            + "--labels pascal_voc -o savedmodels/my_model",
        "  deeplab export --model savedmodels/deeplabv3_mnv2_pascal "
            + "-o savedmodels/deeplabv3_mnv2_pascal --model-version 1733097600",
        "  deeplab export --model savedmodels/xception65_voc --inference-scales "
            + "0.5,0.75,1.0,1.25,1.5,1.75 --flip -o savedmodels/xception65_voc_ms",
        "  deeplab export --format onnx --model savedmodels/deeplabv3_mnv2_pascal "
            + "-o deeplabv3_mnv2_pascal.onnx",
        "  deeplab export --format onnx --model savedmodels/deeplabv3_mnv2_pascal "
            + "--precision int8 --calibration photos/ -o deeplabv3_mnv2_pascal_int8.onnx"})
final class ExportCommand implements Callable<Integer> {
  /** Exactly one source. */
  static final class Source {
    @Option(names = "--checkpoint", required = true, paramLabel = "PREFIX",
        description = "A training checkpoint: prefix, its .index file, or a directory with a "
            + "'checkpoint' state file (the newest is taken).")
    Path checkpoint;

    @Option(names = "--model", required = true, paramLabel = "DIR",
        description = "One of our SavedModels (a version directory or its base).")
    Path model;
  }

  @ArgGroup(exclusive = true, multiplicity = "1", heading = "Source (one of):%n")
  Source source;

  @ArgGroup(exclusive = false, heading = "Architecture (with --checkpoint):%n")
  ModelOptions architecture = new ModelOptions();

  @Option(names = "--labels", paramLabel = "LABELS", converter = LabelSetConverter.class,
      description = "With --checkpoint: " + LabelSetConverter.DESCRIPTION)
  LabelSet labels;

  @Mixin
  ServingOptionsMixin serving = new ServingOptionsMixin();

  @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "savedmodel",
      description = "savedmodel (default: a TF Serving version directory under --output) or onnx "
          + "(with --model: the single-scale model as one ONNX file at --output, batch norm folded "
          + "into the convolutions, for ONNX Runtime; README, \"ONNX\").")
  String format;

  @Option(names = "--probabilities", description = "With --format onnx: also write the "
      + "'probabilities' output. ONNX Runtime computes every output of a model on every run, so "
      + "this makes class ids slower: write two files if you need both.")
  boolean probabilities;

  @Option(names = "--fold-batch-norm", negatable = true,
      description = "With --format savedmodel: the weights built into the graph as constants, "
          + "batch norm folded into them at export, so that no run computes anything on the "
          + "weights; the same outputs. Default: off (6-13% faster under oneDNN, 0-5% under "
          + "TF Java's kernels, but three times the peak memory of large models when loaded and "
          + "twice the size; BENCHMARKS.md 2j). The checkpoint keeps the official "
          + "variables either way, for every tool that reads them by name.")
  Boolean foldBatchNorm;

  @Mixin
  VersionedOutput target = new VersionedOutput();

  @Mixin
  CalibrationOptions calibrationOptions = new CalibrationOptions();

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    target.version(); // a bad --model-version is a command-line mistake: report it first
    PrintWriter out = spec.commandLine().getOut();
    switch (format.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "savedmodel" -> {
        if (foldBatchNorm == null) {
          foldBatchNorm = ModelExporter.FOLD_BATCH_NORM_BY_DEFAULT;
        }
        if (probabilities || calibrationOptions.int8()) {
          throw new UsageError("--probabilities and --precision int8 go with --format onnx "
              + "(TF Serving SavedModels stay fp32)");
        }
      }
      case "onnx" -> {
        return onnx(out);
      }
      default -> throw new UsageError("--format must be savedmodel or onnx, got '" + format + "'");
    }
    if (source.checkpoint != null) {
      ModelConfig config = architecture.toConfig();
      ModelInfo info = new ModelInfo(config,
          labels != null ? labels : LabelSet.unnamed(config.numClasses()),
          "checkpoint:" + source.checkpoint.getFileName(),
          serving.applyTo(ServingOptions.defaults()));
      Path dir = ModelExporter.fromCheckpoint(source.checkpoint, info, target.output,
          target.version(), foldBatchNorm);
      out.printf("exported %s from %s%s%n", ImportCommand.describe(config), source.checkpoint,
          describe(info.serving()));
      out.printf("wrote %s%n", dir);
      return 0;
    }
    if (architecture.given() || architecture.hasOverrides() || labels != null) {
      throw new UsageError("--model takes no architecture or --labels options: the model "
          + "records them");
    }
    Path from = SavedModels.resolve(source.model);
    ModelInfo info = SavedModels.readInfo(from);
    ServingOptions options = serving.applyTo(info.serving());
    Path dir = ModelExporter.reexport(from, target.output, target.version(), options,
        foldBatchNorm);
    out.printf("re-exported %s (%s, from %s)%s as %s%n", from,
        ImportCommand.describe(info.config()), info.source(), describe(options), dir);
    return 0;
  }

  private int onnx(PrintWriter out) throws Exception {
    if (source.model == null) {
      throw new UsageError("--format onnx exports one of our SavedModels (--model): export the "
          + "checkpoint as a SavedModel first");
    }
    if (target.version != null || architecture.given() || architecture.hasOverrides()
        || labels != null || serving.given() || foldBatchNorm != null) {
      throw new UsageError("--format onnx takes --model, --output FILE.onnx, --probabilities, "
          + "--precision and --calibration only (its batch norm is always folded)");
    }
    Path from = SavedModels.resolve(source.model);
    if (calibrationOptions.int8()) {
      OnnxExporter.Int8Export e;
      try (CalibrationOptions.Listener progress = new CalibrationOptions.Listener()) {
        e = OnnxExporter.exportInt8(from, target.output, calibrationOptions.calibration,
            probabilities, progress);
      }
      out.printf("wrote %s (ONNX opset 17, %s, int8: %d convolutions with per-channel weights, "
          + "%d activations calibrated on %d images%s)%n", target.output,
          ImportCommand.describe(SavedModels.readInfo(from).config()), e.convolutions(),
          e.activations(), e.calibrationImages(), probabilities ? ", with probabilities" : "");
      out.println("measure its accuracy: deeplab eval --data DATASET --model " + from
          + " --precision int8 --calibration " + String.join(",",
              calibrationOptions.calibration.stream().map(Path::toString).toList()));
      return 0;
    }
    int folded = OnnxExporter.export(from, target.output, probabilities);
    out.printf("wrote %s (ONNX opset 17, %s, %d batch norms folded into convolutions%s)%n",
        target.output, ImportCommand.describe(SavedModels.readInfo(from).config()), folded,
        probabilities ? ", with probabilities" : "");
    return 0;
  }

  /** E.g. {@code , inference scales [0.5, 1.0] and flipped}, or nothing for one scale. */
  static String describe(ServingOptions o) {
    return o.singleScale() ? "" : ", inference scales " + o.inferenceScales()
        + (o.flip() ? " and flipped" : "");
  }
}
