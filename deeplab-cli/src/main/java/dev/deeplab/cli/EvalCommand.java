package dev.deeplab.cli;

import dev.deeplab.data.VocDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.eval.EvalReport;
import dev.deeplab.eval.Evaluator;
import dev.deeplab.model.ModelInfo;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code deeplab eval}: mean IoU of a model on a VOC-layout dataset split. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"Evaluate a model on a VOC-layout dataset (JPEGImages, SegmentationClass, "
        + "ImageSets/Segmentation/<split>.txt): per-class IoU, pixel accuracy and mIoU.",
        "Example: deeplab eval --data VOCdevkit/VOC2012 --scales 0.5,0.75,1.0,1.25,1.5,1.75 --flip"})
final class EvalCommand implements Callable<Integer> {
  @Option(names = "--model", paramLabel = "DIR",
      description = "SavedModel directory (default: the pretrained model packaged with deeplab).")
  Path model;

  @Option(names = "--data", required = true, paramLabel = "VOCROOT", description = "Dataset root.")
  Path data;

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
    VocDataset dataset = new VocDataset(data, split);
    ConfusionMatrix cm;
    List<String> names;
    try (Evaluator evaluator = Evaluator.open(ModelLocation.orDefault(model),
        scales, flip)) {
      ModelInfo info = evaluator.info();
      names = info.classNames();
      // The label set the model records says which label value is "ignore" (255; 0 for ADE20K).
      int ignore = info.labels().ignoreLabel();
      cm = new ConfusionMatrix(info.config().numClasses(), ignore);
      List<VocDataset.Sample> samples = dataset.samples();
      try (Progress progress = Progress.start("eval", samples.size())) {
        for (VocDataset.Sample s : samples) {
          VocDataset.LoadedSample loaded = dataset.load(s, info.config().numClasses(), ignore);
          cm.add(loaded.label().toIntArray(), evaluator.predict(loaded.image()));
          progress.step();
        }
      }
    }
    out.println(json ? EvalReport.toJson(cm, names) : EvalReport.toText(cm, names).stripTrailing());
    return 0;
  }
}
