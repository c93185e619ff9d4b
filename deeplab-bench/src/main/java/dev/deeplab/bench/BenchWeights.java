package dev.deeplab.bench;

import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.weights.FloatTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Deterministic random weights for speed measurements: He-uniform kernels ({@code ±sqrt(6 /
 * fan_in)}, so activations keep their scale through ReLU layers and never drift into denormals),
 * identity batch norm (gamma 1, beta 0, mean 0, variance 1) and zero biases.
 */
public final class BenchWeights {
  private BenchWeights() {}

  /** Values for every variable of {@code variables}, from {@code seed}. */
  public static Map<String, FloatTensor> heUniform(Map<String, ModelVariable> variables,
      long seed) {
    return uniform(variables, seed, 1.0);
  }

  /**
   * As {@link #heUniform} with the kernel range multiplied by {@code gain}. He weights (gain 1)
   * keep the scale through one ReLU, so residual networks with identity batch norm grow their
   * activations block after block (xception_65 logits reach ~1e9, harmless for speed); gain
   * {@code 1/sqrt(2)} (LeCun) keeps them near 1, which numerical comparisons need.
   */
  public static Map<String, FloatTensor> uniform(Map<String, ModelVariable> variables, long seed,
      double gain) {
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (ModelVariable v : variables.values()) {
      long[] shape = v.shape();
      float[] data = new float[(int) v.size()];
      switch (v.role()) {
        case WEIGHTS, DEPTHWISE_WEIGHTS -> {
          long fanIn = v.role() == dev.deeplab.internal.nn.Role.DEPTHWISE_WEIGHTS
              ? shape[0] * shape[1] : shape[0] * shape[1] * shape[2];
          double limit = gain * Math.sqrt(6.0 / fanIn);
          for (int i = 0; i < data.length; i++) {
            data[i] = (float) ((random.nextDouble() * 2 - 1) * limit);
          }
        }
        case BN_GAMMA, BN_MOVING_VARIANCE -> java.util.Arrays.fill(data, 1f);
        default -> { }
      }
      out.put(v.name(), new FloatTensor(shape.clone(), data));
    }
    return out;
  }

  /** A deterministic RGB image (uniform noise), interleaved, {@code width·height·3} bytes. */
  public static byte[] noiseImage(int width, int height, long seed) {
    byte[] rgb = new byte[width * height * 3];
    new SplittableRandom(seed).nextBytes(rgb);
    return rgb;
  }
}
