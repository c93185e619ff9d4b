package dev.deeplab.internal.nn;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.types.TFloat32;

/**
 * Batch normalisation as slim's {@code batch_norm} with {@code scale=True} creates it: variables
 * {@code BatchNorm/{beta,gamma,moving_mean,moving_variance}} in the layer's scope.
 *
 * <p>Training mode normalises with the batch statistics and adds the moving-average updates
 * {@code moving -= (1 - decay) * (moving - batch)} to {@link NetState#updateOps()} (TF's fused
 * kernel reports the Bessel-corrected batch variance, which is what slim averages). Inference mode
 * uses the moving statistics. Both run as {@code FusedBatchNormV3}, whose C++ gradient is correct.
 *
 * @param decay moving-average decay
 * @param epsilon variance epsilon
 */
public record BatchNormSpec(float decay, float epsilon) {

  /**
   * Inference-mode batch norm as {@code y = x·scale + shift} per channel, with {@code scale =
   * gamma / sqrt(moving_variance + epsilon)} and {@code shift = beta - moving_mean·scale}.
   *
   * @param scale multiply the conv filter's output channels by this
   * @param shift add this to the conv output
   */
  public record Folded(Operand<TFloat32> scale, Operand<TFloat32> shift) {}

  /**
   * Creates the same four variables as {@link #apply} in a {@code BatchNorm} sub-scope of {@code
   * layer} and returns the inference-mode scale and shift to fold into the conv before it.
   */
  public Folded fold(NetScope layer, long channels) {
    Variables v = variables(layer, channels);
    Ops tf = v.scope.tf();
    Operand<TFloat32> scale = tf.math.mul(v.gamma,
        tf.math.rsqrt(tf.math.add(v.variance, tf.constant(epsilon))));
    Operand<TFloat32> shift = tf.math.sub(v.beta, tf.math.mul(v.mean, scale));
    return new Folded(scale, shift);
  }

  /** The four variables of one batch norm and the scope that holds them. */
  private record Variables(NetScope scope, Variable<TFloat32> beta, Variable<TFloat32> gamma,
      Variable<TFloat32> mean, Variable<TFloat32> variance) {}

  private static Variables variables(NetScope layer, long channels) {
    return variablesIn(layer.child("BatchNorm"), channels);
  }

  private static Variables variablesIn(NetScope s, long channels) {
    long[] shape = {channels};
    return new Variables(s,
        s.variable("beta", shape, Initializer.constant(0f), Role.BN_BETA),
        s.variable("gamma", shape, Initializer.constant(1f), Role.BN_GAMMA),
        s.variable("moving_mean", shape, Initializer.constant(0f), Role.BN_MOVING_MEAN),
        s.variable("moving_variance", shape, Initializer.constant(1f), Role.BN_MOVING_VARIANCE));
  }

  /** Normalises {@code x} ([N,H,W,C]) in a {@code BatchNorm} sub-scope of {@code layer}. */
  public Operand<TFloat32> apply(NetScope layer, Operand<TFloat32> x) {
    return applyIn(layer.child("BatchNorm"), x);
  }

  /**
   * Normalises {@code x} with the four variables directly in {@code scope}, as {@code
   * slim.batch_norm(net, scope='conv0_bn')} names them when called on its own (the NAS networks).
   */
  public Operand<TFloat32> applyIn(NetScope scope, Operand<TFloat32> x) {
    NetState state = scope.state();
    Variables v = variablesIn(scope, x.shape().size(3));
    Variable<TFloat32> beta = v.beta;
    Variable<TFloat32> gamma = v.gamma;
    Variable<TFloat32> mean = v.mean;
    Variable<TFloat32> variance = v.variance;
    Ops tf = v.scope.tf();
    if (!state.trainBatchNorm()) {
      return tf.nn
          .fusedBatchNorm(
              x,
              gamma,
              beta,
              mean,
              variance,
              FusedBatchNorm.isTraining(false),
              FusedBatchNorm.epsilon(epsilon))
          .y();
    }
    Operand<TFloat32> empty = tf.constant(new float[0]);
    FusedBatchNorm<TFloat32, TFloat32> bn =
        tf.nn.fusedBatchNorm(
            x,
            gamma,
            beta,
            empty,
            empty,
            FusedBatchNorm.isTraining(true),
            FusedBatchNorm.epsilon(epsilon));
    Operand<TFloat32> rate = tf.constant(1f - decay);
    state.addUpdate(
        tf.assignSub(mean, tf.math.mul(tf.math.sub(mean, bn.batchMean()), rate)));
    state.addUpdate(
        tf.assignSub(variance, tf.math.mul(tf.math.sub(variance, bn.batchVariance()), rate)));
    return bn.y();
  }
}
