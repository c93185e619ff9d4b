package dev.deeplab.nn;

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

  /** Normalises {@code x} ([N,H,W,C]) in a {@code BatchNorm} sub-scope of {@code layer}. */
  public Operand<TFloat32> apply(NetScope layer, Operand<TFloat32> x) {
    long c = x.shape().size(3);
    NetScope s = layer.child("BatchNorm");
    long[] shape = {c};
    Variable<TFloat32> beta = s.variable("beta", shape, Initializer.constant(0f), Role.BN_BETA);
    Variable<TFloat32> gamma = s.variable("gamma", shape, Initializer.constant(1f), Role.BN_GAMMA);
    Variable<TFloat32> mean =
        s.variable("moving_mean", shape, Initializer.constant(0f), Role.BN_MOVING_MEAN);
    Variable<TFloat32> variance =
        s.variable("moving_variance", shape, Initializer.constant(1f), Role.BN_MOVING_VARIANCE);
    Ops tf = s.tf();
    NetState state = layer.state();
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
