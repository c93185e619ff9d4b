package dev.deeplab.bench;

import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import java.util.Map;
import java.util.SplittableRandom;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * Checks that the two atrous forms compute the same network: the logits of a space-to-batch and
 * a native-dilation graph with the same weights on the same image.
 *
 * @param maxAbsDiff largest absolute difference of the logits
 * @param maxAbsLogit largest absolute logit (for scale)
 * @param argmaxAgreement fraction of logit positions whose argmax class agrees
 */
public record AtrousParity(double maxAbsDiff, double maxAbsLogit, double argmaxAgreement) {

  /** Runs both forms of {@code config} with {@code weights} on a noise image from {@code seed}. */
  public static AtrousParity check(ModelConfig config, Map<String, FloatTensor> weights,
      SessionSettings settings, long seed) throws CheckpointException {
    int h = config.cropHeight();
    int w = config.cropWidth();
    float[] pixels = new float[h * w * 3];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = r.nextInt(256);
    }
    float[] a = logits(config, AtrousMode.SPACE_TO_BATCH, weights, settings, pixels);
    float[] b = logits(config, AtrousMode.NATIVE_DILATION, weights, settings, pixels);
    double diff = 0;
    double scale = 0;
    for (int i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(a[i]));
    }
    int c = config.numClasses();
    int agree = 0;
    int n = a.length / c;
    for (int p = 0; p < n; p++) {
      if (argmax(a, p * c, c) == argmax(b, p * c, c)) {
        agree++;
      }
    }
    return new AtrousParity(diff, scale, n == 0 ? 1 : (double) agree / n);
  }

  private static int argmax(float[] v, int off, int n) {
    int best = 0;
    for (int k = 1; k < n; k++) {
      if (v[off + k] > v[off + best]) {
        best = k;
      }
    }
    return best;
  }

  private static float[] logits(ModelConfig config, AtrousMode mode,
      Map<String, FloatTensor> weights, SessionSettings settings, float[] pixels)
      throws CheckpointException {
    try (ModelGraph g = ModelGraph.build(config, mode);
        Session s = new Session(g.graph(), settings.toConfigProto())) {
      Checkpoints.restore(s, weights);
      try (TFloat32 in = TFloat32.tensorOf(Shape.of(1, config.cropHeight(), config.cropWidth(), 3),
              DataBuffers.of(pixels, true, false));
          Result res = s.runner().feed(g.pixels(), in).fetch(g.logits()).run()) {
        TFloat32 out = (TFloat32) res.get(0);
        float[] v = new float[(int) out.shape().size()];
        out.copyTo(DataBuffers.of(v, false, false));
        return v;
      }
    }
  }

  /** He weights for the inference network of {@code config} (see {@link BenchWeights}). */
  public static Map<String, FloatTensor> randomWeights(ModelConfig config, long seed) {
    return randomWeights(config, seed, 1.0);
  }

  /** Weights with kernel gain {@code gain} (see {@link BenchWeights#uniform}). */
  public static Map<String, FloatTensor> randomWeights(ModelConfig config, long seed,
      double gain) {
    try (ModelGraph g = ModelGraph.build(config)) {
      return BenchWeights.uniform(g.variables(), seed, gain);
    }
  }

  /** The largest difference relative to the largest logit. */
  public double relativeDiff() {
    return maxAbsLogit == 0 ? maxAbsDiff : maxAbsDiff / maxAbsLogit;
  }
}
