package dev.deeplab.internal.nn;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.nn.Conv2d;
import org.tensorflow.op.nn.DepthwiseConv2dNative;
import org.tensorflow.types.TFloat32;

/**
 * A slim-style convolution layer: conv → batch norm (or bias) → activation, with the variables
 * slim creates ({@code weights} or {@code depthwise_weights}, {@code BatchNorm/*} or {@code
 * biases}). Immutable; configure with the fluent methods, then {@link #apply}.
 *
 * <p>Rates above 1 go through {@link Atrous}; strided convs with {@link Padding#EXPLICIT} use the
 * official fixed padding.
 */
public final class Conv {
  private final int outChannels;
  private final int kernel;
  private final boolean depthwise;
  private final int stride;
  private final int rate;
  private final Padding padding;
  private final BatchNormSpec batchNorm;
  private final boolean bias;
  private final Activation activation;
  private final Initializer init;

  private Conv(
      int outChannels,
      int kernel,
      boolean depthwise,
      int stride,
      int rate,
      Padding padding,
      BatchNormSpec batchNorm,
      boolean bias,
      Activation activation,
      Initializer init) {
    this.outChannels = outChannels;
    this.kernel = kernel;
    this.depthwise = depthwise;
    this.stride = stride;
    this.rate = rate;
    this.padding = padding;
    this.batchNorm = batchNorm;
    this.bias = bias;
    this.activation = activation;
    this.init = init;
  }

  /** A {@code kernel}×{@code kernel} conv to {@code outChannels}; stride 1, SAME, no BN, no bias. */
  public static Conv conv(int outChannels, int kernel) {
    return new Conv(outChannels, kernel, false, 1, 1, Padding.SAME, null, false, Activation.NONE,
        Initializer.xavierUniform());
  }

  /** A depthwise conv (depth multiplier 1), as {@code slim.separable_conv2d(num_outputs=None)}. */
  public static Conv depthwise(int kernel) {
    return new Conv(-1, kernel, true, 1, 1, Padding.SAME, null, false, Activation.NONE,
        Initializer.xavierUniform());
  }

  public Conv stride(int s) {
    return new Conv(outChannels, kernel, depthwise, s, rate, padding, batchNorm, bias, activation, init);
  }

  public Conv rate(int r) {
    return new Conv(outChannels, kernel, depthwise, stride, r, padding, batchNorm, bias, activation, init);
  }

  public Conv padding(Padding p) {
    return new Conv(outChannels, kernel, depthwise, stride, rate, p, batchNorm, bias, activation, init);
  }

  /** Adds batch norm (and no bias), as slim's {@code normalizer_fn=batch_norm}. */
  public Conv batchNorm(BatchNormSpec bn) {
    return new Conv(outChannels, kernel, depthwise, stride, rate, padding, bn, false, activation, init);
  }

  /** Adds a {@code biases} variable instead of batch norm. */
  public Conv withBias() {
    return new Conv(outChannels, kernel, depthwise, stride, rate, padding, null, true, activation, init);
  }

  public Conv activation(Activation a) {
    return new Conv(outChannels, kernel, depthwise, stride, rate, padding, batchNorm, bias, a, init);
  }

  public Conv init(Initializer i) {
    return new Conv(outChannels, kernel, depthwise, stride, rate, padding, batchNorm, bias, activation, i);
  }

  /** Builds the layer in a new scope {@code name} under {@code parent}. */
  public Operand<TFloat32> apply(NetScope parent, String name, Operand<TFloat32> x) {
    return applyIn(parent.child(name), x);
  }

  /** Builds the layer directly in {@code scope} (for slim layers named by their parent scope). */
  public Operand<TFloat32> applyIn(NetScope scope, Operand<TFloat32> x) {
    if (stride > 1 && rate > 1) {
      throw new IllegalArgumentException("a conv cannot have both stride and rate above 1");
    }
    long inChannels = x.shape().size(3);
    long[] shape =
        depthwise
            ? new long[] {kernel, kernel, inChannels, 1}
            : new long[] {kernel, kernel, inChannels, outChannels};
    Variable<TFloat32> filter =
        scope.variable(
            depthwise ? "depthwise_weights" : "weights",
            shape,
            init,
            depthwise ? Role.DEPTHWISE_WEIGHTS : Role.WEIGHTS);
    Ops tf = scope.tf();
    // Inference: a depthwise conv's batch norm is folded into the filter (scale) and a bias add
    // (shift), so that depthwise + BiasAdd + Relu fuse; TF runs it as a separate
    // FusedBatchNormV3 otherwise, very slow under oneDNN (BENCHMARKS.md). Dense convs keep
    // FusedBatchNorm, which Grappler already fuses (folding them costs a filter multiply per
    // run). Same variables, same names.
    BatchNormSpec.Folded folded = batchNorm != null && depthwise && !scope.state().trainBatchNorm()
        ? batchNorm.fold(scope, inChannels) : null;
    Operand<TFloat32> kernelValue = folded == null ? filter
        : tf.math.mul(filter, tf.reshape(folded.scale(), tf.constant(new long[] {-1, 1})));
    Atrous.PhaseConv op =
        (ops, in, pad, dilations) ->
            depthwise
                ? ops.nn.depthwiseConv2dNative(in, kernelValue, strides(), pad,
                    DepthwiseConv2dNative.dilations(dilations))
                : ops.nn.conv2d(in, kernelValue, strides(), pad, Conv2d.dilations(dilations));
    Operand<TFloat32> y;
    if (rate > 1) {
      y = Atrous.sameConv(scope, x, kernel, rate, op);
    } else if (stride > 1 && padding == Padding.EXPLICIT) {
      int total = kernel - 1;
      int before = total / 2;
      Operand<TFloat32> padded =
          tf.pad(x, tf.constant(new int[][] {{0, 0}, {before, total - before},
              {before, total - before}, {0, 0}}), tf.constant(0f));
      y = op.apply(tf, padded, "VALID", List.of(1L, 1L, 1L, 1L));
    } else {
      y = op.apply(tf, x, "SAME", List.of(1L, 1L, 1L, 1L));
    }
    if (folded != null) {
      y = tf.nn.biasAdd(y, folded.shift());
    } else if (batchNorm != null) {
      y = batchNorm.apply(scope, y);
    } else if (bias) {
      long c = depthwise ? inChannels : outChannels;
      Variable<TFloat32> b =
          scope.variable("biases", new long[] {c}, Initializer.constant(0f), Role.BIASES);
      y = tf.nn.biasAdd(y, b);
    }
    return activation.apply(tf, y);
  }

  private List<Long> strides() {
    return List.of(1L, (long) stride, (long) stride, 1L);
  }
}
