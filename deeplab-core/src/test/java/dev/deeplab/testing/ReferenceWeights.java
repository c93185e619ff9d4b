package dev.deeplab.testing;

import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.weights.FloatTensor;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Deterministic pseudo-random weights shared with {@code tools/reference/deeplab_reference.py}:
 * both sides derive every value from the variable name and element index (FNV-1a of the name,
 * then a SplitMix64 step), so Java and Python TF build bit-identical weights without a checkpoint
 * file in the repository.
 */
public final class ReferenceWeights {
  private ReferenceWeights() {}

  /** Uniform values in [-1, 1) for {@code name}, one per element. */
  public static double[] signedUniform(String name, int n) {
    long h = 0xcbf29ce484222325L;
    for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      long z = h + (i + 1L) * 0x9E3779B97F4A7C15L;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      z = z ^ (z >>> 31);
      double u = (z >>> 40) / 16777216.0;
      out[i] = 2.0 * u - 1.0;
    }
    return out;
  }

  /** The value of every variable by the rule of its leaf name. */
  public static Map<String, FloatTensor> forVariables(Iterable<ModelVariable> vars) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (ModelVariable v : vars) {
      out.put(v.name(), forVariable(v.name(), v.shape()));
    }
    return out;
  }

  /** The value of one variable by the rule of its leaf name. */
  public static FloatTensor forVariable(String name, long[] shape) {
    int n = 1;
    for (long d : shape) {
      n *= (int) d;
    }
    double[] s = signedUniform(name, n);
    String leaf = name.substring(name.lastIndexOf('/') + 1);
    float[] data = new float[n];
    for (int i = 0; i < n; i++) {
      data[i] = (float) switch (leaf) {
        case "weights", "pointwise_weights" -> s[i] * Math.sqrt(6.0 / fanIn(shape, shape.length - 1));
        case "depthwise_weights" -> s[i] * Math.sqrt(6.0 / fanIn(shape, 2));
        case "biases", "beta", "moving_mean" -> 0.1 * s[i];
        case "gamma", "moving_variance" -> 1.0 + 0.25 * s[i];
        default -> throw new IllegalArgumentException("no rule for " + name);
      };
    }
    return new FloatTensor(shape.clone(), data);
  }

  private static double fanIn(long[] shape, int dims) {
    long n = 1;
    for (int i = 0; i < dims; i++) {
      n *= shape[i];
    }
    return n;
  }

  /** The reference input image [1, h, w, 3], pixel values 0..255. */
  public static FloatTensor input(int h, int w) {
    int n = h * w * 3;
    double[] s = signedUniform("input", n);
    float[] data = new float[n];
    for (int i = 0; i < n; i++) {
      double u = (s[i] + 1.0) / 2.0;
      data[i] = (float) Math.floor(u * 256);
    }
    return new FloatTensor(new long[] {1, h, w, 3}, data);
  }
}
