package dev.deeplab.internal.nn;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.random.RandomUniform;
import org.tensorflow.types.TFloat32;

/**
 * Inverted dropout as {@code tf.nn.dropout}: keeps each element with probability {@code keep} and
 * scales kept ones by {@code 1/keep}; the identity outside training.
 */
public final class Dropout {
  private Dropout() {}

  /** Applies dropout in {@code scope} when the network is in training mode. */
  public static Operand<TFloat32> apply(NetScope scope, Operand<TFloat32> x, float keep) {
    if (!scope.state().training()) {
      return x;
    }
    Ops tf = scope.tf();
    long[] seed = scope.state().nextSeed();
    Operand<TFloat32> u = tf.random.randomUniform(tf.shape(x), TFloat32.class,
        RandomUniform.seed(seed[0]), RandomUniform.seed2(seed[1]));
    Operand<TFloat32> mask = tf.math.floor(tf.math.add(u, tf.constant(keep)));
    return tf.math.mul(x, tf.math.mul(mask, tf.constant(1f / keep)));
  }
}
