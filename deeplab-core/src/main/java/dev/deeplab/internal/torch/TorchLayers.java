package dev.deeplab.internal.torch;

import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.nn.Dropout;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.internal.nn.Role;
import java.util.List;
import java.util.function.UnaryOperator;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.op.nn.Conv2d;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The {@code torch.nn} layers of the PyTorch segmentation networks, in TensorFlow ops on NHWC
 * tensors of any spatial size, computing what PyTorch computes: {@code Conv2d} with its symmetric
 * explicit padding (never TensorFlow's SAME, whose strided padding is asymmetric), {@code
 * BatchNorm2d} in eval mode (eps 1e-5 unless given), {@code MaxPool2d} padded with -inf, {@code
 * AdaptiveAvgPool2d(1)} and {@code F.interpolate(mode="bilinear", align_corners=False)}, which is
 * TensorFlow's bilinear resize with half-pixel centres (both map output pixel {@code i} to input
 * {@code (i + 0.5)·in/out - 0.5}, clamped at 0).
 *
 * <p>Weights come from {@link Weights} by state-dict name; conv kernels are HWIO ({@code
 * [kh, kw, in/groups, out]}, PyTorch's OIHW transposed).
 *
 * <p>Built on a {@link NetScope} (the graph's variables), the layers follow its {@link NetState}:
 * in training mode {@code BatchNorm2d} normalises with the batch statistics and updates the
 * running ones as PyTorch does ({@code running = (1 - momentum)·running + momentum·batch} with
 * momentum 0.1 unless the network sets another, the unbiased batch variance), {@code nn.Dropout}
 * is active, and dilated convs are built through SpaceToBatchND ({@link
 * AtrousMode#SPACE_TO_BATCH}; TensorFlow's gradients of dilated convs are wrong).
 */
final class TorchLayers {
  /** PyTorch's default batch-norm momentum, the weight of the batch in the running averages. */
  static final float BN_MOMENTUM = 0.1f;

  private final Ops tf;
  private final Weights weights;
  private final NetScope root;

  /** Inference layers with weights from {@code weights} (native dilated 3×3 convs). */
  TorchLayers(Ops tf, Weights weights) {
    this.tf = tf;
    this.weights = weights;
    this.root = null;
  }

  /** Layers on the variables of {@code root}, in the mode of its state. */
  TorchLayers(NetScope root) {
    this.tf = root.tf();
    this.weights = new VariableWeights(root);
    this.root = root;
  }

  private boolean spaceToBatch() {
    return root != null && root.state().atrousMode() == AtrousMode.SPACE_TO_BATCH;
  }

  Ops tf() {
    return tf;
  }

  /**
   * {@code nn.Conv2d(in, out, k, stride, padding, dilation, groups=1, bias)} named {@code name}.
   */
  Operand<TFloat32> conv(String name, Operand<TFloat32> x, int out, int kernel, int stride,
      int padding, int dilation, boolean bias) {
    long in = x.shape().size(3);
    Operand<TFloat32> w = weights.get(name + ".weight", new long[] {kernel, kernel, in, out},
        Role.WEIGHTS);
    Operand<TFloat32> y;
    if (kernel == 1 && stride == 1 && padding == 0) {
      y = pointwise(x, w, in, out);
    } else if (dilation > 1 && spaceToBatch()) {
      y = phases(pad(x, padding), dilation, p -> tf.nn.conv2d(p, w, List.of(1L, 1L, 1L, 1L),
          "VALID"), stride);
    } else {
      y = tf.nn.conv2d(pad(x, padding), w, List.of(1L, (long) stride, (long) stride, 1L), "VALID",
          Conv2d.dilations(List.of(1L, (long) dilation, (long) dilation, 1L)));
    }
    return bias ? tf.nn.biasAdd(y, weights.get(name + ".bias", new long[] {out}, Role.BIASES)) : y;
  }

  /**
   * {@code nn.Conv2d(c, c, k, stride, padding, dilation, groups=c, bias=False)}: a depthwise conv,
   * kernel {@code [k, k, 1, c]} (OIHW {@code [c, 1, k, k]} transposed), used as TensorFlow's
   * {@code [k, k, c, 1]} (the same memory order).
   */
  Operand<TFloat32> depthwise(String name, Operand<TFloat32> x, int kernel, int stride,
      int padding, int dilation) {
    long c = x.shape().size(3);
    Operand<TFloat32> w = weights.get(name + ".weight", new long[] {kernel, kernel, 1, c},
        Role.DEPTHWISE_WEIGHTS);
    Operand<TFloat32> k = tf.reshape(w, tf.constant(new long[] {kernel, kernel, c, 1}));
    Operand<TFloat32> padded = pad(x, padding);
    if (dilation == 1) {
      return tf.nn.depthwiseConv2dNative(padded, k, List.of(1L, (long) stride, (long) stride, 1L),
          "VALID");
    }
    // TensorFlow's CPU kernel has no dilated depthwise conv
    return phases(padded, dilation, p -> tf.nn.depthwiseConv2dNative(p, k,
        List.of(1L, 1L, 1L, 1L), "VALID"), stride);
  }

  /**
   * A dilated stride-1 VALID conv as the undilated {@code conv} on the d×d phases of the input
   * (SpaceToBatchND, as {@code tf.nn.with_space_to_batch}). The input is padded at the
   * bottom/right to a multiple of d and the output cropped by as much: a VALID conv's output is
   * then exactly {@code in - (k-1)·d}.
   */
  private Operand<TFloat32> phases(Operand<TFloat32> padded, int dilation,
      UnaryOperator<Operand<TFloat32>> conv, int stride) {
    if (stride != 1) {
      throw new IllegalArgumentException("a dilated conv must have stride 1");
    }
    Operand<TInt32> extra = tf.math.floorMod(tf.math.neg(spatialSize(padded)),
        tf.constant(dilation));
    Operand<TInt32> pads = tf.stack(List.of(tf.constant(new int[] {0, 0}), extra),
        org.tensorflow.op.core.Stack.axis(1L));
    Operand<TInt32> block = tf.constant(new int[] {dilation, dilation});
    return tf.batchToSpaceNd(conv.apply(tf.spaceToBatchNd(padded, block, pads)), block, pads);
  }

  /**
   * A 1×1 stride-1 conv as the matrix product it is. Also avoids oneDNN 3.7's 1×1 conv, which
   * divides by zero on some of ResNet's channel pairs on machines that hide their cache sizes
   * (see {@code dev.deeplab.internal.nn.Conv}); Python TF 2.21 runs our SavedModels with it.
   */
  private Operand<TFloat32> pointwise(Operand<TFloat32> x, Operand<TFloat32> w, long in,
      long out) {
    Operand<TFloat32> y = tf.linalg.matMul(tf.reshape(x, tf.constant(new long[] {-1, in})),
        tf.reshape(w, tf.constant(new long[] {in, out})));
    Operand<TInt32> nhw = tf.stridedSlice(tf.shape(x), tf.constant(new int[] {0}),
        tf.constant(new int[] {3}), tf.constant(new int[] {1}));
    return tf.reshape(y, tf.concat(List.of(nhw, tf.constant(new int[] {(int) out})),
        tf.constant(0)));
  }

  private Operand<TFloat32> pad(Operand<TFloat32> x, int p) {
    return p == 0 ? x : tf.pad(x, tf.constant(new int[][] {{0, 0}, {p, p}, {p, p}, {0, 0}}),
        tf.constant(0f));
  }

  /** {@code nn.BatchNorm2d(eps=epsilon)} (momentum 0.1). */
  Operand<TFloat32> batchNorm(String name, Operand<TFloat32> x, float epsilon) {
    return batchNorm(name, x, epsilon, BN_MOMENTUM);
  }

  /**
   * {@code nn.BatchNorm2d(eps=epsilon, momentum=momentum)}: affine, in the state's mode (eval by
   * default); in training the running statistics move by {@code momentum} towards the batch's.
   */
  Operand<TFloat32> batchNorm(String name, Operand<TFloat32> x, float epsilon, float momentum) {
    long[] c = {x.shape().size(3)};
    Operand<TFloat32> gamma = weights.get(name + ".weight", c, Role.BN_GAMMA);
    Operand<TFloat32> beta = weights.get(name + ".bias", c, Role.BN_BETA);
    Operand<TFloat32> mean = weights.get(name + ".running_mean", c, Role.BN_MOVING_MEAN);
    Operand<TFloat32> variance = weights.get(name + ".running_var", c, Role.BN_MOVING_VARIANCE);
    if (root == null || !root.state().trainBatchNorm()) {
      return tf.nn.fusedBatchNorm(x, gamma, beta, mean, variance,
          FusedBatchNorm.isTraining(false), FusedBatchNorm.epsilon(epsilon)).y();
    }
    // training: the kernel normalises with the biased batch variance and reports the unbiased
    // one, which PyTorch's running_var averages
    Operand<TFloat32> empty = tf.constant(new float[0]);
    FusedBatchNorm<TFloat32, TFloat32> bn = tf.nn.fusedBatchNorm(x, gamma, beta, empty, empty,
        FusedBatchNorm.isTraining(true), FusedBatchNorm.epsilon(epsilon));
    Operand<TFloat32> rate = tf.constant(momentum);
    NetState state = root.state();
    state.addUpdate(tf.assignSub(mean, tf.math.mul(tf.math.sub(mean, bn.batchMean()), rate)));
    state.addUpdate(tf.assignSub(variance,
        tf.math.mul(tf.math.sub(variance, bn.batchVariance()), rate)));
    return bn.y();
  }

  Operand<TFloat32> batchNorm(String name, Operand<TFloat32> x) {
    return batchNorm(name, x, 1e-5f);
  }

  /** {@code nn.Dropout(p)}: inverted dropout in training mode, else the identity. */
  Operand<TFloat32> dropout(String name, Operand<TFloat32> x, float p) {
    return root == null ? x : Dropout.apply(root.child(name), x, 1f - p);
  }

  Operand<TFloat32> relu(Operand<TFloat32> x) {
    return tf.nn.relu(x);
  }

  /** {@code nn.ReLU6}. */
  Operand<TFloat32> relu6(Operand<TFloat32> x) {
    return tf.nn.relu6(x);
  }

  /** {@code F.pad(x, (p, p, p, p))}: zeros around height and width. */
  Operand<TFloat32> zeroPad(Operand<TFloat32> x, int p) {
    return pad(x, p);
  }

  /** {@code nn.MaxPool2d(3, 2, 1)}: padding counts as -inf. */
  Operand<TFloat32> maxPool3x3s2(Operand<TFloat32> x) {
    Operand<TFloat32> padded = tf.pad(x, tf.constant(new int[][] {{0, 0}, {1, 1}, {1, 1}, {0, 0}}),
        tf.constant(Float.NEGATIVE_INFINITY));
    return tf.nn.maxPool(padded, tf.constant(new int[] {1, 3, 3, 1}),
        tf.constant(new int[] {1, 2, 2, 1}), "VALID");
  }

  /** {@code nn.AdaptiveAvgPool2d(1)}: the mean over height and width, kept as 1×1. */
  Operand<TFloat32> globalAveragePool(Operand<TFloat32> x) {
    return tf.math.mean(x, tf.constant(new int[] {1, 2}),
        org.tensorflow.op.math.Mean.keepDims(true));
  }

  /** {@code F.interpolate(x, size, mode="bilinear", align_corners=False)}. */
  Operand<TFloat32> resize(Operand<TFloat32> x, Operand<TInt32> size) {
    return resize(tf, x, size);
  }

  /** {@code F.interpolate(x, size, mode="bilinear", align_corners=False)} with {@code tf}. */
  static Operand<TFloat32> resize(Ops tf, Operand<TFloat32> x, Operand<TInt32> size) {
    return tf.image.resizeBilinear(x, size, ResizeBilinear.halfPixelCenters(true));
  }

  /** {@code [height, width]} of an NHWC tensor. */
  Operand<TInt32> spatialSize(Operand<TFloat32> x) {
    return tf.stridedSlice(tf.shape(x), tf.constant(new int[] {1}), tf.constant(new int[] {3}),
        tf.constant(new int[] {1}));
  }
}
