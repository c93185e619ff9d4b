package dev.deeplab.cli;

import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.eval.EvalReport;
import dev.deeplab.eval.Evaluator;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code deeplab eval}: mean IoU of a model on a dataset split. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"Evaluate a model on a dataset split (PASCAL VOC, Cityscapes or ADE20K layout, "
        + "or TFRecord shards): per-class IoU, pixel accuracy and mIoU; ignore-label pixels "
        + "(255; 0 for ADE20K) are not scored.",
        "Example: deeplab eval --data VOCdevkit/VOC2012 --scales 0.5,0.75,1.0,1.25,1.5,1.75 --flip",
        "Example: deeplab eval --dataset cityscapes --data cityscapes --model savedmodels/city"})
final class EvalCommand implements Callable<Integer> {
  @Option(names = "--model", paramLabel = "DIR",
      description = "SavedModel directory (default: the pretrained model packaged with deeplab).")
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

  @Option(names = "--json", description = "Print the report as JSON.")
  boolean json;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    SegmentationDataset dataset = datasetOptions.open(data, split);
    ResizeToRange resize = datasetOptions.resize();
    ConfusionMatrix cm;
    List<String> names;
    try (Evaluator evaluator = Evaluator.open(ModelLocation.orDefault(model),
        scales, flip)) {
      ModelInfo info = evaluator.info();
      int numClasses = info.config().numClasses();
      // --dataset, else the label set the model records, says which label value is "ignore"
      // (255; 0 for ADE20K).
      LabelSet labels = datasetOptions.labels() != null ? datasetOptions.labels() : info.labels();
      if (labels.numClasses() != numClasses) {
        throw new UserError("--dataset " + datasetOptions.dataset + " has "
            + labels.numClasses() + " classes but the model"
            + " predicts " + numClasses);
      }
      names = labels.classNames();
      cm = new ConfusionMatrix(numClasses, labels.ignoreLabel());
      List<? extends SegmentationDataset.Sample> samples = dataset.samples();
      try (Progress progress = Progress.start("eval", samples.size())) {
        for (SegmentationDataset.Sample s : samples) {
          SegmentationDataset.LoadedSample loaded = dataset.load(s, numClasses,
              labels.ignoreLabel());
          cm.add(loaded.label().toIntArray(), evaluator.predict(loaded.image(), resize));
          progress.step();
        }
      }
    }
    out.println(json ? EvalReport.toJson(cm, names) : EvalReport.toText(cm, names).stripTrailing());
    return 0;
  }
}
