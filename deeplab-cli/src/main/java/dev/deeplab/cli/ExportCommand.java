package dev.deeplab.cli;

import dev.deeplab.export.ModelExporter;
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
            + "0.5,0.75,1.0,1.25,1.5,1.75 --flip -o savedmodels/xception65_voc_ms"})
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

  @Mixin
  VersionedOutput target = new VersionedOutput();

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    target.version(); // a bad --model-version is a command-line mistake: report it first
    PrintWriter out = spec.commandLine().getOut();
    if (source.checkpoint != null) {
      ModelConfig config = architecture.toConfig();
      ModelInfo info = new ModelInfo(config,
          labels != null ? labels : LabelSet.unnamed(config.numClasses()),
          "checkpoint:" + source.checkpoint.getFileName(),
          serving.applyTo(ServingOptions.defaults()));
      Path dir = ModelExporter.fromCheckpoint(source.checkpoint, info, target.output,
          target.version());
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
    Path dir = ModelExporter.reexport(from, target.output, target.version(), options);
    out.printf("re-exported %s (%s, from %s)%s as %s%n", from,
        ImportCommand.describe(info.config()), info.source(), describe(options), dir);
    return 0;
  }

  /** E.g. {@code , inference scales [0.5, 1.0] and flipped}, or nothing for one scale. */
  static String describe(ServingOptions o) {
    return o.singleScale() ? "" : ", inference scales " + o.inferenceScales()
        + (o.flip() ? " and flipped" : "");
  }
}
