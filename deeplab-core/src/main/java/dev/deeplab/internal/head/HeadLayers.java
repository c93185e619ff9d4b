package dev.deeplab.internal.head;

import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.BatchNormSpec;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.ModelConfig;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.types.TFloat32;

/**
 * Layers the DeepLab head shares ({@code research/deeplab/core/utils.py}, {@code model.py}): batch
 * norm with decay 0.9997 and epsilon 1e-5, ReLU (ReLU6 with {@code use_bounded_activation} in the
 * ASPP and decoder), the split separable conv and the align-corners bilinear resize.
 */
final class HeadLayers {
  static final BatchNormSpec BN = new BatchNormSpec(0.9997f, 1e-5f);

  private HeadLayers() {}

  /** A conv + BN + ReLU with slim's default (Xavier) initialiser, as the head's arg scope makes. */
  static Conv conv(int channels, int kernel) {
    return conv(channels, kernel, Activation.RELU);
  }

  /** A conv + BN + {@code activation} with slim's default (Xavier) initialiser. */
  static Conv conv(int channels, int kernel, Activation activation) {
    return Conv.conv(channels, kernel).batchNorm(BN).activation(activation);
  }

  /**
   * The activation of the ASPP and decoder arg scopes ({@code model.py}): {@code tf.nn.relu6 if
   * use_bounded_activation else tf.nn.relu}.
   */
  static Activation activation(ModelConfig c) {
    return c.useBoundedActivation() ? Activation.RELU6 : Activation.RELU;
  }

  /**
   * The official {@code split_separable_conv2d}: {@code <name>_depthwise} (3×3 at {@code rate},
   * BN, {@code activation}; truncated-normal 0.33) then {@code <name>_pointwise} (1×1, BN,
   * {@code activation}; truncated-normal 0.06).
   */
  static Operand<TFloat32> splitSeparable(NetScope scope, String name, Operand<TFloat32> x,
      int channels, int rate, Activation activation) {
    Operand<TFloat32> y = Conv.depthwise(3).rate(rate).batchNorm(BN).activation(activation)
        .init(Initializer.truncatedNormal(0.33)).apply(scope, name + "_depthwise", x);
    return conv(channels, 1, activation).init(Initializer.truncatedNormal(0.06))
        .apply(scope, name + "_pointwise", y);
  }

  /** {@code tf.image.resize_bilinear(x, [h, w], align_corners=True)}. */
  static Operand<TFloat32> resize(Ops tf, Operand<TFloat32> x, long h, long w) {
    if (x.shape().size(1) == h && x.shape().size(2) == w) {
      return x;
    }
    return tf.image.resizeBilinear(x, tf.constant(new int[] {(int) h, (int) w}),
        ResizeBilinear.alignCorners(true));
  }

  /** Channels-last concatenation (of one part: that part; ConcatV2 takes two or more). */
  static Operand<TFloat32> concat(Ops tf, List<Operand<TFloat32>> parts) {
    if (parts.size() == 1) {
      return parts.get(0);
    }
    return tf.concat(parts, tf.constant(3));
  }
}
