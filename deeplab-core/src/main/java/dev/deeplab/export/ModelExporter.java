package dev.deeplab.export;

import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.serving.SavedModelWriter;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ServingOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Writes servable SavedModels in TF Serving's layout ({@code <base>/<version>/saved_model.pb},
 * {@code variables/}, {@code assets/}) from our training checkpoints or our own SavedModels: the
 * inference graph is built afresh (batch norm in inference mode, no loss, no optimizer) with the
 * serving signatures and the preprocessing inside, and the version directory is renamed into
 * place only when complete, so TF Serving never loads a half-written model. Optionally the graph
 * computes with the weights built in as constants, batch norm folded into the convolutions at
 * export; the checkpoint keeps the official variables either way.
 *
 * <p>Stateless and thread-safe.
 */
public final class ModelExporter {
  private ModelExporter() {}

  /**
   * Whether exports fold batch norm into constant weights unless told otherwise: no, as the
   * numbers of BENCHMARKS.md §2j say (6-13% faster under oneDNN, 0-5% under Eigen, for three times
   * the peak memory of the large models when they load).
   */
  public static final boolean FOLD_BATCH_NORM_BY_DEFAULT = false;

  /**
   * Exports the model weights of a checkpoint written by {@link dev.deeplab.train.Trainer} (or
   * any TF1 checkpoint holding every variable of {@code info.config()} under the official names)
   * as version {@code version} (or the next free one) under {@code base}, served as {@code
   * info.serving()} says; optimizer slots and {@code global_step} are left out. Returns the
   * version directory.
   *
   * @throws IOException if the checkpoint lacks a model variable or has one of another shape
   *     (one line naming it), or the files cannot be written
   */
  public static Path fromCheckpoint(Path checkpoint, ModelInfo info, Path base,
      OptionalLong version) throws IOException {
    return fromCheckpoint(checkpoint, info, base, version, FOLD_BATCH_NORM_BY_DEFAULT);
  }

  /**
   * {@link #fromCheckpoint(Path, ModelInfo, Path, OptionalLong)}, choosing the inference graph as
   * {@link #reexport(Path, Path, OptionalLong, ServingOptions, boolean)} does.
   */
  public static Path fromCheckpoint(Path checkpoint, ModelInfo info, Path base,
      OptionalLong version, boolean foldBatchNorm) throws IOException {
    return ModelImporter.checkpoint(checkpoint, info.config(), java.util.List.of())
        .write(info, base, version, foldBatchNorm);
  }

  /**
   * Re-exports one of our SavedModels ({@code model}: a version directory, or a base whose highest
   * version is taken) as a new version under {@code base}, with the graph of this library's
   * version; its weights, model info and serving options are kept. Returns the version directory.
   *
   * @throws IOException if {@code model} is not a SavedModel of ours or cannot be written
   */
  public static Path reexport(Path model, Path base, OptionalLong version) throws IOException {
    return reexport(model, base, version, null);
  }

  /**
   * {@link #reexport(Path, Path, OptionalLong)} with other serving options, e.g. the official
   * multi-scale and flipped inference baked into the graph ({@link ServingOptions}).
   *
   * @param serving the options, or null to keep the model's
   * @throws IllegalArgumentException if {@code model} wraps a frozen graph and {@code serving}
   *     differs from its options
   */
  public static Path reexport(Path model, Path base, OptionalLong version,
      ServingOptions serving) throws IOException {
    return reexport(model, base, version, serving, FOLD_BATCH_NORM_BY_DEFAULT);
  }

  /**
   * {@link #reexport(Path, Path, OptionalLong, ServingOptions)}, choosing the inference graph:
   * with {@code foldBatchNorm} its convolutions compute with constant weights into which batch
   * norm was folded at export (no work on the weights at run time); without it they read the
   * variables, batch norm in the graph. The checkpoint holds the official variables either way,
   * so every tool that reads weights by name reads both forms.
   */
  public static Path reexport(Path model, Path base, OptionalLong version,
      ServingOptions serving, boolean foldBatchNorm) throws IOException {
    try {
      return SavedModelWriter.reexport(model, base, version, serving, foldBatchNorm);
    } catch (CheckpointException e) {
      throw new IOException(e.getMessage(), e);
    }
  }
}
