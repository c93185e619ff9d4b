package dev.deeplab.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.internal.train.CheckpointManager;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The checkpoint directory of a training run as {@link Trainer} writes it (the official {@code
 * train_logdir}, which {@code eval.py --checkpoint_dir} watches): {@value Trainer#CONFIG_FILE}
 * with the architecture and the number of steps, {@value ModelInfo#ASSET} with the label set,
 * and the checkpoints {@code model.ckpt-<step>}.
 *
 * <p>The model a run's checkpoints are evaluated and exported as ({@link #modelInfo}) is the
 * trained architecture with a crop of at least 513×513, the official {@code eval_crop_size}:
 * images larger than it are scaled down to fit.
 *
 * <p>Immutable and thread-safe; the checkpoint listing reads the directory each time.
 */
public final class TrainingRun {
  /** The smallest crop of the evaluated and exported model: the official eval_crop_size. */
  public static final int MIN_EVAL_CROP = 513;

  private static final Pattern PREFIX =
      Pattern.compile(Pattern.quote(CheckpointManager.STEM) + "-(\\d+)(\\.index|\\.data-.*)?");

  private final Path directory;
  private final ModelConfig model;
  private final int steps;
  private final LabelSet labels;
  private final OptionalLong named;

  private TrainingRun(Path directory, ModelConfig model, int steps, LabelSet labels,
      OptionalLong named) {
    this.directory = directory;
    this.model = model;
    this.steps = steps;
    this.labels = labels;
    this.named = named;
  }

  /**
   * Whether {@code path} is a training run's directory, or one of its checkpoints ({@code
   * model.ckpt-<step>}, or a file of it).
   */
  public static boolean isRun(Path path) {
    return Files.isRegularFile(path.resolve(Trainer.CONFIG_FILE))
        || (checkpointStep(path).isPresent() && path.toAbsolutePath().getParent() != null
            && Files.isRegularFile(
                path.toAbsolutePath().getParent().resolve(Trainer.CONFIG_FILE)));
  }

  /**
   * Opens a run from its directory, or from one of its checkpoints, which is then the {@link
   * #namedStep}.
   *
   * @throws IOException with one line if it is neither or its configuration cannot be read
   */
  public static TrainingRun open(Path path) throws IOException {
    OptionalLong named = OptionalLong.empty();
    Path dir = path;
    if (!Files.isRegularFile(path.resolve(Trainer.CONFIG_FILE))) {
      named = checkpointStep(path);
      dir = path.toAbsolutePath().getParent();
      if (named.isEmpty() || dir == null
          || !Files.isRegularFile(dir.resolve(Trainer.CONFIG_FILE))) {
        throw new FileNotFoundException(path + " is not a training checkpoint directory (no "
            + Trainer.CONFIG_FILE + ") nor a " + CheckpointManager.STEM
            + "-<step> checkpoint in one");
      }
    }
    ObjectMapper json = new ObjectMapper();
    Path configFile = dir.resolve(Trainer.CONFIG_FILE);
    ModelConfig model;
    int steps;
    int ignoreLabel;
    try {
      JsonNode config = json.readTree(configFile.toFile());
      model = json.treeToValue(config.get("model"), ModelConfig.class);
      steps = config.get("steps").asInt();
      ignoreLabel = config.path("loss").path("ignoreLabel").asInt(255);
    } catch (IOException | RuntimeException e) {
      throw new IOException("cannot read " + configFile + ": "
          + String.valueOf(e.getMessage()).strip().split("\\R", 2)[0], e);
    }
    return new TrainingRun(dir, model, steps, labels(dir, model, ignoreLabel), named);
  }

  /**
   * The label set the trainer recorded, or unnamed classes with the run's ignore label for runs
   * that recorded none.
   */
  private static LabelSet labels(Path dir, ModelConfig model, int ignoreLabel)
      throws IOException {
    Path file = dir.resolve(ModelInfo.ASSET);
    if (Files.isRegularFile(file)) {
      LabelSet recorded = ModelInfo.fromJson(Files.readString(file)).labels();
      if (recorded.numClasses() == model.numClasses()) {
        return recorded;
      }
    }
    return unnamed(model.numClasses(), ignoreLabel);
  }

  /** Unnamed classes ({@link LabelSet#unnamed}) with another ignore label. */
  static LabelSet unnamed(int numClasses, int ignoreLabel) {
    return new LabelSet(LabelSet.UNNAMED, LabelSet.unnamed(numClasses).classNames(), ignoreLabel,
        null);
  }

  /** The step of a {@code model.ckpt-<step>} checkpoint prefix or file name. */
  private static OptionalLong checkpointStep(Path path) {
    Path name = path.getFileName();
    Matcher m = name == null ? null : PREFIX.matcher(name.toString());
    return m != null && m.matches() ? OptionalLong.of(Long.parseLong(m.group(1)))
        : OptionalLong.empty();
  }

  /** The run's directory. */
  public Path directory() {
    return directory;
  }

  /** The architecture as trained (its crop is the training crop). */
  public ModelConfig model() {
    return model;
  }

  /** The step training ends at ({@code training_number_of_steps}). */
  public int steps() {
    return steps;
  }

  /** The class names, colours and ignore label of the run. */
  public LabelSet labels() {
    return labels;
  }

  /** The step of the checkpoint the run was opened with, if it was opened with one. */
  public OptionalLong namedStep() {
    return named;
  }

  /** The model the checkpoints are evaluated and exported as (see the class comment). */
  public ModelInfo modelInfo() {
    return new ModelInfo(evaluationConfig(model), labels, "training run " + directory);
  }

  /** {@code trained} with a crop of at least {@value #MIN_EVAL_CROP} in both directions. */
  public static ModelConfig evaluationConfig(ModelConfig trained) {
    return trained.withCropSize(Math.max(MIN_EVAL_CROP, trained.cropHeight()),
        Math.max(MIN_EVAL_CROP, trained.cropWidth()));
  }

  /** The steps of the complete checkpoints now in the directory, ascending. */
  public List<Long> checkpointSteps() throws IOException {
    return new CheckpointManager(directory, 1).steps();
  }

  /** The checkpoint prefix of {@code step}: {@code <directory>/model.ckpt-<step>}. */
  public Path checkpoint(long step) {
    return new CheckpointManager(directory, 1).prefix(step);
  }

  /**
   * The step to evaluate by default: the named one, else the newest complete checkpoint's.
   *
   * @throws FileNotFoundException if the named checkpoint is incomplete or there is none
   */
  public long selectedStep() throws IOException {
    List<Long> all = checkpointSteps();
    if (named.isPresent()) {
      if (!all.contains(named.getAsLong())) {
        throw new FileNotFoundException("no complete checkpoint " + checkpoint(named.getAsLong())
            + " (index and data files)");
      }
      return named.getAsLong();
    }
    if (all.isEmpty()) {
      throw new FileNotFoundException("no checkpoint yet in " + directory);
    }
    return all.get(all.size() - 1);
  }
}
