package dev.deeplab.internal.nn;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.random.RandomUniform;
import org.tensorflow.op.random.TruncatedNormal;
import org.tensorflow.types.TFloat32;

/**
 * Builds the initial value of a variable in the graph's init scope. The factories reproduce the
 * initialisers the official code uses; fan-in is computed here by hand because TF Java 1.1.0's
 * {@code VarianceScaling} gets it wrong for conv kernels (it multiplies in the input depth twice).
 */
@FunctionalInterface
public interface Initializer {

  /**
   * @param init ops in the init scope
   * @param shape the variable's shape
   * @param seed op-level seed pair for determinism: {@code seed[0]} graph seed, {@code seed[1]}
   *     per-op counter
   */
  Operand<TFloat32> create(Ops init, Shape shape, long[] seed);

  /** {@code tf.truncated_normal_initializer(stddev)}: N(0, stddev) cut at two deviations. */
  static Initializer truncatedNormal(double stddev) {
    return (init, shape, seed) ->
        init.math.mul(
            init.random.truncatedNormal(
                init.constant(shape.asArray()),
                TFloat32.class,
                TruncatedNormal.seed(seed[0]),
                TruncatedNormal.seed2(seed[1])),
            init.constant((float) stddev));
  }

  /**
   * slim's {@code variance_scaling_initializer()} default (factor 2, fan-in, truncated normal):
   * stddev = sqrt(1.3 * 2 / fan_in), the ResNet initialiser.
   */
  static Initializer varianceScaling() {
    return (init, shape, seed) ->
        truncatedNormal(Math.sqrt(1.3 * 2.0 / fanIn(shape))).create(init, shape, seed);
  }

  /**
   * {@code variance_scaling_initializer(factor, mode='FAN_IN', uniform=True)}: U(±sqrt(3 · factor
   * / fan_in)); the NAS networks use factor 1/3 ({@code nas_network.nas_arg_scope}).
   */
  static Initializer varianceScalingUniform(double factor) {
    return (init, shape, seed) ->
        symmetricUniform(init, shape, seed, Math.sqrt(3.0 * factor / fanIn(shape)));
  }

  /** slim's default {@code xavier_initializer()}: U(±sqrt(6 / (fan_in + fan_out))). */
  static Initializer xavierUniform() {
    return (init, shape, seed) ->
        symmetricUniform(init, shape, seed, Math.sqrt(6.0 / (fanIn(shape) + fanOut(shape))));
  }

  /** U(±limit) of {@code shape}, from TF's seeded uniform on [0, 1). */
  private static Operand<TFloat32> symmetricUniform(Ops init, Shape shape, long[] seed,
      double limit) {
    Operand<TFloat32> u =
        init.random.randomUniform(
            init.constant(shape.asArray()),
            TFloat32.class,
            RandomUniform.seed(seed[0]),
            RandomUniform.seed2(seed[1]));
    return init.math.mul(
        init.math.sub(u, init.constant(0.5f)), init.constant((float) (2 * limit)));
  }

  /** All elements equal {@code value}. */
  static Initializer constant(float value) {
    return (init, shape, seed) -> init.fill(init.constant(shape.asArray()), init.constant(value));
  }

  /** Receptive field times input depth: all dimensions but the last, for [kh, kw, in, out]. */
  static double fanIn(Shape shape) {
    long n = 1;
    for (int i = 0; i < shape.numDimensions() - 1; i++) {
      n *= shape.size(i);
    }
    return n;
  }

  /** Receptive field times output depth, for [kh, kw, in, out]. */
  static double fanOut(Shape shape) {
    long n = shape.size(shape.numDimensions() - 1);
    for (int i = 0; i < shape.numDimensions() - 2; i++) {
      n *= shape.size(i);
    }
    return n;
  }
}
