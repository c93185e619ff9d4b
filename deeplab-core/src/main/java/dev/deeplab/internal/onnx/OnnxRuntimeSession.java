package dev.deeplab.internal.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * One of our ONNX models ({@link OnnxModelWriter}) loaded into ONNX Runtime's CPU provider with
 * all graph optimisations: same-size image batches in, class ids (and probabilities) out.
 * Thread-safe ({@code OrtSession.run} is); closing it frees the native session.
 */
public final class OnnxRuntimeSession implements AutoCloseable {
  private final OrtEnvironment env;
  private final OrtSession session;
  private final boolean probabilities;

  /** What one run gives: class ids {@code [n*h*w]} and probabilities {@code [n*h*w*C]} or null. */
  public record Output(int[] classIds, float[] probabilities) {}

  /**
   * Loads {@code model} with {@code threads} intra-op threads (0: ONNX Runtime's default, one per
   * core).
   *
   * @throws OrtException if ONNX Runtime cannot load the file
   */
  public OnnxRuntimeSession(Path model, int threads) throws OrtException {
    env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      if (threads > 0) {
        options.setIntraOpNumThreads(threads);
      }
      options.setInterOpNumThreads(1);
      session = env.createSession(model.toString(), options);
    }
    probabilities = session.getOutputNames().contains(OnnxModelWriter.PROBABILITIES);
  }

  /** Whether the model has the probabilities output. */
  public boolean hasProbabilities() {
    return probabilities;
  }

  /**
   * Runs {@code n} images of {@code height x width}, RGB bytes back to back in {@code rgb}.
   *
   * @param withProbabilities also fetch the probabilities (the model must have them)
   */
  public Output run(byte[] rgb, int n, int height, int width, boolean withProbabilities)
      throws OrtException {
    if (withProbabilities && !probabilities) {
      throw new IllegalStateException("this ONNX model was exported without probabilities");
    }
    ByteBuffer buffer = ByteBuffer.allocateDirect(rgb.length);
    buffer.put(rgb).flip();
    Set<String> wanted = withProbabilities
        ? Set.of(OnnxModelWriter.SEMANTIC, OnnxModelWriter.PROBABILITIES)
        : Set.of(OnnxModelWriter.SEMANTIC);
    try (OnnxTensor images = OnnxTensor.createTensor(env, buffer,
            new long[] {n, height, width, 3}, OnnxJavaType.UINT8);
        OrtSession.Result r = session.run(Map.of(OnnxModelWriter.IMAGES, images), wanted)) {
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
    }
  }

  @Override
  public void close() throws OrtException {
    session.close();
  }
}
