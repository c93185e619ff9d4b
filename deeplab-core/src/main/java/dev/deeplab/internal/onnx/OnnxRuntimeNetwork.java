package dev.deeplab.internal.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.deeplab.infer.SegmentationException;
import dev.deeplab.internal.infer.Network;
import dev.deeplab.internal.infer.Resampling;
import dev.deeplab.internal.infer.UpsampledArgmax;
import dev.deeplab.model.ModelInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * One of our ONNX models ({@link OnnxModelWriter}) in ONNX Runtime's CPU provider with all graph
 * optimisations. Thread-safe ({@code OrtSession.run} is); closing it frees the native session.
 *
 * <p>Class ids alone come from a logits-only model's ({@link OnnxModelWriter.Outputs#LOGITS})
 * output, finished in Java by {@link UpsampledArgmax}, which skips most of the upsampling;
 * otherwise, and with probabilities, from the model's own outputs.
 */
public final class OnnxRuntimeNetwork implements Network {
  /** Where a model with the probabilities output comes from, loaded when first needed. */
  @FunctionalInterface
  public interface ModelSource {
    Path path() throws IOException;
  }

  private final OrtEnvironment env;
  private final OrtSession session;
  private final boolean probabilities;
  private final int threads;
  private final ModelSource probabilitiesSource;
  private OrtSession probabilitiesSession;
  /** {@code {cropHeight, cropWidth}} when class ids are finished in Java, else null. */
  private final int[] logitsCrop;
  private boolean closed;

  /**
   * Loads {@code model} with {@code threads} intra-op threads (0: one per physical core, {@link
   * CpuCores}).
   *
   * @throws IOException if ONNX Runtime cannot load the file
   */
  public OnnxRuntimeNetwork(Path model, int threads) throws IOException {
    this(model, threads, null);
  }

  /**
   * Loads {@code model}; probabilities, when the model lacks them, come from the model of {@code
   * probabilities} (null: none), loaded on first use. ONNX Runtime computes every output of a
   * model, so a class-ids-only model is the faster one for class ids.
   */
  public OnnxRuntimeNetwork(Path model, int threads, ModelSource probabilities)
      throws IOException {
    this.env = OnnxRuntimeLibraries.environment();
    this.threads = threads;
    this.session = load(model);
    boolean own = session.getOutputNames().contains(OnnxModelWriter.PROBABILITIES);
    this.probabilities = own || probabilities != null;
    this.probabilitiesSource = own ? null : probabilities;
    this.logitsCrop = logitsCrop(session);
  }

  /**
   * The crop size of a model with the logits output but no class ids ({@link
   * OnnxModelWriter.Outputs#LOGITS}) and our metadata, else null (the model's own class ids are
   * used then).
   */
  private static int[] logitsCrop(OrtSession session) {
    try {
      String json = session.getMetadata().getCustomMetadata().get(OnnxModelWriter.INFO_KEY);
      Set<String> outputs = session.getOutputNames();
      if (json == null || !outputs.contains(OnnxModelWriter.LOGITS)
          || outputs.contains(OnnxModelWriter.SEMANTIC)) {
        return null;
      }
      ModelInfo info = ModelInfo.fromJson(json);
      return new int[] {info.config().cropHeight(), info.config().cropWidth()};
    } catch (OrtException | IOException | IllegalArgumentException e) {
      return null;
    }
  }

  private OrtSession load(Path model) throws IOException {
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      options.setIntraOpNumThreads(CpuCores.intraOpThreads(threads));
      options.setInterOpNumThreads(1);
      // No memory patterns: ONNX Runtime records one per input shape over the first runs, which
      // then took 2-3 times as long; without them 60 runs of six photo shapes took 0.93 of the
      // time and the median was no slower (BENCHMARKS.md §9d).
      options.setMemoryPatternOptimization(false);
      // Idle worker threads sleep instead of spinning: spinning took cores from everything else
      // (segment's reading and PNG writing, other processes) and doubled the median under load
      // (BENCHMARKS.md §9).
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      return env.createSession(model.toString(), options);
    } catch (OrtException e) {
      throw new IOException("ONNX Runtime cannot load " + model + ": " + firstLine(e), e);
    }
  }

  /** The session with the probabilities output, loaded on first use. */
  private synchronized OrtSession probabilitiesSession() {
    if (probabilitiesSource == null) {
      return session;
    }
    if (probabilitiesSession == null) {
      try {
        probabilitiesSession = load(probabilitiesSource.path());
      } catch (IOException e) {
        throw new SegmentationException("cannot load the model with probabilities: "
            + e.getMessage(), e);
      }
    }
    return probabilitiesSession;
  }

  /**
   * The model info stored in the file's metadata by {@link OnnxModelWriter}.
   *
   * @throws IOException if the file has none (not an ONNX model we wrote)
   */
  public ModelInfo modelInfo() throws IOException {
    String json;
    try {
      json = session.getMetadata().getCustomMetadata().get(OnnxModelWriter.INFO_KEY);
    } catch (OrtException e) {
      throw new IOException("cannot read the ONNX model's metadata: " + firstLine(e), e);
    }
    if (json == null) {
      throw new IOException("not a DeepLab ONNX model we exported: its metadata has no "
          + OnnxModelWriter.INFO_KEY);
    }
    return ModelInfo.fromJson(json);
  }

  @Override
  public boolean hasProbabilities() {
    return probabilities;
  }

  @Override
  public Output run(byte[] rgb, int n, int height, int width, boolean withProbabilities) {
    if (withProbabilities && !probabilities) {
      throw new IllegalStateException("this ONNX model was exported without probabilities");
    }
    OrtSession use = withProbabilities ? probabilitiesSession() : session;
    ByteBuffer buffer = ByteBuffer.allocateDirect(rgb.length);
    buffer.put(rgb).flip();
    boolean finishInJava = !withProbabilities && logitsCrop != null;
    Set<String> wanted = withProbabilities
        ? Set.of(OnnxModelWriter.SEMANTIC, OnnxModelWriter.PROBABILITIES)
        : Set.of(finishInJava ? OnnxModelWriter.LOGITS : OnnxModelWriter.SEMANTIC);
    try (OnnxTensor images = OnnxTensor.createTensor(env, buffer,
            new long[] {n, height, width, 3}, OnnxJavaType.UINT8);
        OrtSession.Result r = use.run(Map.of(OnnxModelWriter.IMAGES, images), wanted)) {
      if (finishInJava) {
        return new Output(classIds((OnnxTensor) r.get(OnnxModelWriter.LOGITS).orElseThrow(),
            n, height, width), null);
      }
      IntBuffer idBuffer = ((OnnxTensor) r.get(OnnxModelWriter.SEMANTIC).orElseThrow())
          .getIntBuffer();
      int[] ids = new int[idBuffer.remaining()];
      idBuffer.get(ids);
      float[] probs = null;
      if (withProbabilities) {
        FloatBuffer p = ((OnnxTensor) r.get(OnnxModelWriter.PROBABILITIES).orElseThrow())
            .getFloatBuffer();
        probs = new float[p.remaining()];
        p.get(probs);
      }
      return new Output(ids, probs);
    } catch (OrtException e) {
      throw new SegmentationException("ONNX Runtime failed to segment " + n + " " + width + "x"
          + height + " image(s): " + firstLine(e), e);
    }
  }

  /** Class ids {@code [n * height * width]} from the logits {@code [n, h, w, classes]}. */
  private int[] classIds(OnnxTensor logits, int n, int height, int width) {
    long[] shape = logits.getInfo().getShape();
    FloatBuffer buffer = logits.getFloatBuffer();
    float[] values = new float[buffer.remaining()];
    buffer.get(values);
    int[] fit = Resampling.fittedSize(height, width, logitsCrop[0], logitsCrop[1]);
    int perImage = (int) (shape[1] * shape[2] * shape[3]);
    int[] ids = new int[Math.multiplyExact(n, height * width)];
    for (int i = 0; i < n; i++) {
      int[] one = UpsampledArgmax.classIds(values, i * perImage, (int) shape[1], (int) shape[2],
          (int) shape[3], logitsCrop, fit, height, width);
      System.arraycopy(one, 0, ids, i * height * width, one.length);
    }
    return ids;
  }

  /** Frees the sessions; later calls do nothing. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      session.close();
      if (probabilitiesSession != null) {
        probabilitiesSession.close();
      }
    } catch (OrtException e) {
      throw new IllegalStateException("cannot close the ONNX Runtime session: " + firstLine(e), e);
    }
  }

  private static String firstLine(Exception e) {
    String m = e.getMessage();
    return m == null ? e.getClass().getSimpleName() : m.strip().split("\\R", 2)[0];
  }
}
