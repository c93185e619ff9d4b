package dev.deeplab.cli;

import dev.deeplab.export.ModelExporter;
import dev.deeplab.export.ModelInfo;
import dev.deeplab.export.SavedModels;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab export}: writes a servable SavedModel version from a training checkpoint (model
 * variables only) or from one of our SavedModels (a new version of it).
 */
@Command(name = "export", sortOptions = false,
    description = {"Export a SavedModel for TF Serving (<output>/<version>/, next free version "
        + "by default, written atomically): a clean inference graph (batch norm in inference "
        + "mode, no loss, no optimizer) with signatures serving_default (images uint8 "
        + "[b,h,w,3] -> semantic, probabilities) and predict_image_bytes.",
        "  --checkpoint: a training checkpoint (ours or official); only the model's variables "
            + "are restored, by name (optimizer slots and global_step are left out).",
        "  --model: one of our SavedModels, rebuilt from its recorded configuration.",
        "Examples:",
        "  deeplab export --checkpoint train/model.ckpt-30000 --preset mobilenetv2_coco_voc "
            + "--output savedmodels/my_model",
        "  deeplab export --model savedmodels/deeplabv3_mnv2_pascal "
            + "--output savedmodels/deeplabv3_mnv2_pascal"})
final class ExportCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", paramLabel = "PREFIX",
      description = "A training checkpoint: prefix, its .index file, or a directory with a "
          + "'checkpoint' state file (the newest is taken).")
  Path checkpoint;

  @Option(names = "--model", paramLabel = "DIR",
      description = "One of our SavedModels (a version directory or its base).")
  Path model;

  @ArgGroup(exclusive = false, heading = "Architecture (with --checkpoint):%n")
  ModelOptions architecture = new ModelOptions();

  @Option(names = "--labels", paramLabel = "NAME",
      description = "With --checkpoint: label set for class names (pascal_voc, cityscapes, "
          + "ade20k; default: the built-in set with the model's class count).")
  String labels;

  @Mixin
  VersionedOutput target = new VersionedOutput();

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if ((checkpoint == null) == (model == null)) {
      throw new UserError("give either --checkpoint (with --variant or --preset) or --model");
    }
    PrintWriter out = spec.commandLine().getOut();
    OptionalInt v = target.version();
    Path output = target.output;
    if (checkpoint != null) {
      ImportCommand.importCheckpoint(checkpoint, architecture, List.of(), labels, output, v, out);
      return 0;
    }
    if (architecture.given() || architecture.numClasses != null || labels != null) {
      throw new UserError("--model takes no architecture or --labels options: the model "
          + "records them");
    }
    Path from = SavedModels.resolve(model);
    ModelInfo info = SavedModels.readInfo(from);
    Path dir = ModelExporter.reexport(from, output, v);
    out.printf("re-exported %s (%s, from %s) as %s%n", from,
        ImportCommand.describe(info.config()), info.source(), dir);
    return 0;
  }
}
