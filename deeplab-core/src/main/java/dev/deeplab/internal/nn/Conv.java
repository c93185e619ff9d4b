package dev.deeplab.internal.nn;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.nn.Conv2d;
import org.tensorflow.op.nn.DepthwiseConv2dNative;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

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
  /** The kernel's height, and its width. */
  private final int kernel;
  private final int kernelW;
  private final boolean depthwise;
  private final int stride;
  private final int rate;
  private final int rateW;
  private final Padding padding;
  private final BatchNormSpec batchNorm;
  private final boolean bias;
  private final Activation activation;
  private final Initializer init;

  private Conv(
      int outChannels,
      int kernel,
      int kernelW,
      boolean depthwise,
      int stride,
      int rate,
      int rateW,
      Padding padding,
      BatchNormSpec batchNorm,
      boolean bias,
      Activation activation,
      Initializer init) {
    this.outChannels = outChannels;
    this.kernel = kernel;
    this.kernelW = kernelW;
    this.depthwise = depthwise;
    this.stride = stride;
    this.rate = rate;
    this.rateW = rateW;
    this.padding = padding;
    this.batchNorm = batchNorm;
    this.bias = bias;
    this.activation = activation;
    this.init = init;
  }

  /** A {@code kernel}×{@code kernel} conv to {@code outChannels}; stride 1, SAME, no BN, no bias. */
  public static Conv conv(int outChannels, int kernel) {
    return new Conv(outChannels, kernel, kernel, false, 1, 1, 1, Padding.SAME, null, false,
        Activation.NONE, Initializer.xavierUniform());
  }

  /** A depthwise conv (depth multiplier 1), as {@code slim.separable_conv2d(num_outputs=None)}. */
  public static Conv depthwise(int kernel) {
    return depthwise(kernel, kernel);
  }

  /**
   * A depthwise conv of a {@code kernelH}×{@code kernelW} kernel (slim's {@code kernel_size=[kh,
   * kw]}, as the dense prediction cell's JSON may give it).
   */
  public static Conv depthwise(int kernelH, int kernelW) {
    return new Conv(-1, kernelH, kernelW, true, 1, 1, 1, Padding.SAME, null, false,
        Activation.NONE, Initializer.xavierUniform());
  }

  public Conv stride(int s) {
    return new Conv(outChannels, kernel, kernelW, depthwise, s, rate, rateW, padding, batchNorm, bias, activation, init);
  }

  public Conv rate(int r) {
    return new Conv(outChannels, kernel, kernelW, depthwise, stride, r, r, padding, batchNorm, bias, activation, init);
  }

  /**
   * Different atrous rates along height and width, as the dense prediction cell's {@code [1, 6]}
   * ({@code slim.separable_conv2d(rate=[rh, rw])}).
   */
  public Conv rate(int heightRate, int widthRate) {
    return new Conv(outChannels, kernel, kernelW, depthwise, stride, heightRate, widthRate, padding,
        batchNorm, bias, activation, init);
  }

  public Conv padding(Padding p) {
    return new Conv(outChannels, kernel, kernelW, depthwise, stride, rate, rateW, p, batchNorm, bias, activation, init);
  }

  /** Adds batch norm (and no bias), as slim's {@code normalizer_fn=batch_norm}. */
  public Conv batchNorm(BatchNormSpec bn) {
    return new Conv(outChannels, kernel, kernelW, depthwise, stride, rate, rateW, padding, bn, false, activation, init);
  }

  /** Adds a {@code biases} variable instead of batch norm. */
  public Conv withBias() {
    return new Conv(outChannels, kernel, kernelW, depthwise, stride, rate, rateW, padding, null, true, activation, init);
  }

  public Conv activation(Activation a) {
    return new Conv(outChannels, kernel, kernelW, depthwise, stride, rate, rateW, padding, batchNorm, bias, a, init);
  }

  public Conv init(Initializer i) {
    return new Conv(outChannels, kernel, kernelW, depthwise, stride, rate, rateW, padding, batchNorm, bias, activation, i);
  }

  /** Builds the layer in a new scope {@code name} under {@code parent}. */
  public Operand<TFloat32> apply(NetScope parent, String name, Operand<TFloat32> x) {
    return applyIn(parent.child(name), x);
  }

  /** Builds the layer directly in {@code scope} (for slim layers named by their parent scope). */
  public Operand<TFloat32> applyIn(NetScope scope, Operand<TFloat32> x) {
    if (stride > 1 && Math.max(rate, rateW) > 1) {
      throw new IllegalArgumentException("a conv cannot have both stride and rate above 1");
    }
    long inChannels = x.shape().size(3);
    long[] shape =
        depthwise
            ? new long[] {kernel, kernelW, inChannels, 1}
            : new long[] {kernel, kernelW, inChannels, outChannels};
    String filterName = depthwise ? "depthwise_weights" : "weights";
    Variable<TFloat32> filter = scope.variable(filterName, shape, init,
        depthwise ? Role.DEPTHWISE_WEIGHTS : Role.WEIGHTS);
    Ops tf = scope.tf();
    long channels = depthwise ? inChannels : outChannels;
    // A frozen inference graph (NetState.folded): batch norm folded into constant weights at
    // build time, so nothing is computed on the weights when it runs.
    BatchNormSpec.FoldedConv frozen = batchNorm != null && scope.state().foldsWeights()
        ? batchNorm.foldedConstants(scope, filterName, shape, channels) : null;
    if (crashesOneDnn37(inChannels)) {
      return pointwiseMatMul(scope, x, frozen != null ? frozen.filter()
          : scope.constantOr(filterName, shape, filter), frozen, inChannels);
    }
    // Inference: a depthwise conv's batch norm is folded into the filter (scale) and a bias add
    // (shift), so that depthwise + BiasAdd + Relu fuse; TF runs it as a separate
    // FusedBatchNormV3 otherwise, very slow under oneDNN (BENCHMARKS.md). Dense convs keep
    // FusedBatchNorm, which Grappler already fuses (folding them costs a filter multiply per
    // run). Same variables, same names.
    BatchNormSpec.Folded folded = frozen == null && batchNorm != null && depthwise
        && !scope.state().trainBatchNorm() ? batchNorm.fold(scope, inChannels) : null;
    Operand<TFloat32> kernelValue = frozen != null ? frozen.filter()
        : folded != null
            ? tf.math.mul(filter, tf.reshape(folded.scale(), tf.constant(new long[] {-1, 1})))
            : scope.constantOr(filterName, shape, filter);
    Atrous.PhaseConv op =
        (ops, in, pad, dilations) ->
            depthwise
                ? ops.nn.depthwiseConv2dNative(in, kernelValue, strides(), pad,
                    DepthwiseConv2dNative.dilations(dilations))
                : ops.nn.conv2d(in, kernelValue, strides(), pad, Conv2d.dilations(dilations));
    Operand<TFloat32> y;
    if (Math.max(rate, rateW) > 1) {
      y = Atrous.sameConv(scope, x, kernel, kernelW, rate, rateW, op);
    } else if (stride > 1 && padding == Padding.EXPLICIT) {
      int total = kernel - 1;
      int before = total / 2;
      int totalW = kernelW - 1;
      int beforeW = totalW / 2;
      Operand<TFloat32> padded =
          tf.pad(x, tf.constant(new int[][] {{0, 0}, {before, total - before},
              {beforeW, totalW - beforeW}, {0, 0}}), tf.constant(0f));
      y = op.apply(tf, padded, "VALID", List.of(1L, 1L, 1L, 1L));
    } else {
      y = op.apply(tf, x, "SAME", List.of(1L, 1L, 1L, 1L));
    }
    if (frozen != null) {
      y = tf.nn.biasAdd(y, frozen.shift());
    } else if (folded != null) {
      y = tf.nn.biasAdd(y, folded.shift());
    } else if (batchNorm != null) {
      y = batchNorm.apply(scope, y);
    } else if (bias) {
      y = tf.nn.biasAdd(y, scope.value("biases", new long[] {channels},
          Initializer.constant(0f), Role.BIASES));
    }
    return activation.apply(tf, y);
  }

  /**
   * Whether this is a 1×1 stride-1 dense conv with one of the channel pairs (ResNet's block3 and
   * block4 1×1 convs) on which oneDNN 3.7's brgemm 1×1 conv divides by zero (SIGFPE in {@code
   * brg_blocking_t::est_eff_1x1}, an integer division that only these pairs take) when it reads
   * every cache as 1 byte, as on AMD VMs that hide CPUID leaf 0x8000001D. Python TF 2.21 (oneDNN
   * 3.7.3, on by default) crashed on our ResNet SavedModels; TF Java's TF 2.18 (oneDNN 3.5) does
   * not. We build these convs as {@link #pointwiseMatMul}.
   */
  private boolean crashesOneDnn37(long inChannels) {
    if (depthwise || kernel != 1 || kernelW != 1 || stride != 1 || Math.max(rate, rateW) != 1) {
      return false;
    }
    long in = inChannels;
    long out = outChannels;
    return (in == 256 && out == 1024) || (in == 512 && out == 1024) || (in == 512 && out == 2048)
        || (in == 1024 && out == 512) || (in == 1024 && out == 2048);
  }

  /**
   * This 1×1 stride-1 conv as the product it is, {@code [N·H·W, Cin] × [Cin, Cout]}, reshaped back
   * to {@code [N, H, W, Cout]} last. In inference its batch norm is folded into the filter (scale)
   * and a bias add (shift), as for depthwise convs, so that MatMul + BiasAdd (+ Relu) fuse into one
   * kernel as Conv2D + FusedBatchNorm do: a separate batch norm made ResNet-101 up to 6% slower
   * (output stride 8). Training keeps FusedBatchNorm, on the 4-D result. Same variables. With
   * {@code frozen}, the batch norm is already folded into {@code filter}, a constant.
   */
  private Operand<TFloat32> pointwiseMatMul(NetScope scope, Operand<TFloat32> x,
      Operand<TFloat32> filter, BatchNormSpec.FoldedConv frozen, long inChannels) {
    Ops tf = scope.tf();
    Operand<TFloat32> w = tf.reshape(filter, tf.constant(new long[] {inChannels, outChannels}));
    Operand<TFloat32> shift = null;
    if (frozen != null) {
      shift = frozen.shift();
    } else if (batchNorm != null && !scope.state().trainBatchNorm()) {
      BatchNormSpec.Folded folded = batchNorm.fold(scope, outChannels);
      w = tf.math.mul(w, folded.scale());
      shift = folded.shift();
    } else if (bias) {
      shift = scope.value("biases", new long[] {outChannels}, Initializer.constant(0f),
          Role.BIASES);
    }
    Operand<TFloat32> y =
        tf.linalg.matMul(tf.reshape(x, tf.constant(new long[] {-1, inChannels})), w);
    if (shift != null) {
      y = tf.nn.biasAdd(y, shift);
    }
    boolean trainingBatchNorm = batchNorm != null && shift == null;
    if (!trainingBatchNorm) {
      y = activation.apply(tf, y);
    }
    long h = x.shape().size(1);
    long wd = x.shape().size(2);
    Operand<TInt64> shape = h >= 0 && wd >= 0
        ? tf.constant(new long[] {-1, h, wd, outChannels})
        : tf.concat(List.of(
            tf.stridedSlice(tf.shape(x, TInt64.class), tf.constant(new long[] {0}),
                tf.constant(new long[] {3}), tf.constant(new long[] {1})),
            tf.constant(new long[] {outChannels})), tf.constant(0));
    y = tf.reshape(y, shape);
    return trainingBatchNorm ? activation.apply(tf, batchNorm.apply(scope, y)) : y;
  }

  private List<Long> strides() {
    return List.of(1L, (long) stride, (long) stride, 1L);
  }
}
