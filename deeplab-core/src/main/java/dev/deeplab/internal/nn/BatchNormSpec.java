package dev.deeplab.internal.nn;

import dev.deeplab.internal.weights.FloatTensor;
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

  /**
   * A convolution's weights with this batch norm folded in at graph build time, as constants: the
   * filter times {@code scale} per output channel and the bias {@code shift}, computed in double
   * from the weights of a {@link NetState#folded} state ({@link #foldInto}).
   *
   * @param filter the folded filter, the conv's shape
   * @param shift the bias to add to the conv's output
   */
  public record FoldedConv(Operand<TFloat32> filter, Operand<TFloat32> shift) {}

  /**
   * Creates the same four variables as {@link #apply} in a {@code BatchNorm} sub-scope of {@code
   * layer} and, if {@code layer}'s state folds weights and holds them and the filter {@code
   * layer/filterName}, returns the conv's filter and bias with this batch norm folded in, as
   * constants; null otherwise. {@code channels} is the batch norm's (the filter's output
   * channels, last in its flattened order).
   */
  public FoldedConv foldedConstants(NetScope layer, String filterName, long[] filterShape,
      long channels) {
    Variables v = variables(layer, channels);
    long[] c = {channels};
    FloatTensor filter = layer.weight(filterName, filterShape);
    FloatTensor gamma = v.scope.weight("gamma", c);
    FloatTensor beta = v.scope.weight("beta", c);
    FloatTensor mean = v.scope.weight("moving_mean", c);
    FloatTensor variance = v.scope.weight("moving_variance", c);
    if (filter == null || gamma == null || beta == null || mean == null || variance == null) {
      return null;
    }
    FloatTensor[] folded = foldInto(filter, gamma.data(), beta.data(), mean.data(),
        variance.data(), epsilon);
    String key = "folded:" + layer.path() + "/" + filterName;
    return new FoldedConv(layer.constant(key, filterName + "_folded", folded[0]),
        layer.constant(key + ":bias", "biases_folded", folded[1]));
  }

  /**
   * Inference batch norm folded into the conv before it: {@code W'[..., c] = W[..., c]·s[c]} and
   * {@code b[c] = beta[c] - mean[c]·s[c]} with {@code s = gamma / sqrt(variance + epsilon)}, in
   * double, rounded once to float. {@code filter}'s output channel is its fastest-varying index
   * (HWIO filters, and depthwise {@code [h, w, C, 1]} filters, whose channel is {@code C}).
   *
   * @return the folded filter and the bias
   */
  public static FloatTensor[] foldInto(FloatTensor filter, float[] gamma, float[] beta,
      float[] mean, float[] variance, float epsilon) {
    int channels = gamma.length;
    double[] scale = new double[channels];
    float[] bias = new float[channels];
    for (int c = 0; c < channels; c++) {
      scale[c] = gamma[c] / Math.sqrt((double) variance[c] + (double) epsilon);
      bias[c] = (float) (beta[c] - mean[c] * scale[c]);
    }
    float[] w = filter.data();
    if (w.length % channels != 0) {
      throw new IllegalArgumentException("filter of shape " + filter.shapeString()
          + " does not end in " + channels + " channels");
    }
    float[] folded = new float[w.length];
    for (int i = 0; i < w.length; i++) {
      folded[i] = (float) (w[i] * scale[i % channels]);
    }
    return new FloatTensor[] {new FloatTensor(filter.shape().clone(), folded),
        new FloatTensor(new long[] {channels}, bias)};
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
    long channels = x.shape().size(3);
    Variables v = variablesIn(scope, channels);
    Variable<TFloat32> mean = v.mean;
    Variable<TFloat32> variance = v.variance;
    Ops tf = v.scope.tf();
    if (!state.trainBatchNorm()) {
      long[] c = {channels};
      Operand<TFloat32> gamma = scope.constantOr("gamma", c, v.gamma);
      Operand<TFloat32> beta = scope.constantOr("beta", c, v.beta);
      return tf.nn
          .fusedBatchNorm(
              x,
              gamma,
              beta,
              scope.constantOr("moving_mean", c, mean),
              scope.constantOr("moving_variance", c, variance),
              FusedBatchNorm.isTraining(false),
              FusedBatchNorm.epsilon(epsilon))
          .y();
    }
    Operand<TFloat32> empty = tf.constant(new float[0]);
    FusedBatchNorm<TFloat32, TFloat32> bn =
        tf.nn.fusedBatchNorm(
            x,
            v.gamma,
            v.beta,
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
