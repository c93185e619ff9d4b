package dev.deeplab.export;

import dev.deeplab.internal.caffe.LargeFovCaffeImporter;
import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.serving.CheckpointImporter;
import dev.deeplab.internal.serving.FrozenGraphWrapper;
import dev.deeplab.internal.serving.SavedModelWriter;
import dev.deeplab.internal.tflite.TfliteDeepLabImporter;
import dev.deeplab.internal.torch.PyTorchImporter;
import dev.deeplab.internal.tflite.TfliteDeepLabWeights;
import dev.deeplab.internal.tflite.TfliteFormatException;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.tensorflow.proto.GraphDef;

/**
 * Brings official DeepLab models into our SavedModel layout ({@code <base>/<version>/}, TF
 * Serving's): TFLite files, TF1 checkpoints restored by variable name (the zoo's {@code
 * model.ckpt}, ImageNet backbones, or training checkpoints of ours) and frozen inference graphs
 * ({@code frozen_inference_graph.pb}, wrapped as they are); and PyTorch-trained models
 * (torchvision's DeepLabV3, VainF's DeepLabV3+) from their state dicts; and DeepLab-LargeFOV's
 * released Caffe weights ({@code .caffemodel}). Each import is read and checked first,
 * then written with {@code write}: a version appears only when complete.
 *
 * <p>Class names are never guessed from the class count: without a label set, classes are named
 * {@code class_0, class_1, ...} ({@link LabelSet#unnamed}).
 *
 * <p>Stateless and thread-safe; the import objects are immutable.
 *
 * @see <a href="https://github.com/tensorflow/models/blob/master/research/deeplab/g3doc/model_zoo.md">the
 *     official model zoo</a>
 */
public final class ModelImporter {
  private ModelImporter() {}

  /**
   * Reads an official DeepLabv3 MobileNetV2 TFLite file (quantised or float), e.g. {@code
   * deeplabv3_mnv2_pascal_quant.tflite}; the file defines the architecture.
   *
   * @throws IOException if it cannot be read or is not such a model (one line saying why)
   */
  public static TfliteImport tflite(Path file) throws IOException {
    try {
      return new TfliteImport(file, TfliteDeepLabImporter.importFile(file));
    } catch (TfliteFormatException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * Lists a TF1 checkpoint (V1 or V2; a prefix, or a directory with a {@code checkpoint} file) and
   * compares it with the model of {@code config}: which variables it fills, which are missing,
   * unexpected or of another shape. Optimizer slots and {@code global_step} are never restored.
   *
   * @param reinitialize scopes whose variables start from our initialisers instead (e.g. {@code
   *     logits} for another class count)
   * @throws IOException if the checkpoint cannot be found or read
   * @throws IllegalArgumentException if a scope matches no variable of the model
   */
  public static CheckpointImport checkpoint(Path checkpoint, ModelConfig config,
      List<String> reinitialize) throws IOException {
    String prefix = CheckpointImporter.resolvePrefix(checkpoint);
    try {
      return new CheckpointImport(CheckpointImporter.plan(prefix, config, reinitialize));
    } catch (CheckpointException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * Reads an official frozen inference graph ({@code ImageTensor} → {@code SemanticPredictions})
   * and recognises what it can of its architecture.
   *
   * @throws IOException if it cannot be read or lacks the official input and output
   */
  public static FrozenGraphImport frozenGraph(Path file) throws IOException {
    GraphDef graph = FrozenGraphWrapper.read(file);
    return new FrozenGraphImport(file, graph, FrozenGraphWrapper.detect(graph));
  }

  /**
   * Reads a PyTorch weight file ({@code .pth}/{@code .pt} state dict or VainF-style checkpoint
   * {@code {"model_state": ...}}, or {@code .safetensors}) and compares it with the PyTorch
   * network {@code variant} ({@link ModelVariant.Family#PYTORCH}). The pickle of a {@code .pth} is
   * read with an unpickler that accepts only the tensor-rebuilding globals: anything else is
   * refused, never executed.
   *
   * @param numClasses the class count, or empty for that of the file's classifier
   * @param outputStride 8 or 16 for VainF's networks (default 16; its weights do not show it),
   *     empty for the default; torchvision's run at 8
   * @throws IOException if the file cannot be read or is refused (one line saying why)
   * @throws IllegalArgumentException if {@code variant} is not a PyTorch network
   */
  public static PyTorchImport pytorch(Path file, ModelVariant variant, OptionalInt numClasses,
      OptionalInt outputStride) throws IOException {
    return new PyTorchImport(PyTorchImporter.plan(file, variant, numClasses, outputStride));
  }

  /**
   * Reads DeepLab-LargeFOV's Caffe weights (a {@code .caffemodel}: the released {@code
   * DeepLab-LargeFOV} model, {@code conv1_1} ... {@code fc7} and {@code fc8_voc12}) and compares
   * them with the {@code vgg_16} network of {@code config} ({@code deeplabv1_largefov_vgg16}).
   *
   * @param numClasses the class count, or empty for that of the file's {@code fc8} layer
   * @throws IOException if the file cannot be read or is not a Caffe model (one line saying why)
   * @throws IllegalArgumentException if {@code config} is not {@code vgg_16}
   */
  public static CaffeImport caffe(Path file, ModelConfig config, OptionalInt numClasses)
      throws IOException {
    return new CaffeImport(LargeFovCaffeImporter.plan(file, config, numClasses));
  }

  private static LabelSet labelsFor(LabelSet labels, ModelConfig config) {
    return labels != null ? labels : LabelSet.unnamed(config.numClasses());
  }

  /** A parsed TFLite model, ready to write. */
  public static final class TfliteImport {
    private final Path file;
    private final TfliteDeepLabWeights weights;
    private final ModelConfig config;

    private TfliteImport(Path file, TfliteDeepLabWeights weights) {
      this.file = file;
      this.weights = weights;
      this.config = ModelConfig.defaults(ModelVariant.MOBILENET_V2, weights.outputStride())
          .withDepthMultiplier(weights.depthMultiplier())
          .withNumClasses(weights.numClasses())
          .withCropSize(weights.inputHeight(), weights.inputWidth());
    }

    /** The architecture the file defines (MobileNetV2, its depth multiplier, classes, crop). */
    public ModelConfig config() {
      return config;
    }

    /**
     * Writes the float SavedModel under {@code base}: version {@code version}, or the next free
     * one. Returns the version directory.
     *
     * @param labels the class names, or {@code null} for {@link LabelSet#unnamed}
     * @throws IllegalArgumentException if {@code labels} has another class count
     */
    public Path write(LabelSet labels, Path base, OptionalLong version) throws IOException {
      ModelInfo info = new ModelInfo(config, labelsFor(labels, config),
          "tflite:" + file.getFileName());
      try {
        return SavedModelWriter.write(weights.variables(), info, base, version);
      } catch (CheckpointException e) {
        throw new IOException(e.getMessage(), e);
      }
    }
  }

  /** A checkpoint compared with a model; {@link #write} restores it when {@link #clean}. */
  public static final class CheckpointImport {
    private final CheckpointImporter.Plan plan;

    private CheckpointImport(CheckpointImporter.Plan plan) {
      this.plan = plan;
    }

    /** The checkpoint prefix read. */
    public String prefix() {
      return plan.prefix();
    }

    /** {@code "V2"} (prefix.index + data) or {@code "V1"} (one file). */
    public String format() {
      return plan.format();
    }

    /** Tensors in the checkpoint. */
    public int entries() {
      return plan.entries();
    }

    /** The model the checkpoint is compared with. */
    public ModelConfig config() {
      return plan.config();
    }

    /** Variables of the model. */
    public int modelVariables() {
      return plan.variables().size();
    }

    /** Variables that will be restored from the checkpoint. */
    public int restored() {
      return plan.restoredNames().size();
    }

    /** Variables that start from our initialisers ({@code reinitialize} scopes). */
    public int reinitialized() {
      return plan.freshNames().size();
    }

    /** The reinitialised scopes, as given. */
    public List<String> reinitializedScopes() {
      return plan.scopes();
    }

    /** True when every variable is found with its shape (or is reinitialised). */
    public boolean clean() {
      return plan.report().clean();
    }

    /**
     * The missing, unexpected and mismatched variables as a table (name, checkpoint shape, model
     * shape), at most {@code maxRows} rows per kind; empty when there are none.
     */
    public String table(int maxRows) {
      return plan.report().table(maxRows);
    }

    /** One line: how many variables were found, missing, unexpected, mismatched. */
    public String summary() {
      return plan.report().summary();
    }

    /**
     * Restores the checkpoint into the model and writes it under {@code base}; refuses a
     * checkpoint that is not {@link #clean} (one line naming what does not fit, and the variant
     * it seems to be when the backbone is another one).
     *
     * @param labels the class names, or {@code null} for {@link LabelSet#unnamed}
     * @throws IOException if the checkpoint does not fit or the files cannot be written
     */
    public Path write(LabelSet labels, Path base, OptionalLong version) throws IOException {
      return write(new ModelInfo(plan.config(), labelsFor(labels, plan.config()),
          "checkpoint:" + Path.of(plan.prefix()).getFileName()), base, version, false);
    }

    Path write(ModelInfo info, Path base, OptionalLong version, boolean foldBatchNorm)
        throws IOException {
      try {
        return CheckpointImporter.run(plan, info, base, version, foldBatchNorm);
      } catch (CheckpointException e) {
        throw new IOException(e.getMessage(), e);
      }
    }
  }

  /** A PyTorch state dict compared with a network; {@link #write} imports it when {@link #clean}. */
  public static final class PyTorchImport {
    private final PyTorchImporter.Plan plan;

    private PyTorchImport(PyTorchImporter.Plan plan) {
      this.plan = plan;
    }

    /** How the file was read, e.g. {@code torch.save zip, checkpoint['model_state']}. */
    public String format() {
      return plan.stateDict().format();
    }

    /** Tensors in the state dict. */
    public int entries() {
      return plan.stateDict().tensors().size();
    }

    /** The network the file is compared with. */
    public ModelConfig config() {
      return plan.config();
    }

    /** Variables of the network. */
    public int modelVariables() {
      return plan.tensors().size() + plan.report().missing().size();
    }

    /** True when every variable is found with its shape and no tensor is left over. */
    public boolean clean() {
      return plan.clean();
    }

    /** The missing, unexpected and mismatched tensors, at most {@code maxRows} per kind. */
    public String table(int maxRows) {
      return plan.report().table(maxRows);
    }

    /** One line: matches, missing, unexpected, mismatched, ignored. */
    public String summary() {
      return plan.summary();
    }

    /**
     * Writes the SavedModel under {@code base}; refuses a file that is not {@link #clean} (one
     * line, naming the architecture it seems to be).
     *
     * @param labels the class names, or {@code null} for {@link LabelSet#unnamed}
     */
    public Path write(LabelSet labels, Path base, OptionalLong version) throws IOException {
      ModelInfo info = new ModelInfo(plan.config(), labelsFor(labels, plan.config()),
          "pytorch:" + plan.stateDict().file().getFileName());
      return PyTorchImporter.run(plan, info, base, version);
    }
  }

  /** A Caffe model compared with DeepLab-LargeFOV; {@link #write} imports it if {@link #clean}. */
  public static final class CaffeImport {
    private final LargeFovCaffeImporter.Plan plan;

    private CaffeImport(LargeFovCaffeImporter.Plan plan) {
      this.plan = plan;
    }

    /** Which layer list the file uses: {@code layer}, or the deprecated {@code V1 layers}. */
    public String format() {
      return plan.net().format();
    }

    /** Layers of the file that carry weights. */
    public int layers() {
      return plan.net().layers().size();
    }

    /** The Caffe layer read as the classifier ({@code fc8_voc12}), if any. */
    public Optional<String> classifier() {
      return Optional.ofNullable(plan.classifier());
    }

    /** The network the file is compared with. */
    public ModelConfig config() {
      return plan.config();
    }

    /** Variables of the network. */
    public int modelVariables() {
      return plan.variables();
    }

    /** True when every variable is found with its shape and no layer is left over. */
    public boolean clean() {
      return plan.clean();
    }

    /** The missing, unexpected and mismatched weights, at most {@code maxRows} per kind. */
    public String table(int maxRows) {
      return plan.report().table(maxRows);
    }

    /** One line: matches, missing, unexpected, mismatched. */
    public String summary() {
      return plan.summary();
    }

    /**
     * Writes the SavedModel under {@code base}; refuses a file that is not {@link #clean} (one
     * line).
     *
     * @param labels the class names, or {@code null} for {@link LabelSet#unnamed}
     */
    public Path write(LabelSet labels, Path base, OptionalLong version) throws IOException {
      ModelInfo info = new ModelInfo(plan.config(), labelsFor(labels, plan.config()),
          "caffe:" + plan.net().file().getFileName());
      return LargeFovCaffeImporter.run(plan, info, base, version);
    }
  }

  /** A frozen graph with what was recognised of it; {@link #write} wraps it. */
  public static final class FrozenGraphImport {
    private final Path file;
    private final GraphDef graph;
    private final FrozenGraphWrapper.Detected detected;

    private FrozenGraphImport(Path file, GraphDef graph, FrozenGraphWrapper.Detected detected) {
      this.file = file;
      this.graph = graph;
      this.detected = detected;
    }

    /** Nodes in the graph. */
    public int nodes() {
      return detected.nodes();
    }

    /** The backbone, when its node names are recognised. */
    public Optional<ModelVariant> variant() {
      return detected.variant();
    }

    /** Whether the graph has the v3+ decoder. */
    public boolean decoder() {
      return detected.decoder();
    }

    /** The class count, when the logits or their weights show it. */
    public OptionalInt numClasses() {
      return detected.numClasses();
    }

    /** Whether the graph also outputs {@code SemanticProbabilities}. */
    public boolean hasProbabilities() {
      return detected.hasProbabilities();
    }

    /**
     * A descriptive configuration from what was recognised (MobileNetV2 when the backbone is not),
     * the official defaults otherwise; the crop size cannot be read from a frozen graph (513).
     */
    public ModelConfig detectedConfig() {
      return detected.config();
    }

    /**
     * Wraps the graph as a SavedModel version under {@code base}. Images larger than {@code
     * config}'s crop are scaled down to fit it; {@code config} is recorded as the architecture.
     *
     * @param labels the class names, or {@code null} for {@link LabelSet#unnamed}
     * @throws IllegalArgumentException if the graph shows another class count than {@code config}
     * @throws IOException if TensorFlow cannot import the graph or the files cannot be written
     */
    public Path write(ModelConfig config, LabelSet labels, Path base, OptionalLong version)
        throws IOException {
      if (detected.numClasses().isPresent()
          && detected.numClasses().getAsInt() != config.numClasses()) {
        throw new IllegalArgumentException(file + " has " + detected.numClasses().getAsInt()
            + " classes (logits/semantic/weights), not " + config.numClasses());
      }
      ModelInfo info = new ModelInfo(config, labelsFor(labels, config),
          FrozenGraphWrapper.SOURCE_PREFIX + file.getFileName());
      return FrozenGraphWrapper.wrap(graph, info, base, version);
    }
  }
}
