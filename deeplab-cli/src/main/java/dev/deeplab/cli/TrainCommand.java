package dev.deeplab.cli;

import dev.deeplab.bench.ClusterTransferBenchmark;
import dev.deeplab.bench.TrainBenchmark;
import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.data.TfRecordDataset;
import dev.deeplab.export.ModelExporter;
import dev.deeplab.export.ModelImporter;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.torch.PyTorchImporter;
import dev.deeplab.internal.torch.TorchNetworks;
import dev.deeplab.internal.train.Devices;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.train.Augmentation;
import dev.deeplab.train.ClusterServer;
import dev.deeplab.train.ClusterSpec;
import dev.deeplab.train.LearningRateSchedule;
import dev.deeplab.train.LossConfig;
import dev.deeplab.train.Optimizer;
import dev.deeplab.train.TrainConfig;
import dev.deeplab.train.TrainResult;
import dev.deeplab.train.Trainer;
import dev.deeplab.train.TrainingDivergedException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab train}: trains or fine-tunes DeepLab on a dataset (PASCAL VOC, Cityscapes or
 * ADE20K layout, or TFRecord shards) with the official recipe ({@code research/deeplab/train.py}); resumes from {@code --checkpoint-dir} when it holds
 * checkpoints.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Train DeepLab on a dataset (--dataset: PASCAL VOC, Cityscapes or ADE20K "
        + "layout; or TFRecord shards) with the official recipe: random scale 0.5-2.0, "
        + "crop, flip; softmax cross-entropy without the ignore label; poly learning rate, "
        + "momentum 0.9.",
        "A --checkpoint-dir that holds checkpoints is resumed exactly where it stopped.",
        "Example: deeplab train --init-from savedmodels/deeplabv3_mnv2_pascal --data VOC2012 "
            + "--steps 2000 --batch-size 8 --crop-size 321 --base-lr 1e-4 "
            + "--no-fine-tune-batch-norm --checkpoint-dir runs/voc",
        "Example: deeplab train --dataset cityscapes --data 'tfrecord/train_fine-*.tfrecord' "
            + "--variant mobilenet_v2 --steps 90000 --batch-size 8 --checkpoint-dir runs/city",
        "Example: deeplab train --init-from deeplabv3_resnet50.pth --arch "
            + "torchvision_deeplabv3_resnet50 --dataset pascal_voc_seg --data VOC2012 --steps 2000 "
            + "--batch-size 8 --base-lr 1e-3 --checkpoint-dir runs/tv_r50 --export savedmodels/tv"})
public final class TrainCommand implements Callable<Integer> {
  @ArgGroup(exclusive = false, heading = "Model (default: from --init-from when it records one)%n")
  ModelOptions model = new ModelOptions();

  /** Training proper, or only a speed measurement. */
  static final class Mode {
    @ArgGroup(exclusive = false, multiplicity = "1")
    Run run;

    @Option(names = "--benchmark", required = true, description = "Only measure training speed "
        + "on random data: prints images/s after warm-up (no dataset, no checkpoints); with "
        + "--cluster also the time of the step's transfers alone.")
    boolean benchmark;
  }

  /** Where a training run reads and writes. */
  static final class Run {
    @Option(names = "--data", required = true, paramLabel = "ROOT|GLOB",
        description = "Dataset root, or TFRecord shards such as 'tfrecord/train-*.tfrecord'.")
    Path data;

    @Option(names = "--checkpoint-dir", required = true, paramLabel = "DIR",
        description = "Checkpoints and TensorBoard events; resumed when it holds checkpoints.")
    Path checkpointDir;
  }

  @ArgGroup(exclusive = true, multiplicity = "1", heading = "Data and checkpoints (or --benchmark):%n")
  Mode mode;

  @Mixin
  DatasetOptions datasetOptions;

  @Option(names = "--labels", paramLabel = "LABELS", converter = LabelSetConverter.class,
      description = LabelSetConverter.DESCRIPTION + " Also sets the ignore label (255; 0 for "
          + "ade20k). Default: those of --dataset, else the labels --init-from records, else "
          + "unnamed classes.")
  LabelSet labels;

  @Option(names = "--split", defaultValue = "train", description = "Training split (default ${DEFAULT-VALUE}).")
  String split;

  @Option(names = "--init-from", paramLabel = "PATH", description = "Initial weights: a SavedModel "
      + "directory, a checkpoint prefix or training directory, a .tflite file, or a PyTorch state "
      + "dict (.pth, .pt, .safetensors) of the network --arch.")
  Path initFrom;

  @Option(names = "--arch", paramLabel = "ARCH", description = "Train a PyTorch network, as "
      + "import --pytorch names it (torchvision_deeplabv3_resnet50, ..., "
      + "vainf_deeplabv3plus_mobilenet), in PyTorch's form (batch norm momentum 0.1, its resizes); "
      + "with --num-classes, --crop-size and, for VainF's, --output-stride 8 or 16; instead of "
      + "--variant/--preset.")
  String arch;

  @Option(names = "--reinitialize", split = ",", paramLabel = "SCOPES",
      description = "Scopes trained from scratch instead of taken from --init-from: name "
          + "prefixes as the official exclusion matches them (logits, aspp, decoder, ...).")
  List<String> reinitialize = List.of();

  @Option(names = "--initialize-last-layer", negatable = true, defaultValue = "true",
      fallbackValue = "true", description = "Take the last layers from --init-from (default). "
          + "--no-initialize-last-layer trains them from scratch, as the official "
          + "initialize_last_layer=false (e.g. for another number of classes).")
  boolean initializeLastLayer;

  @Option(names = "--last-layers-contain-logits-only", description = "The last layers are "
      + "logits only, not the whole head (for --last-layer-gradient-multiplier and "
      + "--no-initialize-last-layer).")
  boolean lastLayersLogitsOnly;

  @Option(names = "--last-layer-gradient-multiplier", defaultValue = "1.0", paramLabel = "M",
      description = "Multiplies the gradients of the last layers (default ${DEFAULT-VALUE}).")
  double lastLayerMultiplier;

  @Option(names = "--steps", required = true, description = "Training steps.")
  int steps;

  @Option(names = "--batch-size", required = true, description = "Global batch size.")
  int batchSize;

  @Option(names = "--base-lr", defaultValue = "0.007", description = "Base learning rate of the poly "
      + "schedule (default ${DEFAULT-VALUE}; 1e-4 to fine-tune).")
  double baseLr;

  @Option(names = "--slow-start-steps", defaultValue = "0",
      description = "Steps at --slow-start-lr before the poly schedule (default 0).")
  int slowStartSteps;

  @Option(names = "--slow-start-lr", defaultValue = "1e-4", description = "Slow-start rate (default ${DEFAULT-VALUE}).")
  double slowStartLr;

  @Option(names = "--slow-start-burnin", defaultValue = "none", paramLabel = "none|linear",
      description = "linear: the slow-start rate rises linearly to --base-lr (default none).")
  String slowStartBurnin;

  @Option(names = "--learning-policy", defaultValue = "poly",
      paramLabel = "poly|step|cosine|multi_steps",
      description = "Learning-rate policy (default ${DEFAULT-VALUE}).")
  String learningPolicy;

  @Option(names = "--learning-power", defaultValue = "0.9",
      description = "Power of the poly policy (default ${DEFAULT-VALUE}).")
  double learningPower;

  @Option(names = "--end-lr", defaultValue = "0", description = "Rate the poly policy ends at "
      + "(default 0).")
  double endLr;

  @Option(names = "--lr-decay-step", defaultValue = "2000",
      description = "Steps per decay of the step policy (default ${DEFAULT-VALUE}).")
  long lrDecayStep;

  @Option(names = "--lr-decay-factor", defaultValue = "0.1",
      description = "Decay factor of the step policy (default ${DEFAULT-VALUE}).")
  double lrDecayFactor;

  @Option(names = "--lr-boundaries", split = ",", paramLabel = "STEPS",
      description = "multi_steps: steps where the rate changes.")
  List<Long> lrBoundaries = List.of();

  @Option(names = "--lr-boundary-rates", split = ",", paramLabel = "RATES",
      description = "multi_steps: the rates, one more than --lr-boundaries.")
  List<Double> lrBoundaryRates = List.of();

  @Option(names = "--optimizer", defaultValue = "momentum", paramLabel = "momentum|adam",
      description = "Optimizer (default ${DEFAULT-VALUE}); adam uses the constant --adam-lr, as "
          + "the official code.")
  String optimizer;

  @Option(names = "--momentum", defaultValue = "0.9", description = "Momentum (default ${DEFAULT-VALUE}).")
  double momentum;

  @Option(names = "--adam-lr", defaultValue = "0.001", description = "Adam's learning rate (default ${DEFAULT-VALUE}).")
  double adamLr;

  @Option(names = "--adam-epsilon", defaultValue = "1e-8", description = "Adam's epsilon (default ${DEFAULT-VALUE}).")
  double adamEpsilon;

  @Option(names = "--min-scale-factor", defaultValue = "0.5",
      description = "Smallest random scale (default ${DEFAULT-VALUE}).")
  double minScale;

  @Option(names = "--max-scale-factor", defaultValue = "2.0",
      description = "Largest random scale (default ${DEFAULT-VALUE}).")
  double maxScale;

  @Option(names = "--scale-factor-step-size", defaultValue = "0.25",
      description = "Step between random scales; 0 for any scale in the range (default ${DEFAULT-VALUE}).")
  double scaleStep;

  @Option(names = "--weight-decay", description = "L2 weight decay (default 4e-5, 1e-4 for ResNet).")
  Double weightDecay;

  @Option(names = "--fine-tune-batch-norm", negatable = true, defaultValue = "true",
      fallbackValue = "true", description = "Train batch norm (default on; use a batch > 12).")
  boolean fineTuneBatchNorm;

  @Option(names = "--top-k-percent-pixels", defaultValue = "1.0",
      description = "Hard-pixel mining: fraction of the hardest pixels kept (default 1 = all).")
  double topK;

  @Option(names = "--hard-example-mining-step", defaultValue = "0",
      description = "Steps to ramp the kept fraction down to --top-k-percent-pixels (default 0).")
  int hardMiningStep;

  @Option(names = "--class-weights", split = ",", paramLabel = "W",
      description = "Per-class loss weights, one per class.")
  List<Double> classWeights = List.of();

  @Option(names = "--checkpoint-every", defaultValue = "1000", description = "Steps between checkpoints (default ${DEFAULT-VALUE}).")
  int checkpointEvery;

  @Option(names = "--keep", defaultValue = "5", description = "Checkpoints kept (default ${DEFAULT-VALUE}).")
  int keep;

  @Option(names = "--eval-every", defaultValue = "0", description = "Steps between evaluations of --eval-split (default: none).")
  int evalEvery;

  @Option(names = "--eval-split", defaultValue = "val", description = "Evaluation split (default ${DEFAULT-VALUE}).")
  String evalSplit;

  @Option(names = "--eval-data", paramLabel = "ROOT|GLOB", description = "Evaluation data when "
      + "it is not the --eval-split of --data, e.g. 'tfrecord/val-*.tfrecord'.")
  Path evalData;

  @Option(names = "--precise-bn", defaultValue = "0", paramLabel = "N",
      description = "Before each evaluation and the final checkpoint, recompute the batch-norm "
          + "moving averages from the last N training batches (default 0: the official slow "
          + "moving averages; helps short runs with --fine-tune-batch-norm).")
  int preciseBn;

  @Option(names = "--image-summaries-every", defaultValue = "0", paramLabel = "K",
      description = "Every K steps, write the first image of the batch, its label and the "
          + "step's prediction (in the label set's colours) to TensorBoard as samples/image, "
          + "samples/label, samples/prediction (default 0: never, as the official "
          + "save_summaries_images=false).")
  int imageSummariesEvery;

  @Option(names = "--devices", paramLabel = "LIST",
      description = "One replica per device, e.g. cpu:0,cpu:1 or gpu:0,gpu:1.")
  String devices;

  @Option(names = "--cluster", paramLabel = "SPEC", description = "Train on a cluster as its "
      + "chief: SPEC is TensorFlow's TF_CONFIG JSON (a file, or 'env' for $TF_CONFIG); one "
      + "replica per --devices entry (default cpu:0) on every task, the workers running "
      + "'deeplab server'. Inputs are read here and fed to the replicas.")
  String cluster;

  @Option(names = "--job", paramLabel = "JOB", description = "With --cluster: this process's "
      + "job (default: the spec's task.type; the chief, or worker 0 without one).")
  String job;

  @Option(names = "--task", paramLabel = "N", description = "With --cluster: this process's "
      + "task index (default: the spec's task.index).")
  Integer task;

  @Option(names = "--wait-for-workers", defaultValue = "120", paramLabel = "SECONDS",
      description = "With --cluster: how long to wait for every task at start-up (default "
          + "${DEFAULT-VALUE}).")
  int waitForWorkers;

  @Option(names = "--seed", defaultValue = "0", description = "Seed of initialisation, data order, "
      + "augmentation and dropout (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--skip-bad-samples", description = "Skip samples that fail to load.")
  boolean skipBadSamples;

  @Option(names = "--workers", description = "Input decoding threads (default: half the cores, at most 4).")
  Integer workers;

  @Option(names = "--export", paramLabel = "DIR", description = "Export the trained model as a new "
      + "SavedModel version under DIR, e.g. savedmodels/mymodel.")
  Path export;


  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    LabelSet classes = labels();
    TrainConfig config = trainConfig(classes);
    ClusterServer chief = clusterSpec() != null ? ClusterServer.start(clusterSpec()) : null;
    if (chief != null) {
      out.println("chief of " + chief.spec().tasks().size() + " tasks, serving on "
          + chief.spec().address() + "; replicas on " + config.devices());
      out.flush();
    }
    if (mode.benchmark) {
      if (chief != null) {
        chief.awaitTasks(java.time.Duration.ofSeconds(waitForWorkers));
      }
      TrainBenchmark.Result r = TrainBenchmark.run(config, 3, config.steps(),
          chief != null ? chief.target() : "");
      out.println(r.describe());
      if (chief != null && chief.spec().tasks().size() > 1) {
        out.println(ClusterTransferBenchmark.run(config, chief.target(), config.steps())
            .describe());
      }
      return 0;
    }
    Path data = mode.run.data;
    Path checkpointDir = mode.run.checkpointDir;
    Trainer.Options options = Trainer.Options.defaults(checkpointDir)
        .withCheckpointEvery(checkpointEvery).withKeep(keep).withEvalEvery(evalEvery)
        .withSkipBadSamples(skipBadSamples).withPreciseBatchNorm(preciseBn).withLabels(classes)
        .withImageSummariesEvery(imageSummariesEvery);
    if (workers != null) {
      options = options.withWorkers(workers);
    }
    SegmentationDataset train = datasetOptions.open(data, split);
    SegmentationDataset eval = evalEvery > 0 ? evalDataset(data) : null;
    Trainer.Init init = initFrom != null
        ? new Trainer.Init(initFrom, reinitialize, initializeLastLayer) : null;
    TrainResult result;
    try {
      Trainer trainer = new Trainer(config, options).reportProgress(Progress.training());
      if (chief != null) {
        trainer.onCluster(chief, java.time.Duration.ofSeconds(waitForWorkers));
      }
      result = trainer.train(train, eval, init);
    } catch (TrainingDivergedException e) {
      throw new UserError(e.getMessage());
    }
    StringBuilder line = new StringBuilder("trained steps " + result.startStep() + ".."
        + result.endStep());
    if (!Float.isNaN(result.lastLoss())) {
      line.append(String.format(Locale.ROOT, ", loss %.4f, %.2f images/s", result.lastLoss(),
          result.imagesPerSecond()));
    }
    result.lastEvaluation().ifPresent(cm -> line.append(String.format(Locale.ROOT,
        ", mIoU %.4f", cm.meanIou())));
    result.lastCheckpoint().ifPresent(p -> line.append(", checkpoint ").append(p));
    out.println(line);
    if (export != null) {
      Path ckpt = result.lastCheckpoint().orElseThrow(
          () -> new UserError("nothing to export: no checkpoint was written"));
      DatasetOptions.Kind kind = datasetOptions.kindOrVoc();
      ModelInfo served = new ModelInfo(exportConfig(config.model(), kind.evalCropHeight,
          kind.evalCropWidth), classes,
          "trained by deeplab train: " + ckpt);
      Path dir = ModelExporter.fromCheckpoint(ckpt, served, export, OptionalLong.empty());
      out.println("exported " + dir);
    }
    return 0;
  }

  /** The evaluation split: --eval-data, else --eval-split of a dataset root. */
  private SegmentationDataset evalDataset(Path data) {
    if (evalData != null) {
      return datasetOptions.open(evalData, evalSplit);
    }
    if (TfRecordDataset.isPattern(data.toString())) {
      throw new UsageError("--eval-every with TFRecord shards needs --eval-data, e.g. "
          + "'tfrecord/val-*.tfrecord'");
    }
    return datasetOptions.open(data, evalSplit);
  }

  /**
   * The training configuration the options describe, with the ignore label of {@code classes};
   * --dataset supplies the official training crop, class count and resize unless given.
   */
  public TrainConfig trainConfig(LabelSet classes) throws IOException {
    DatasetOptions.Kind kind = datasetOptions.kind();
    if (model.cropSize == null && kind != null) {
      model.cropSize = kind.trainCropHeight + "x" + kind.trainCropWidth;
    }
    if (model.cropSize == null) {
      throw new UsageError("--crop-size is required (the official recipe uses 513; "
          + "--dataset sets it)");
    }
    ModelConfig m = modelConfig();
    if (classes.numClasses() != m.numClasses()) {
      throw new UsageError("--labels " + classes.name() + " has " + classes.numClasses()
          + " classes but the model has " + m.numClasses() + " (--num-classes)");
    }
    TrainConfig.Builder b = TrainConfig.builder(m).steps(steps).batchSize(batchSize)
        .learningRate(learningRate())
        .optimizer(optimizer())
        .lastLayerGradientMultiplier(lastLayerMultiplier)
        .lastLayersContainLogitsOnly(lastLayersLogitsOnly)
        .fineTuneBatchNorm(fineTuneBatchNorm)
        .loss(LossConfig.defaults().withIgnoreLabel(classes.ignoreLabel())
            .withClassWeights(classWeights).withHardPixelMining(topK, hardMiningStep))
        .augmentation(new Augmentation(minScale, maxScale, scaleStep, true))
        .devices(clusterSpec() != null ? clusterSpec().replicaDevices(Devices.parse(devices))
            : Devices.parse(devices)).seed(seed).resize(datasetOptions.resize());
    if (weightDecay != null) {
      b.weightDecay(weightDecay);
    }
    return b.build();
  }

  private ClusterSpec clusterSpec;

  /** The cluster of --cluster with this process as its chief, or null without --cluster. */
  private ClusterSpec clusterSpec() throws IOException {
    if (cluster == null) {
      if (job != null || task != null) {
        throw new UsageError("--job and --task need --cluster");
      }
      return null;
    }
    if (clusterSpec == null) {
      ClusterSpec s = ClusterSpec.read(cluster);
      if (job != null || task != null) {
        s = ClusterOptions.spec(cluster, job, task);
      } else if (!s.hasTask()) {
        s = s.withTask(s.chiefJob(), 0);
      }
      if (!s.isChief()) {
        throw new UsageError("task " + s.taskType() + ":" + s.taskIndex() + " is not the chief: "
            + "run 'deeplab server --cluster ...' on it, 'train --cluster' on the chief ("
            + s.chiefJob() + ":0)");
      }
      clusterSpec = s;
    }
    return clusterSpec;
  }

  private LearningRateSchedule learningRate() {
    LearningRateSchedule.Policy policy = switch (learningPolicy.toLowerCase(Locale.ROOT)) {
      case "poly" -> LearningRateSchedule.Policy.POLY;
      case "step" -> LearningRateSchedule.Policy.STEP;
      case "cosine" -> LearningRateSchedule.Policy.COSINE;
      case "multi_steps" -> LearningRateSchedule.Policy.MULTI_STEPS;
      default -> throw new UsageError("--learning-policy must be poly, step, cosine or "
          + "multi_steps, got " + learningPolicy);
    };
    if (!slowStartBurnin.equals("none") && !slowStartBurnin.equals("linear")) {
      throw new UsageError("--slow-start-burnin must be none or linear, got " + slowStartBurnin);
    }
    return LearningRateSchedule.poly(baseLr).withPoly(learningPower, endLr)
        .withStepDecay(lrDecayStep, lrDecayFactor).withBoundaries(lrBoundaries, lrBoundaryRates)
        .withSlowStart(slowStartSteps, slowStartLr, slowStartBurnin.equals("linear"))
        .withPolicy(policy);
  }

  private Optimizer optimizer() {
    return switch (optimizer.toLowerCase(Locale.ROOT)) {
      case "momentum" -> Optimizer.momentum(momentum);
      case "adam" -> Optimizer.adam(adamLr, adamEpsilon);
      default -> throw new UsageError("--optimizer must be momentum or adam, got " + optimizer);
    };
  }

  /**
   * The architecture: --variant/--preset, or the one --init-from records (a SavedModel's model
   * info, a .tflite file's structure) with the user's overrides applied; --dataset sets the
   * class count unless --num-classes does.
   */
  private ModelConfig modelConfig() throws IOException {
    if (model.numClasses == null && datasetOptions.kind() != null) {
      model.numClasses = datasetOptions.kind().labels.numClasses();
    }
    if (arch != null) {
      return torchConfig();
    }
    if (initFrom != null && Files.isRegularFile(initFrom) && PyTorchImporter.isWeightFile(initFrom)) {
      throw new UsageError("--arch is required with a PyTorch --init-from (e.g. --arch "
          + "torchvision_deeplabv3_resnet50)");
    }
    if (model.given() || initFrom == null) {
      return model.toConfig();
    }
    ModelConfig base = recordedConfig(initFrom);
    if (base == null) {
      throw new UserError("--variant (or --preset) is required: " + initFrom
          + " does not record its architecture");
    }
    return model.applyTo(base);
  }

  /** The PyTorch network --arch names, with --num-classes, --output-stride and --crop-size. */
  private ModelConfig torchConfig() {
    if (model.given()) {
      throw new UsageError("give --arch or --variant/--preset, not both");
    }
    if (model.decoder != null || model.atrousRates != null || model.multiGrid != null
        || model.separableAspp != null || model.separableDecoder != null
        || model.depthMultiplier != null) {
      throw new UsageError("--arch takes only --num-classes, --output-stride and --crop-size of "
          + "the model options");
    }
    ModelVariant v;
    try {
      v = ModelVariant.fromName(arch);
    } catch (IllegalArgumentException e) {
      v = null;
    }
    if (v == null || v.family() != ModelVariant.Family.PYTORCH) {
      throw new UsageError("--arch " + arch + " is not a PyTorch network (torchvision_deeplabv3_"
          + "resnet50|torchvision_deeplabv3_resnet101|torchvision_deeplabv3_mobilenet_v3_large|"
          + "torchvision_lraspp_mobilenet_v3_large|vainf_deeplabv3plus_resnet50|"
          + "vainf_deeplabv3plus_resnet101|vainf_deeplabv3plus_mobilenet)");
    }
    int classes = model.numClasses != null ? model.numClasses : 21;
    int[] hw = ModelOptions.parseSize(model.cropSize);
    try {
      ModelConfig c = model.outputStride != null
          ? TorchNetworks.config(v, classes, hw[0], model.outputStride)
          : TorchNetworks.config(v, classes, hw[0]);
      return c.withCropSize(hw[0], hw[1]);
    } catch (IllegalArgumentException e) {
      throw new UsageError(e.getMessage());
    }
  }

  /** The architecture a SavedModel or .tflite file records, or null for a checkpoint. */
  private static ModelConfig recordedConfig(Path source) throws IOException {
    if (Files.isRegularFile(source)
        && source.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".tflite")) {
      return ModelImporter.tflite(source).config();
    }
    ModelInfo info = recordedInfo(source);
    return info == null ? null : info.config();
  }

  /** The model info of a SavedModel of ours, or null for anything else. */
  private static ModelInfo recordedInfo(Path source) {
    if (source == null || !Files.isDirectory(source)
        || Files.exists(source.resolve("checkpoint"))) {
      return null;
    }
    try {
      return SavedModels.readInfo(SavedModels.resolve(source));
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * The class names: --labels, else those --init-from records when the class count is the same,
   * else unnamed.
   */
  private LabelSet labels() throws IOException {
    if (labels != null) {
      return labels;
    }
    if (datasetOptions.labels() != null) {
      return datasetOptions.labels();
    }
    int numClasses = modelConfig().numClasses();
    ModelInfo init = recordedInfo(initFrom);
    if (init != null && init.labels().numClasses() == numClasses) {
      return init.labels();
    }
    return LabelSet.unnamed(numClasses);
  }

  /**
   * The served architecture: the trained one with at least the dataset's official evaluation crop
   * (513x513; 1025x2049 for Cityscapes).
   */
  static ModelConfig exportConfig(ModelConfig trained, int evalCropHeight, int evalCropWidth) {
    if (trained.variant().family() == ModelVariant.Family.PYTORCH) {
      // served at each image's size, up to the side import --pytorch allows
      int side = Math.max(PyTorchImporter.DEFAULT_CROP,
          Math.max(trained.cropHeight(), trained.cropWidth()));
      return trained.withCropSize(side, side);
    }
    return trained.withCropSize(Math.max(evalCropHeight, trained.cropHeight()),
        Math.max(evalCropWidth, trained.cropWidth()));
  }
}
