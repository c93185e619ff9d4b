package dev.deeplab.train;

import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.torch.PyTorchImporter;
import dev.deeplab.internal.train.CheckpointManager;
import dev.deeplab.internal.train.InitialWeights;
import dev.deeplab.internal.train.InputPipeline;
import dev.deeplab.internal.train.SampleImages;
import dev.deeplab.internal.train.TensorBoardWriter;
import dev.deeplab.internal.train.TrainingEvaluator;
import dev.deeplab.internal.train.TrainingGraph;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tensorflow.exceptions.TensorFlowException;

/**
 * The training loop of the official {@code train.py}, resumable: builds the {@link
 * TrainingGraph} once, restores the newest checkpoint of the run (or loads the initial weights),
 * then feeds batches from the {@link InputPipeline} step after step, with progress, TensorBoard
 * scalars ({@code loss}, {@code learning_rate}, {@code miou}, {@code pixel_accuracy}) and
 * optionally images ({@link Options#imageSummariesEvery}), evaluation
 * and atomic checkpoints every few steps and at the end.
 *
 * <p>Resuming restores every variable including {@code global_step} and the momentum slots; the
 * learning rate is a function of {@code global_step}, the input order and augmentation and the
 * dropout masks are functions of {@code (seed, step)}: a resumed run continues exactly as an
 * uninterrupted one.
 *
 * <p>A NaN, infinite or exploding loss stops training with {@link TrainingDivergedException}
 * without writing a checkpoint, so the newest one stays the last good state.
 *
 * <p>Not thread-safe: one {@link #train} at a time per instance (and per checkpoint directory).
 */
public final class Trainer {
  private static final Logger LOG = LoggerFactory.getLogger("deeplab.train");

  /**
   * Loop settings, which do not change the numbers.
   *
   * @param checkpointDir where checkpoints and TensorBoard events go; a run resumes from it
   * @param checkpointEvery save every this many steps (and at the end); 0 only at the end
   * @param keepCheckpoints how many newest checkpoints to keep
   * @param evalEvery evaluate every this many steps (and at the end) when an evaluation split is
   *     given; 0 never
   * @param untilStep stop at this step (checkpointing) instead of the configured total; 0 for the
   *     total
   * @param skipBadSamples skip samples that fail to load instead of stopping
   * @param workers input decoding threads
   * @param maxLoss a loss above this counts as exploded
   * @param summaryEvery write loss and learning rate to TensorBoard every this many steps
   * @param preciseBatchNorm when above 0 and batch norm is trained, the moving averages are
   *     recomputed from this many recent training batches before each evaluation and the final
   *     checkpoint ({@link TrainingGraph#recalibrateBatchNorm}); 0 keeps the official moving
   *     averages
   * @param labels the class names and colours of the run, recorded with its checkpoints ({@link
   *     TrainingRun#labels}) and used by the image summaries; null for unnamed classes with the
   *     loss's ignore label
   * @param imageSummariesEvery write the first image of the batch, its label and the step's
   *     prediction to TensorBoard ({@code samples/image}, {@code samples/label}, {@code
   *     samples/prediction}) every this many steps; 0 never (the default, as the official {@code
   *     save_summaries_images=False}: each adds three crop-sized PNGs to the event file)
   */
  public record Options(Path checkpointDir, int checkpointEvery, int keepCheckpoints,
      int evalEvery, long untilStep, boolean skipBadSamples, int workers, double maxLoss,
      int summaryEvery, int preciseBatchNorm, LabelSet labels, int imageSummariesEvery) {

    /** Validates the ranges. */
    public Options {
      if (checkpointEvery < 0 || evalEvery < 0 || untilStep < 0) {
        throw new IllegalArgumentException("checkpoint/eval intervals and until-step must be >= 0");
      }
      if (keepCheckpoints < 1) {
        throw new IllegalArgumentException("--keep must be at least 1, got " + keepCheckpoints);
      }
      if (preciseBatchNorm < 0) {
        throw new IllegalArgumentException("precise BN batches must be >= 0");
      }
      if (imageSummariesEvery < 0) {
        throw new IllegalArgumentException("the image summary interval must be >= 0, got "
            + imageSummariesEvery);
      }
      if (workers < 1 || summaryEvery < 1 || !(maxLoss > 0)) {
        throw new IllegalArgumentException("workers, summary interval and max loss must be positive");
      }
    }

    /**
     * Defaults: checkpoint every 1000 steps keeping 5, no evaluation, up to 4 input threads (half
     * the cores), loss limit 1e4, summaries every 10 steps.
     */
    public static Options defaults(Path checkpointDir) {
      int workers = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() / 2));
      return new Options(checkpointDir, 1000, 5, 0, 0, false, workers, 1e4, 10, 0, null, 0);
    }

    public Options withCheckpointEvery(int k) {
      return new Options(checkpointDir, k, keepCheckpoints, evalEvery, untilStep, skipBadSamples,
          workers, maxLoss, summaryEvery, preciseBatchNorm, labels, imageSummariesEvery);
    }

    public Options withKeep(int n) {
      return new Options(checkpointDir, checkpointEvery, n, evalEvery, untilStep, skipBadSamples,
          workers, maxLoss, summaryEvery, preciseBatchNorm, labels, imageSummariesEvery);
    }

    public Options withEvalEvery(int k) {
      return new Options(checkpointDir, checkpointEvery, keepCheckpoints, k, untilStep,
          skipBadSamples, workers, maxLoss, summaryEvery, preciseBatchNorm,
          labels, imageSummariesEvery);
    }

    public Options withUntilStep(long s) {
      return new Options(checkpointDir, checkpointEvery, keepCheckpoints, evalEvery, s,
          skipBadSamples, workers, maxLoss, summaryEvery, preciseBatchNorm,
          labels, imageSummariesEvery);
    }

    public Options withSkipBadSamples(boolean skip) {
      return new Options(checkpointDir, checkpointEvery, keepCheckpoints, evalEvery, untilStep,
          skip, workers, maxLoss, summaryEvery, preciseBatchNorm, labels, imageSummariesEvery);
    }

    public Options withWorkers(int n) {
      return new Options(checkpointDir, checkpointEvery, keepCheckpoints, evalEvery, untilStep,
          skipBadSamples, n, maxLoss, summaryEvery, preciseBatchNorm, labels, imageSummariesEvery);
    }

    public Options withPreciseBatchNorm(int batches) {
      return new Options(checkpointDir, checkpointEvery, keepCheckpoints, evalEvery, untilStep,
          skipBadSamples, workers, maxLoss, summaryEvery, batches, labels, imageSummariesEvery);
    }

    public Options withLabels(LabelSet set) {
      return new Options(checkpointDir, checkpointEvery, keepCheckpoints, evalEvery, untilStep,
          skipBadSamples, workers, maxLoss, summaryEvery, preciseBatchNorm,
          set, imageSummariesEvery);
    }

    public Options withImageSummariesEvery(int k) {
      return new Options(checkpointDir, checkpointEvery, keepCheckpoints, evalEvery, untilStep,
          skipBadSamples, workers, maxLoss, summaryEvery, preciseBatchNorm, labels, k);
    }

    public Options withMaxLoss(double limit) {
      return new Options(checkpointDir, checkpointEvery, keepCheckpoints, evalEvery, untilStep,
          skipBadSamples, workers, limit, summaryEvery, preciseBatchNorm,
          labels, imageSummariesEvery);
    }
  }

  /**
   * Weights to start from when the run has no checkpoint yet.
   *
   * @param source SavedModel directory, checkpoint prefix or directory, or {@code .tflite} file
   * @param reinitialize scopes to train from scratch: variable-name prefixes as the official
   *     exclusion matches them (e.g. {@code logits}, {@code aspp}); each must match a variable
   * @param initializeLastLayer false to also train the last layers ({@link
   *     TrainConfig#lastLayers}) from scratch, as the official {@code initialize_last_layer}
   */
  public record Init(Path source, List<String> reinitialize, boolean initializeLastLayer) {
    public Init {
      reinitialize = List.copyOf(reinitialize);
    }

    /** Initial weights from {@code source}, the last layers included. */
    public Init(Path source, List<String> reinitialize) {
      this(source, reinitialize, true);
    }
  }

  /** Called after every step, on the training thread (for tests). */
  @FunctionalInterface
  interface StepListener {
    void afterStep(TrainingGraph graph, TrainingGraph.StepResult result);
  }

  private final TrainConfig config;
  private final Options options;
  private ClusterServer cluster;
  private Duration startupTimeout;
  private StepListener listener = (g, r) -> {};
  private TrainingProgress progress = TrainingProgress.log(java.time.Duration.ofSeconds(10));

  public Trainer(TrainConfig config, Options options) {
    this.config = config;
    this.options = options;
  }

  /**
   * Refuses to train on the CPU with TF's oneDNN kernels, whose convolution gradients are wrong in
   * TF 2.18 on AVX-512 machines (see {@code BuildingBlockGradientTest#wideOneByOneConvChain}):
   * {@code TF_ENABLE_ONEDNN_OPTS=0} must be set before the JVM starts ({@code tools/deeplab train}
   * does). The system property {@code deeplab.allowOneDnnTraining=true} overrides the check.
   */
  static void requireCorrectCpuGradients(java.util.List<String> devices) {
    requireCorrectCpuGradients(devices, System.getenv("TF_ENABLE_ONEDNN_OPTS"));
  }

  static void requireCorrectCpuGradients(java.util.List<String> devices, String oneDnnOpts) {
    boolean cpu = devices.isEmpty() || devices.stream().anyMatch(d -> d.contains("CPU"));
    if (cpu && !"0".equals(oneDnnOpts)
        && !Boolean.getBoolean("deeplab.allowOneDnnTraining")) {
      throw new IllegalArgumentException("training on the CPU needs TF_ENABLE_ONEDNN_OPTS=0 in the "
          + "environment (oneDNN's conv gradients are wrong in TF 2.18 on this CPU class); "
          + "tools/deeplab train sets it");
    }
  }

  /**
   * Reports progress to {@code p} instead of the default SLF4J lines every 10 seconds; {@code p}
   * is closed when training ends.
   */
  public Trainer reportProgress(TrainingProgress p) {
    this.progress = java.util.Objects.requireNonNull(p);
    return this;
  }

  /**
   * Trains on a cluster, as its chief: the session runs through {@code chief} (this process's
   * started server), whose spec's tasks the {@link TrainConfig#devices} name ({@link
   * ClusterSpec#replicaDevices}). Before building the graph, training waits up to {@code
   * startupTimeout} for every task to accept connections; a task that does not, or that stops
   * answering later, ends training with a {@link ClusterException} naming it (after the last
   * complete checkpoint: running again resumes from it).
   */
  public Trainer onCluster(ClusterServer chief, Duration startupTimeout) {
    if (!chief.spec().isChief()) {
      throw new IllegalArgumentException("this process is " + chief.spec().taskType() + ":"
          + chief.spec().taskIndex() + ", not the chief of the cluster");
    }
    this.cluster = chief;
    this.startupTimeout = startupTimeout;
    return this;
  }

  /** Sets a listener called after each step. */
  Trainer onStep(StepListener l) {
    this.listener = l;
    return this;
  }

  /**
   * Trains (or resumes training) until the configured number of steps or {@code untilStep}.
   *
   * @param train the training split, in any layout ({@link SegmentationDataset})
   * @param eval the evaluation split, or null
   * @param init initial weights for a new run, or null to start from the initialisers
   * @throws IOException a bad checkpoint directory, dataset or initial-weights source, with a
   *     one-line message, before training starts; a failed checkpoint write or a bad sample later
   * @throws TrainingDivergedException if the loss becomes NaN, infinite or exceeds the limit
   * @throws ClusterException on a cluster ({@link #onCluster}), if a task does not answer at
   *     start-up or stops answering
   */
  public TrainResult train(SegmentationDataset train, SegmentationDataset eval, Init init)
      throws IOException, InterruptedException {
    requireCorrectCpuGradients(config.devices());
    CheckpointManager checkpoints =
        new CheckpointManager(options.checkpointDir(), options.keepCheckpoints());
    checkpoints.prepare();
    OptionalLong resumeFrom = checkpoints.latestStep();
    recordConfig(resumeFrom.isPresent());
    recordModelInfo();
    if (init != null && resumeFrom.isEmpty()) {
      InitialWeights.checkExists(init.source());
      if (isPytorchFile(init.source())
          && config.model().variant().family() != ModelVariant.Family.PYTORCH) {
        throw new IllegalArgumentException("--init-from " + init.source() + " is a PyTorch file: "
            + "train one of the PyTorch networks (--arch), not " + config.model().variant());
      }
    }
    long until = options.untilStep() > 0 ? Math.min(options.untilStep(), config.steps())
        : config.steps();
    TrainingEvaluator evaluator = eval != null && options.evalEvery() > 0
        ? new TrainingEvaluator(eval, config.model().numClasses(), config.loss().ignoreLabel(),
            config.resize()) : null;
    int[] evalSize = evaluator != null ? evaluator.evalSize(config.model().outputStride())
        : new int[] {0, 0};
    if (cluster != null) {
      cluster.awaitTasks(startupTimeout);
      LOG.info("all {} tasks of the cluster answer; replicas on {}", cluster.spec().tasks().size(),
          config.devices());
    }
    try {
      return train(train, init, checkpoints, resumeFrom, until, evaluator, evalSize);
    } catch (TensorFlowException e) {
      Optional<ClusterException> lost = lostTask(e, checkpoints);
      if (lost.isPresent()) {
        throw lost.get();
      }
      throw e;
    }
  }

  /**
   * When training on a cluster failed with {@code e}: the error naming the first task that no
   * longer accepts connections, if one does not.
   */
  private Optional<ClusterException> lostTask(TensorFlowException e,
      CheckpointManager checkpoints) {
    Optional<String> lost = cluster == null ? Optional.empty()
        : cluster.unreachableTask(Duration.ofSeconds(2));
    if (lost.isEmpty()) {
      return Optional.empty();
    }
    String t = lost.get();
    String last;
    try {
      last = checkpoints.latest().map(Path::toString).orElse("none");
    } catch (IOException io) {
      last = "unreadable (" + io.getMessage() + ")";
    }
    // TF's multi-line message, on one line without its "=====" banners
    String cause = String.valueOf(e.getMessage()).replaceAll("={3,}", " ").strip()
        .replaceAll("\\s+", " ");
    if (cause.length() > 120) {
      cause = cause.substring(0, 120) + "...";
    }
    return Optional.of(new ClusterException(t, "task " + t + " (" + cluster.spec().address(t)
        + ") stopped answering (" + cause
        + "); the last complete checkpoint is " + last + ": restart the task ("
        + ClusterServer.jobAndTask(t) + ") and run the same command to resume"));
  }

  private TrainResult train(SegmentationDataset train, Init init, CheckpointManager checkpoints,
      OptionalLong resumeFrom, long until, TrainingEvaluator evaluator, int[] evalSize)
      throws IOException, InterruptedException {
    try (InputPipeline input = new InputPipeline(train, config, options.skipBadSamples(),
            options.workers(), 2 * options.workers());
        TrainingGraph graph = TrainingGraph.build(config, evalSize[0], evalSize[1],
            cluster != null ? cluster.target() : "")) {
      try {
        if (resumeFrom.isPresent()) {
          Path prefix = checkpoints.prefix(resumeFrom.getAsLong());
          graph.restore(prefix.toString());
          LOG.info("resuming from {} (step {}){}", prefix, graph.globalStep(),
              init != null ? "; --init-from is not used when resuming" : "");
        } else if (init != null) {
          loadInitialWeights(graph, init);
        }
        long start = graph.globalStep();
        if (start >= until) {
          LOG.info("nothing to do: the checkpoint is at step {} of {}", start, until);
          return new TrainResult(start, start, Float.NaN, checkpoints.latest(), 0,
              Optional.empty());
        }
        LOG.info("training {} replica(s), batch {} of {}x{} crops, steps {}..{} of {}, {} images",
            config.replicas(), config.batchSize(), config.model().cropHeight(),
            config.model().cropWidth(), start, until, config.steps(), input.size());
        try (TensorBoardWriter events = new TensorBoardWriter(options.checkpointDir())) {
          events.sessionStart(start);
          return loop(graph, input, evaluator, checkpoints, events, start, until);
        }
      } catch (TensorFlowException e) {
        Optional<ClusterException> lost = lostTask(e, checkpoints);
        if (lost.isPresent()) {
          graph.abandon(); // closing would wait for the lost task forever
          throw lost.get();
        }
        throw e;
      }
    }
  }

  /** The configuration file of a run, written at its start and compared on resume. */
  public static final String CONFIG_FILE = "train_config.json";

  /**
   * Writes {@value #CONFIG_FILE} to the checkpoint directory; when resuming, first warns about
   * every setting that differs from the recorded one (the run then no longer continues exactly).
   */
  private void recordConfig(boolean resuming) throws IOException {
    com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper()
        .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
    Path file = options.checkpointDir().resolve(CONFIG_FILE);
    com.fasterxml.jackson.databind.JsonNode now = json.valueToTree(config);
    if (resuming && java.nio.file.Files.isRegularFile(file)) {
      com.fasterxml.jackson.databind.JsonNode before = json.readTree(file.toFile());
      List<String> changed = new java.util.ArrayList<>();
      now.fieldNames().forEachRemaining(f -> {
        if (before.get(f) == null || !now.get(f).toString().equals(before.get(f).toString())) {
          changed.add(f);
        }
      });
      if (!changed.isEmpty()) {
        LOG.warn("resuming with settings that differ from the run's start: {}", changed);
      }
    }
    dev.deeplab.internal.io.AtomicFiles.write(file, json.writeValueAsBytes(now));
  }

  /**
   * Writes {@value ModelInfo#ASSET} to the checkpoint directory: the model its checkpoints are
   * evaluated and exported as ({@link TrainingRun#modelInfo}), with the run's label set.
   */
  private void recordModelInfo() throws IOException {
    ModelInfo info = new ModelInfo(TrainingRun.evaluationConfig(config.model()), labels(),
        "training run " + options.checkpointDir());
    dev.deeplab.internal.io.AtomicFiles.write(options.checkpointDir().resolve(ModelInfo.ASSET),
        info.toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** The run's label set: the given one, or unnamed classes with the loss's ignore label. */
  private LabelSet labels() {
    return options.labels() != null ? options.labels()
        : TrainingRun.unnamed(config.model().numClasses(), config.loss().ignoreLabel());
  }

  /**
   * The scopes not taken from the initial weights: {@link Init#reinitialize}, plus the last layers
   * this architecture has when {@link Init#initializeLastLayer} is false (the official list names
   * every head scope, {@code decoder} and {@code meta_architecture} included).
   */
  static List<String> reinitializedScopes(Init init, TrainConfig config,
      java.util.Set<String> variables) {
    List<String> scopes = new java.util.ArrayList<>(init.reinitialize());
    if (!init.initializeLastLayer()) {
      config.lastLayers().stream()
          .filter(l -> variables.stream().anyMatch(n -> n.startsWith(l)))
          .filter(l -> !scopes.contains(l)).forEach(scopes::add);
    }
    return scopes;
  }

  private static boolean isPytorchFile(Path source) {
    return java.nio.file.Files.isRegularFile(source) && PyTorchImporter.isWeightFile(source);
  }

  private void loadInitialWeights(TrainingGraph graph, Init init) throws IOException {
    List<String> scopes = reinitializedScopes(init, config, graph.variables().keySet());
    boolean pytorch = isPytorchFile(init.source());
    InitialWeights.Selection s = InitialWeights.select(
        InitialWeights.read(init.source(), graph.variables().keySet()), graph.variables(),
        scopes);
    if (pytorch && !s.missing().isEmpty()) {
      // as load_state_dict(strict=True): a PyTorch file of the architecture has every tensor
      throw new IllegalArgumentException("--init-from " + init.source() + " lacks "
          + s.missing().size() + " of the " + config.model().variant() + " tensors (e.g. "
          + s.missing().get(0) + "): another architecture?");
    }
    graph.assign(s.values());
    LOG.info("initialised {} variables from {}; {} re-initialised{}, {} not in the source{}",
        s.values().size(), init.source(), s.reinitialized().size(),
        s.reinitialized().isEmpty() ? "" : " (" + scopes + ")", s.missing().size(),
        s.missing().isEmpty() ? "" : " (e.g. " + s.missing().get(0) + ")");
  }

  private TrainResult loop(TrainingGraph graph, InputPipeline input, TrainingEvaluator evaluator,
      CheckpointManager checkpoints, TensorBoardWriter events, long start, long until)
      throws IOException, InterruptedException {
    input.start(start, until);
    Optional<Path> lastCheckpoint = checkpoints.latest();
    Optional<ConfusionMatrix> lastEval = Optional.empty();
    float lastLoss = Float.NaN;
    long timedFrom = -1;
    long timedImages = 0;
    double imagesPerSecond = 0;
    int[] palette = labels().palette();
    progress.start(start, until);
    try (TrainingProgress progress = this.progress) {
      for (long s = start; s < until; s++) {
        Batch batch = input.next();
        int k = options.imageSummariesEvery();
        TrainingGraph.StepResult r = graph.step(batch, k > 0 && (s + 1) % k == 0);
        lastLoss = r.loss();
        if (!Float.isFinite(r.loss()) || r.loss() > options.maxLoss()) {
          throw new TrainingDivergedException(r.step(), r.loss(), options.maxLoss(),
              lastCheckpoint);
        }
        long now = System.nanoTime();
        if (timedFrom < 0) {
          timedFrom = now;
        } else {
          timedImages += config.batchSize();
          imagesPerSecond = timedImages / ((now - timedFrom) / 1e9);
        }
        progress.update(r.step(), r.loss(), r.learningRate(), imagesPerSecond);
        listener.afterStep(graph, r);
        boolean last = r.step() == until;
        if (r.step() % options.summaryEvery() == 0 || last) {
          events.scalar("loss", r.step(), r.loss());
          events.scalar("learning_rate", r.step(), r.learningRate());
          if (imagesPerSecond > 0) {
            events.scalar("images_per_second", r.step(), imagesPerSecond);
          }
        }
        if (r.samplePrediction() != null) {
          SampleImages.write(events, r.step(), batch, r.samplePrediction(), palette);
        }
        boolean evaluate = evaluator != null && (last || r.step() % options.evalEvery() == 0);
        if ((evaluate || last) && options.preciseBatchNorm() > 0 && config.fineTuneBatchNorm()) {
          recalibrate(graph, input, r.step());
        }
        if (last || (options.checkpointEvery() > 0 && r.step() % options.checkpointEvery() == 0)) {
          lastCheckpoint = Optional.of(checkpoints.save(graph));
          LOG.debug("saved {}", lastCheckpoint.get());
        }
        if (evaluate) {
          ConfusionMatrix cm = evaluator.evaluate(graph);
          lastEval = Optional.of(cm);
          events.scalar("miou", r.step(), cm.meanIou());
          events.scalar("pixel_accuracy", r.step(), cm.pixelAccuracy());
          LOG.info(String.format("step %d: mIoU %.4f, pixel accuracy %.4f on %d images",
              r.step(), cm.meanIou(), cm.pixelAccuracy(), evaluator.size()));
        }
      }
    }
    LOG.info(String.format("trained to step %d, loss %.4f, %.2f images/s; checkpoint %s", until,
        lastLoss, imagesPerSecond, lastCheckpoint.map(Path::toString).orElse("none")));
    return new TrainResult(start, until, lastLoss, lastCheckpoint, imagesPerSecond, lastEval);
  }

  /** Precise BN from the batches of the last steps (recomputed: batches are pure functions). */
  private void recalibrate(TrainingGraph graph, InputPipeline input, long step)
      throws IOException {
    List<Batch> batches = new java.util.ArrayList<>();
    for (long s = Math.max(0, step - options.preciseBatchNorm()); s < step; s++) {
      batches.add(input.batch(s));
    }
    graph.recalibrateBatchNorm(batches);
  }
}
