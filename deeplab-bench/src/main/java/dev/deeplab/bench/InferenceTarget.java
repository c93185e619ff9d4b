package dev.deeplab.bench;

import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.serving.ServingGraph;
import dev.deeplab.internal.serving.ServingTensors;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;

/**
 * One serving graph ready to time: uint8 images {@code [batch, height, width, 3]} in, class ids
 * out, exactly the work of {@link dev.deeplab.infer.Segmenter#segment} (tensor from a byte
 * array, {@code semantic} fetched and copied into a Java array, everything closed).
 *
 * <p>Built either from a configuration with given weights, from one of our SavedModels as saved,
 * or from a SavedModel's weights in a freshly built graph (to try another atrous form on real
 * weights).
 */
public final class InferenceTarget implements AutoCloseable {
  /** Which batch norms {@link BatchNormFolding} folds. */
  public enum Fold {
    /** None: {@code FusedBatchNormV3} as built. */
    NONE,
    /** All inference batch norms. */
    ALL,
    /** Only those after depthwise convs. */
    DEPTHWISE
  }

  private final AutoCloseable owner;
  private final AutoCloseable graphOwner;
  private final Session session;
  private final String imagesTensor;
  private final String semanticTensor;
  private final ModelConfig config;
  private final String description;
  private final boolean networkOnly;
  private byte[] lastRgb;
  private float[] lastPixels;

  private InferenceTarget(AutoCloseable owner, AutoCloseable graphOwner, Session session,
      String imagesTensor, String semanticTensor, ModelConfig config, String description) {
    this(owner, graphOwner, session, imagesTensor, semanticTensor, config, description, false);
  }

  private InferenceTarget(AutoCloseable owner, AutoCloseable graphOwner, Session session,
      String imagesTensor, String semanticTensor, ModelConfig config, String description,
      boolean networkOnly) {
    this.networkOnly = networkOnly;
    this.owner = owner;
    this.graphOwner = graphOwner;
    this.session = session;
    this.imagesTensor = imagesTensor;
    this.semanticTensor = semanticTensor;
    this.config = config;
    this.description = description;
  }

  /** A serving graph of {@code config} with {@code weights} (which must name every variable). */
  public static InferenceTarget fromConfig(ModelConfig config, AtrousMode atrous,
      SessionSettings settings, Map<String, FloatTensor> weights) throws CheckpointException {
    return fromConfig(config, atrous, Fold.NONE, settings, weights);
  }

  /**
   * As {@link #fromConfig(ModelConfig, AtrousMode, SessionSettings, Map)}, optionally with batch
   * norms folded into the convs ({@link BatchNormFolding}).
   */
  public static InferenceTarget fromConfig(ModelConfig config, AtrousMode atrous, Fold foldBn,
      SessionSettings settings, Map<String, FloatTensor> weights) throws CheckpointException {
    try {
      return buildHere(config, atrous, foldBn, settings, s -> {
        try {
          Checkpoints.restore(s, weights);
        } catch (CheckpointException e) {
          throw new java.io.UncheckedIOException(new IOException(e.getMessage(), e));
        }
      }, "graph built here");
    } catch (java.io.UncheckedIOException e) {
      throw (CheckpointException) e.getCause().getCause();
    }
  }

  /**
   * The network alone ({@link dev.deeplab.internal.model.ModelGraph}: float pixels at the crop size in,
   * logits out), without the serving graph's resize, padding and upsampling: a fixed-shape graph,
   * as XLA needs. {@link #segment} then returns the logits' argmax at the output stride.
   */
  public static InferenceTarget networkFromConfig(ModelConfig config, AtrousMode atrous,
      Fold foldBn, SessionSettings settings, Map<String, FloatTensor> weights)
      throws CheckpointException {
    dev.deeplab.internal.model.ModelGraph g = dev.deeplab.internal.model.ModelGraph.build(config, atrous);
    org.tensorflow.Graph graph = g.graph();
    AutoCloseable graphOwner = g;
    String desc = "network only, graph built here, " + atrousName(atrous);
    if (foldBn != Fold.NONE) {
      BatchNormFolding.Result folded = BatchNormFolding.fold(g.graph().toGraphDef(),
          foldBn == Fold.DEPTHWISE);
      g.close();
      graph = new org.tensorflow.Graph();
      graphOwner = graph;
      graph.importGraphDef(folded.graph());
      desc += ", batch norm folded";
    }
    Session s = null;
    try {
      s = new Session(graph, settings.toConfigProto());
      Checkpoints.restore(s, weights);
      return new InferenceTarget(s, graphOwner, s, "pixels", "logits_output", config, desc, true);
    } catch (CheckpointException | RuntimeException e) {
      if (s != null) {
        s.close();
      }
      closeQuietly(graphOwner);
      throw e;
    }
  }

  private static InferenceTarget buildHere(ModelConfig config, AtrousMode atrous, Fold foldBn,
      SessionSettings settings, java.util.function.Consumer<Session> load, String what) {
    ServingGraph g = ServingGraph.build(config, atrous);
    org.tensorflow.Graph graph = g.graph();
    AutoCloseable graphOwner = g;
    String desc = what + ", " + atrousName(atrous);
    if (foldBn != Fold.NONE) {
      BatchNormFolding.Result folded = BatchNormFolding.fold(g.graph().toGraphDef(),
          foldBn == Fold.DEPTHWISE);
      g.close();
      graph = new org.tensorflow.Graph();
      graphOwner = graph;
      graph.importGraphDef(folded.graph());
      desc += ", batch norm folded" + (foldBn == Fold.DEPTHWISE ? " after depthwise" : "") + " ("
          + folded.foldedIntoConv() + " into convs, "
          + folded.scaleShift() + " as scale+shift)";
    }
    Session s = null;
    try {
      s = new Session(graph, settings.toConfigProto());
      load.accept(s);
      return new InferenceTarget(s, graphOwner, s, ServingGraph.IMAGES, ServingGraph.SEMANTIC,
          config, desc);
    } catch (RuntimeException e) {
      if (s != null) {
        s.close();
      }
      closeQuietly(graphOwner);
      throw e;
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // already failing
    }
  }

  /** He-uniform weights (see {@link BenchWeights}) for the serving graph of {@code config}. */
  public static Map<String, FloatTensor> randomWeights(ModelConfig config, long seed) {
    try (ServingGraph g = ServingGraph.build(config)) {
      return BenchWeights.heUniform(g.variables(), seed);
    }
  }

  /** One of our SavedModels as saved (its own graph), loaded like the Segmenter does. */
  public static InferenceTarget fromSavedModel(Path model, SessionSettings settings)
      throws IOException {
    Path dir = SavedModels.resolve(model);
    ModelInfo info = SavedModels.readInfo(dir);
    SavedModelBundle bundle;
    try {
      bundle = SavedModelBundle.loader(dir.toString()).withTags(SavedModelBundle.DEFAULT_TAG)
          .withConfigProto(settings.toConfigProto()).load();
    } catch (TensorFlowException e) {
      throw new IOException("cannot load model " + dir + ": " + firstLine(e.getMessage()), e);
    }
    java.util.Optional<ServingTensors> tensors = ServingTensors.find(bundle.metaGraphDef());
    if (tensors.isEmpty()) {
      bundle.close();
      throw new IOException("model " + dir + " has no signature images -> semantic");
    }
    return new InferenceTarget(bundle, null, bundle.session(), tensors.get().images(),
        tensors.get().semantic(), info.config(), "SavedModel graph");
  }

  /** The weights of one of our SavedModels in a serving graph built here with {@code atrous}. */
  public static InferenceTarget fromSavedModelWeights(Path model, AtrousMode atrous,
      Fold foldBn, SessionSettings settings) throws IOException {
    Path dir = SavedModels.resolve(model);
    ModelInfo info = SavedModels.readInfo(dir);
    String variables = dir.resolve("variables").resolve("variables").toString();
    try {
      return buildHere(info.config(), atrous, foldBn, settings, s -> s.restore(variables),
          "SavedModel weights, graph built here");
    } catch (TensorFlowException e) {
      throw new IOException("cannot load weights of " + dir + ": " + firstLine(e.getMessage()), e);
    }
  }

  /**
   * Segments {@code batch} copies of an RGB image and returns the class ids of the first.
   *
   * @param rgb interleaved RGB, {@code width·height·3} bytes
   */
  public int[] segment(byte[] rgb, int width, int height, int batch) {
    byte[] data = rgb;
    if (batch > 1) {
      data = new byte[rgb.length * batch];
      for (int i = 0; i < batch; i++) {
        System.arraycopy(rgb, 0, data, i * rgb.length, rgb.length);
      }
    }
    if (networkOnly) {
      return networkArgmax(data, width, height, batch);
    }
    try (TUint8 input = TUint8.tensorOf(Shape.of(batch, height, width, 3),
            DataBuffers.of(data, true, false));
        Result r = session.runner().feed(imagesTensor, input).fetch(semanticTensor).run()) {
      TInt32 ids = (TInt32) r.get(0);
      int[] out = new int[(int) ids.shape().size()];
      ids.copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  private int[] networkArgmax(byte[] data, int width, int height, int batch) {
    if (width != config.cropWidth() || height != config.cropHeight()) {
      throw new IllegalArgumentException("the network takes " + config.cropWidth() + "x"
          + config.cropHeight() + " images, got " + width + "x" + height);
    }
    if (data != lastRgb) {
      float[] f = new float[data.length];
      for (int i = 0; i < f.length; i++) {
        f[i] = data[i] & 0xff;
      }
      lastRgb = data;
      lastPixels = f;
    }
    try (org.tensorflow.types.TFloat32 input = org.tensorflow.types.TFloat32.tensorOf(
            Shape.of(batch, height, width, 3), DataBuffers.of(lastPixels, true, false));
        Result r = session.runner().feed(imagesTensor, input).fetch(semanticTensor).run()) {
      org.tensorflow.types.TFloat32 logits = (org.tensorflow.types.TFloat32) r.get(0);
      float[] v = new float[(int) logits.shape().size()];
      logits.copyTo(DataBuffers.of(v, false, false));
      int c = config.numClasses();
      int[] out = new int[v.length / c];
      for (int p = 0; p < out.length; p++) {
        int best = 0;
        for (int k = 1; k < c; k++) {
          if (v[p * c + k] > v[p * c + best]) {
            best = k;
          }
        }
        out[p] = best;
      }
      return out;
    }
  }

  /**
   * Traces {@code runs} segmentations and sums their op times by type (see {@link OpProfile}).
   */
  public OpProfile profile(byte[] rgb, int width, int height, int batch, int runs) {
    java.util.List<org.tensorflow.proto.RunMetadata> mds = new java.util.ArrayList<>();
    byte[] data = rgb;
    if (batch > 1) {
      data = new byte[rgb.length * batch];
      for (int i = 0; i < batch; i++) {
        System.arraycopy(rgb, 0, data, i * rgb.length, rgb.length);
      }
    }
    for (int i = 0; i < runs; i++) {
      try (TUint8 input = TUint8.tensorOf(Shape.of(batch, height, width, 3),
              DataBuffers.of(data, true, false));
          Result r = session.runner().feed(imagesTensor, input).fetch(semanticTensor)
              .setOptions(OpProfile.traceOptions()).runAndFetchMetadata()) {
        r.getMetadata().ifPresent(mds::add);
      }
    }
    return OpProfile.of(mds);
  }

  /** The architecture. */
  public ModelConfig config() {
    return config;
  }

  /** Where the graph and weights came from, for reports. */
  public String description() {
    return description;
  }

  /** The session (for extra fetches). */
  public Session session() {
    return session;
  }

  static String atrousName(AtrousMode m) {
    return m == AtrousMode.SPACE_TO_BATCH ? "space-to-batch" : "native";
  }

  /** Parses {@code space-to-batch} or {@code native}. */
  public static AtrousMode parseAtrous(String s) {
    return switch (s.trim().toLowerCase(java.util.Locale.ROOT).replace('_', '-')) {
      case "space-to-batch", "s2b" -> AtrousMode.SPACE_TO_BATCH;
      case "native", "native-dilation", "dilated" -> AtrousMode.NATIVE_DILATION;
      default -> throw new IllegalArgumentException(
          "atrous must be space-to-batch or native, got '" + s + "'");
    };
  }

  @Override
  public void close() {
    try {
      owner.close();
      if (graphOwner != null) {
        graphOwner.close();
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot close " + description, e);
    }
  }

  static String firstLine(String s) {
    return s == null ? "unknown error" : s.strip().split("\\R", 2)[0];
  }
}
