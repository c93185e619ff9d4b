package dev.deeplab.cli;

import dev.deeplab.export.ModelExporter;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
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
            + "-o savedmodels/deeplabv3_mnv2_pascal --model-version 1733097600"})
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
  VersionedOutput target = new VersionedOutput();

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    target.version(); // a bad --model-version is a command-line mistake: report it first
    PrintWriter out = spec.commandLine().getOut();
    if (source.checkpoint != null) {
      ImportCommand.importCheckpoint(source.checkpoint, architecture.toConfig(), List.of(),
          labels, target, out);
      return 0;
    }
    if (architecture.given() || architecture.hasOverrides() || labels != null) {
      throw new UsageError("--model takes no architecture or --labels options: the model "
          + "records them");
    }
    Path from = SavedModels.resolve(source.model);
    ModelInfo info = SavedModels.readInfo(from);
    Path dir = ModelExporter.reexport(from, target.output, target.version());
    out.printf("re-exported %s (%s, from %s) as %s%n", from,
        ImportCommand.describe(info.config()), info.source(), dir);
    return 0;
  }
}
