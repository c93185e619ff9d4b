package dev.deeplab.internal.train;

import dev.deeplab.internal.checkpoint.CheckpointEntry;
import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.tflite.TfliteDeepLabImporter;
import dev.deeplab.internal.torch.PyTorchImporter;
import dev.deeplab.internal.weights.FloatTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Pretrained weights to start training from ({@code --init-from}), as the official {@code
 * train_utils.get_model_init_fn} restores {@code tf_initial_checkpoint}: by variable name,
 * skipping {@code global_step} and optimizer slots, skipping the scopes to re-initialise (the
 * official {@code initialize_last_layer=False} excludes {@code logits}), and ignoring variables
 * missing from the source ({@code ignore_missing_vars=True}); a shape mismatch is an error that
 * names the variable and the {@code --reinitialize} scope that avoids it.
 *
 * <p>Sources: a SavedModel directory we exported ({@code variables/variables}), a training
 * checkpoint directory (its newest checkpoint), a checkpoint prefix (official zoo checkpoints, ours,
 * Python-written), a bundled-format {@code .tflite} file (via {@link TfliteDeepLabImporter}), or a
 * PyTorch state dict ({@code .pth}, {@code .pt}, {@code .safetensors}) of one of the PyTorch
 * networks, whose variables carry the state-dict names ({@link PyTorchImporter#read}).
 */
public final class InitialWeights {
  private InitialWeights() {}

  /**
   * What will be restored.
   *
   * @param values the model variables taken from the source
   * @param reinitialized model variables skipped because they are under a re-initialised scope
   * @param missing model variables the source does not have (they keep their initialisers)
   */
  public record Selection(Map<String, FloatTensor> values, List<String> reinitialized,
      List<String> missing) {}

  /**
   * Reads the float tensors named in {@code wanted} that the source holds.
   *
   * @throws IOException if the source does not exist or cannot be read
   */
  public static Map<String, FloatTensor> read(Path source, Set<String> wanted) throws IOException {
    checkExists(source);
    if (Files.isRegularFile(source) && PyTorchImporter.isWeightFile(source)) {
      return PyTorchImporter.read(source, wanted);
    }
    if (Files.isRegularFile(source)
        && source.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".tflite")) {
      try {
        Map<String, FloatTensor> all = TfliteDeepLabImporter.importFile(source).variables();
        Map<String, FloatTensor> out = new LinkedHashMap<>();
        all.forEach((k, v) -> {
          if (wanted.contains(k)) {
            out.put(k, v);
          }
        });
        return out;
      } catch (dev.deeplab.internal.tflite.TfliteFormatException e) {
        throw new IOException(source + ": " + e.getMessage(), e);
      }
    }
    return readCheckpoint(checkpointPrefix(source), wanted);
  }

  /**
   * Fails early (before a graph is built) when {@code source} is neither a file, a directory nor
   * a checkpoint prefix.
   */
  public static void checkExists(Path source) throws IOException {
    if (!Files.exists(source) && !Files.exists(Path.of(source + ".index"))) {
      throw new NoSuchFileException(source.toString(), null,
          "--init-from: no such SavedModel, checkpoint, .tflite or PyTorch file");
    }
  }

  /** The checkpoint prefix behind a SavedModel directory, training directory or prefix. */
  static String checkpointPrefix(Path source) throws IOException {
    if (Files.isDirectory(source)) {
      if (Files.exists(source.resolve(CheckpointManager.STATE_FILE))
          || new CheckpointManager(source, 1).latest().isPresent()) {
        return new CheckpointManager(source, 1).latest().orElseThrow(() -> new IOException(
            source + ": no complete checkpoint in this training directory")).toString();
      }
      return SavedModels.resolve(source).resolve("variables").resolve("variables").toString();
    }
    return source.toString();
  }

  private static Map<String, FloatTensor> readCheckpoint(String prefix, Set<String> wanted)
      throws IOException {
    try {
      Map<String, CheckpointEntry> entries = Checkpoints.list(prefix);
      List<String> names = new ArrayList<>();
      for (CheckpointEntry e : entries.values()) {
        if (wanted.contains(e.name()) && e.dtype().equals("DT_FLOAT")) {
          names.add(e.name());
        }
      }
      return Checkpoints.readFloats(prefix, names);
    } catch (CheckpointException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * Chooses the model variables to restore.
   *
   * @param source tensors by name (from {@link #read})
   * @param model the model variables
   * @param reinitialize scopes (e.g. {@code logits}) whose variables keep their initialisers
   * @throws IllegalArgumentException if a source tensor has another shape than its variable, or
   *     the source has none of the model's variables
   */
  public static Selection select(Map<String, FloatTensor> source,
      Map<String, VariableInfo> model, List<String> reinitialize) {
    for (String scope : reinitialize) {
      if (model.keySet().stream().noneMatch(n -> underAny(n, List.of(scope)))) {
        throw new IllegalArgumentException("--reinitialize " + scope.strip() + " matches no "
            + "variable of the model (scopes are name prefixes such as logits, aspp, "
            + "concat_projection, image_pooling, decoder)");
      }
    }
    Map<String, FloatTensor> values = new LinkedHashMap<>();
    List<String> skipped = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    for (VariableInfo v : model.values()) {
      if (underAny(v.name(), reinitialize)) {
        skipped.add(v.name());
        continue;
      }
      FloatTensor t = source.get(v.name());
      if (t == null) {
        missing.add(v.name());
        continue;
      }
      if (!Arrays.equals(t.shape(), v.shape())) {
        throw new IllegalArgumentException("--init-from: " + v.name() + " is " + t.shapeString()
            + " in the source but " + Arrays.toString(v.shape()).replace(" ", "")
            + " in the model; add --reinitialize " + v.name().split("/")[0]
            + " to train it from scratch (e.g. for another number of classes)");
      }
      values.put(v.name(), t);
    }
    if (values.isEmpty()) {
      throw new IllegalArgumentException("--init-from: the source has none of the model's "
          + model.size() + " variables (another backbone or depth multiplier?)");
    }
    return new Selection(values, skipped, missing);
  }

  /**
   * Whether {@code name} is in one of {@code scopes}: as the official exclusion ({@code
   * get_variables_to_restore(exclude=...)}, which matches each scope at the start of the
   * variable name), a scope is a name prefix, so {@code aspp} covers {@code aspp0} to {@code
   * aspp3} and {@code logits} covers {@code logits/semantic}.
   */
  private static boolean underAny(String name, List<String> scopes) {
    for (String scope : scopes) {
      String s = scope.strip();
      if (!s.isEmpty() && name.startsWith(s)) {
        return true;
      }
    }
    return false;
  }
}
