package dev.deeplab.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.eval.CheckpointWatcher;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.eval.EvalReport;
import dev.deeplab.eval.Evaluator;
import dev.deeplab.infer.DenseCrf;
import dev.deeplab.infer.Engine;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.train.TrainingRun;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab eval}: mean IoU of a model on a dataset split; of a SavedModel, or of a training
 * run's checkpoints directly, once or as they appear ({@code --watch}, the official {@code
 * eval.py} loop).
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"Evaluate a model on a dataset split (PASCAL VOC, Cityscapes or ADE20K layout, "
        + "or TFRecord shards): per-class IoU, pixel accuracy and mIoU; ignore-label pixels "
        + "(255; 0 for ADE20K) are not scored.",
        "--model takes a SavedModel or a training checkpoint directory (train --checkpoint-dir; "
            + "its newest checkpoint) or a model.ckpt-<step> in one; with --watch every new "
            + "checkpoint of the directory is evaluated as training writes it, and the mIoU "
            + "written to TensorBoard.",
        "Example: deeplab eval --data VOCdevkit/VOC2012 --scales 0.5,0.75,1.0,1.25,1.5,1.75 --flip",
        "Example: deeplab eval --dataset cityscapes --data cityscapes --model savedmodels/city",
        "Example: deeplab eval --model runs/voc --data VOCdevkit/VOC2012 --watch",
        "With --crf the predictions are also refined by DeepLab's fully connected CRF, and mIoU, "
            + "pixel accuracy and the accuracy near label boundaries (trimap) are printed with "
            + "and without it."})
final class EvalCommand implements Callable<Integer> {
  @Option(names = "--model", paramLabel = "DIR",
      description = "SavedModel directory, training checkpoint directory or checkpoint prefix "
          + "(default: the pretrained model packaged with deeplab).")
  Path model;

  @Option(names = "--data", required = true, paramLabel = "ROOT|GLOB",
      description = "Dataset root, or TFRecord shards such as 'tfrecord/val-*.tfrecord'.")
  Path data;

  @Mixin
  DatasetOptions datasetOptions;

  @Option(names = "--split", defaultValue = "val", description = "Split (default ${DEFAULT-VALUE}).")
  String split;

  @Option(names = "--scales", split = ",", defaultValue = "1.0",
      description = "Inference scales, e.g. 0.5,0.75,1.0,1.25,1.5,1.75 (default ${DEFAULT-VALUE}).")
  List<Double> scales;

  @Option(names = "--flip", description = "Also average the left-right flipped prediction.")
  boolean flip;

  @Option(names = "--json", description = "Print the report as JSON (with --watch: one line per "
      + "checkpoint).")
  boolean json;

  @Option(names = "--watch", description = "Evaluate each new checkpoint of the training "
      + "directory --model once, in order, until the final step's checkpoint is evaluated.")
  boolean watch;

  @Option(names = "--interval", paramLabel = "SECONDS", description = "With --watch: seconds "
      + "between looks for new checkpoints (default: the official 300).")
  Double interval;

  @Option(names = "--max-evaluations", paramLabel = "N",
      description = "With --watch: stop after N evaluations (default: no limit).")
  Integer maxEvaluations;

  @Option(names = "--summary-dir", paramLabel = "DIR", description = "With --watch: where the "
      + "TensorBoard event files go (default: eval/ in the checkpoint directory).")
  Path summaryDir;

  @Mixin
  CrfOptions crfOptions;

  @Option(names = "--trimap-band", paramLabel = "PIXELS", defaultValue = "5",
      description = "With --crf: half-width of the band around label boundaries whose pixel "
          + "accuracy is reported (default ${DEFAULT-VALUE}).")
  int trimapBand;

  @Option(names = "--engine", paramLabel = "ENGINE", converter = EngineConverter.class,
      description = "Runtime of the network for single-scale evaluation of a SavedModel: "
          + EngineConverter.DESCRIPTION + " (default: onnxruntime, the faster (BENCHMARKS.md "
          + "§9d), writing the SavedModel as ONNX into the cache on first use; tensorflow with "
          + "--crf, --scales, --flip, a training checkpoint, and for models ONNX Runtime cannot "
          + "run; an .onnx --model runs on onnxruntime).")
  Engine engine;

  @Option(names = "--allow-foreign-model", description = "Evaluate a SavedModel whose graph "
      + "holds operations ours never use (file-system, Python, ...): a model is a program, allow "
      + "this only for a model you trust (README, \"Security\").")
  boolean allowForeignModel;

  @Mixin
  CalibrationOptions calibrationOptions;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    boolean int8 = calibrationOptions.int8();
    SegmentationDataset dataset = datasetOptions.open(data, split);
    boolean checkpoints = model != null && TrainingRun.isRun(model);
    if (!watch && (interval != null || maxEvaluations != null || summaryDir != null)) {
      throw new UsageError("--interval, --max-evaluations and --summary-dir go with --watch");
    }
    DenseCrf crf = crfOptions.crf();
    if (crf != null && watch) {
      throw new UsageError("--crf does not go with --watch");
    }
    if (trimapBand < 1 || trimapBand > 1000) {
      throw new UsageError("--trimap-band must be 1 to 1000 pixels, got " + trimapBand);
    }
    if (checkpoints && (engine != null || allowForeignModel || int8)) {
      throw new UsageError("--engine, --precision int8 and --allow-foreign-model go with a "
          + "SavedModel or .onnx --model, not a training checkpoint");
    }
    if (int8 && engine == Engine.TENSORFLOW) {
      throw new UsageError("--precision int8 runs on --engine onnxruntime, not tensorflow");
    }
    if (int8 && isOnnxFile(model)) {
      throw new UsageError("--precision int8 quantises a SavedModel; " + model + " is an ONNX "
          + "model already (evaluate it without --precision)");
    }
    if (int8 && (watch || crf != null)) {
      throw new UsageError("--precision int8 does not go with --watch or --crf");
    }
    if (watch) {
      if (!checkpoints) {
        throw new UsageError("--watch needs --model to be a training checkpoint directory "
            + "(train --checkpoint-dir)");
      }
      return watch(TrainingRun.open(model), dataset, out);
    }
    Evaluator evaluator;
    if (checkpoints) {
      TrainingRun run = TrainingRun.open(model);
      long step = run.selectedStep();
      if (!json) {
        out.println("checkpoint " + run.checkpoint(step) + " (step " + step + ")");
      }
      evaluator = Evaluator.open(run, step, scales, flip);
    } else if (engine != null || allowForeignModel || int8 || isOnnxFile(model)) {
      if (!scales.equals(List.of(1.0)) || flip) {
        throw new UsageError("--engine, --precision int8 and --allow-foreign-model go with "
            + "single-scale evaluation (multi-scale evaluation rebuilds the network from the "
            + "model's weights on TensorFlow)");
      }
      if (int8) {
        return compareInt8(dataset, out);
      }
      evaluator = Evaluator.open(segmenter(null).build());
    } else if (scales.equals(List.of(1.0)) && !flip && crf == null) {
      evaluator = Evaluator.open(segmenter(null).fastestEngine().build());
    } else {
      evaluator = Evaluator.open(ModelLocation.orDefault(model), scales, flip);
    }
    try (evaluator) {
      List<String> names = labels(evaluator.info()).classNames();
      if (crf != null) {
        if (!evaluator.hasProbabilities()) {
          throw new UserError("--crf needs the model's probabilities; this model has none (a "
              + "wrapped frozen graph)");
        }
        printCrf(evaluateWithCrf(evaluator, dataset, crf), crf, names, out);
      } else {
        ConfusionMatrix cm = evaluate(evaluator, dataset);
        out.println(json ? EvalReport.toJson(cm, names)
            : EvalReport.toText(cm, names).stripTrailing());
      }
    }
    return 0;
  }

  /** The Segmenter options of --model, --engine and --allow-foreign-model. */
  private Segmenter.Builder segmenter(Engine defaultEngine) throws IOException {
    Segmenter.Builder builder = Segmenter.builder().model(ModelLocation.orDefault(model));
    Engine e = engine != null ? engine : defaultEngine;
    if (e != null) {
      builder.engine(e);
    }
    if (allowForeignModel) {
      builder.allowForeignModel();
    }
    return builder;
  }

  /**
   * --precision int8: the int8 model's scores, then next to those of the fp32 model on the same
   * engine (ONNX Runtime), so the accuracy cost of quantisation is read off directly.
   */
  private int compareInt8(SegmentationDataset dataset, PrintWriter out) throws Exception {
    ConfusionMatrix fp32;
    ConfusionMatrix int8;
    List<String> names;
    try (Evaluator e = Evaluator.open(segmenter(Engine.ONNX_RUNTIME).build())) {
      names = labels(e.info()).classNames();
      fp32 = evaluate(e, dataset);
    }
    try (Evaluator e = Evaluator.open(calibrationOptions.build(
        segmenter(Engine.ONNX_RUNTIME), engine))) {
      int8 = evaluate(e, dataset);
    }
    if (json) {
      ObjectNode root = EvalReport.toJsonTree(int8, names);
      root.put("precision", "int8");
      root.putObject("fp32").put("mean_iou", fp32.meanIou())
          .put("pixel_accuracy", fp32.pixelAccuracy());
      out.println(root.toPrettyString());
      return 0;
    }
    out.println("int8 (ONNX Runtime, calibrated on " + String.join(",",
        calibrationOptions.calibration.stream().map(Path::toString).toList()) + "):");
    out.println(EvalReport.toText(int8, names).stripTrailing());
    out.println();
    out.printf(Locale.ROOT, "%-16s %10s %10s %10s%n", "", "fp32", "int8", "int8-fp32");
    out.printf(Locale.ROOT, "%-16s %9.2f%% %9.2f%% %+10.4f%n", "mean IoU", 100 * fp32.meanIou(),
        100 * int8.meanIou(), int8.meanIou() - fp32.meanIou());
    out.printf(Locale.ROOT, "%-16s %9.2f%% %9.2f%% %+10.4f%n", "pixel accuracy",
        100 * fp32.pixelAccuracy(), 100 * int8.pixelAccuracy(),
        int8.pixelAccuracy() - fp32.pixelAccuracy());
    return 0;
  }

  private Evaluator.CrfComparison evaluateWithCrf(Evaluator evaluator,
      SegmentationDataset dataset, DenseCrf crf) throws Exception {
    LabelSet labels = labels(evaluator.info());
    try (Progress progress = Progress.start("eval", dataset.samples().size())) {
      return evaluator.evaluateWithCrf(dataset, labels, datasetOptions.resize(), crf, trimapBand,
          progress::step);
    }
  }

  /** The CRF's report, then its scores against the plain prediction's. */
  private void printCrf(Evaluator.CrfComparison c, DenseCrf crf, List<String> names,
      PrintWriter out) {
    DenseCrf.Settings s = crf.settings();
    if (json) {
      ObjectNode root = EvalReport.toJsonTree(c.refined(), names);
      ObjectNode settings = root.putObject("crf");
      settings.put("iterations", s.iterations()).put("appearance_weight", s.appearanceWeight())
          .put("appearance_xy_std", s.appearanceXyStd())
          .put("appearance_rgb_std", s.appearanceRgbStd())
          .put("smoothness_weight", s.smoothnessWeight())
          .put("smoothness_xy_std", s.smoothnessXyStd());
      root.put("trimap_band", trimapBand).put("trimap_pixels", c.refinedTrimap().pixels())
          .put("trimap_accuracy", c.refinedTrimap().accuracy());
      root.putObject("without_crf").put("mean_iou", c.plain().meanIou())
          .put("pixel_accuracy", c.plain().pixelAccuracy())
          .put("trimap_accuracy", c.plainTrimap().accuracy());
      out.println(root.toPrettyString());
      return;
    }
    out.println("with the CRF (" + s.iterations() + " iterations, appearance "
        + s.appearanceWeight() + "," + s.appearanceXyStd() + "," + s.appearanceRgbStd()
        + ", smoothness " + s.smoothnessWeight() + "," + s.smoothnessXyStd() + "):");
    out.println(EvalReport.toText(c.refined(), names).stripTrailing());
    out.println();
    out.printf(Locale.ROOT, "%-40s %12s %12s%n", "", "without CRF", "with CRF");
    out.printf(Locale.ROOT, "%-40s %11.2f%% %11.2f%%%n", "mean IoU", 100 * c.plain().meanIou(),
        100 * c.refined().meanIou());
    out.printf(Locale.ROOT, "%-40s %11.2f%% %11.2f%%%n", "pixel accuracy",
        100 * c.plain().pixelAccuracy(), 100 * c.refined().pixelAccuracy());
    out.printf(Locale.ROOT, "%-40s %11.2f%% %11.2f%%%n", "trimap accuracy (" + trimapBand
        + " px band, " + c.plainTrimap().pixels() + " pixels)",
        100 * c.plainTrimap().accuracy(), 100 * c.refinedTrimap().accuracy());
  }

  /**
   * The classes scored: --dataset's, else the label set the model records; they say which label
   * value is "ignore" (255; 0 for ADE20K).
   */
  private LabelSet labels(ModelInfo info) {
    LabelSet labels = datasetOptions.labels() != null ? datasetOptions.labels() : info.labels();
    if (labels.numClasses() != info.config().numClasses()) {
      throw new UserError("--dataset " + datasetOptions.dataset + " has " + labels.numClasses()
          + " classes but the model predicts " + info.config().numClasses());
    }
    return labels;
  }

  private ConfusionMatrix evaluate(Evaluator evaluator, SegmentationDataset dataset)
      throws Exception {
    LabelSet labels = labels(evaluator.info());
    try (Progress progress = Progress.start("eval", dataset.samples().size())) {
      return evaluator.evaluate(dataset, labels, datasetOptions.resize(), progress::step);
    }
  }

  private int watch(TrainingRun run, SegmentationDataset dataset, PrintWriter out)
      throws Exception {
    if (run.namedStep().isPresent()) {
      throw new UsageError("--watch takes the checkpoint directory " + run.directory()
          + ", not one checkpoint");
    }
    CheckpointWatcher.Options options = CheckpointWatcher.Options.defaults(run)
        .withScales(scales, flip).withResize(datasetOptions.resize());
    if (interval != null) {
      if (!(interval >= 1e-3) || interval > Duration.ofDays(365).toSeconds()) {
        throw new UsageError("--interval must be between 0.001 and a year of seconds, got "
            + interval);
      }
      options = options.withInterval(Duration.ofNanos(Math.round(interval * 1e9)));
    }
    if (maxEvaluations != null) {
      if (maxEvaluations < 1) {
        throw new UsageError("--max-evaluations must be at least 1, got " + maxEvaluations);
      }
      options = options.withMaxEvaluations(maxEvaluations);
    }
    if (summaryDir != null) {
      options = options.withSummaryDir(summaryDir);
    }
    List<String> names = run.labels().classNames();
    new CheckpointWatcher(run, dataset, options).run(e -> {
      if (json) {
        ObjectNode report = EvalReport.toJsonTree(e.matrix(), names);
        ObjectNode line = report.objectNode().put("step", e.step())
            .put("checkpoint", e.checkpoint().toString());
        line.setAll(report);
        out.println(line);
      } else {
        out.println("checkpoint " + e.checkpoint() + " (step " + e.step() + ")");
        out.println(EvalReport.toText(e.matrix(), names).stripTrailing());
      }
      out.flush();
    });
    return 0;
  }

  private static boolean isOnnxFile(Path model) {
    return model != null && model.getFileName() != null
        && model.getFileName().toString().endsWith(".onnx") && Files.isRegularFile(model);
  }
}
