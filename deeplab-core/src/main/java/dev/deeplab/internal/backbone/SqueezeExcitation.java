package dev.deeplab.internal.backbone;

import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Squeeze-and-excitation as MobileNetV3 uses it (Hu et al., "Squeeze-and-Excitation Networks",
 * CVPR 2018; {@code conv_blocks.squeeze_excite} with {@code mobilenet_v3}'s settings): the mean
 * over height and width, a 1×1 conv to {@code make_divisible(c/4, 8)} channels with biases and
 * ReLU ({@code Conv}), a 1×1 conv back to {@code c} with biases and the hard sigmoid ({@code
 * Conv_1}), multiplied into the input.
 */
public final class SqueezeExcitation {
  private SqueezeExcitation() {}

  /** Builds the block in {@code scope} (the official {@code .../squeeze_excite}). */
  public static Operand<TFloat32> apply(NetScope scope, Operand<TFloat32> x, Initializer init) {
    Ops tf = scope.tf();
    int channels = (int) x.shape().size(3);
    Operand<TFloat32> pooled = tf.math.mean(x, tf.constant(new int[] {1, 2}),
        org.tensorflow.op.math.Mean.keepDims(true));
    Operand<TFloat32> squeezed = Conv.conv(MobileNetV2.makeDivisible(channels / 4.0, 8), 1)
        .withBias().activation(Activation.RELU).init(init).apply(scope, "Conv", pooled);
    Operand<TFloat32> gate = Conv.conv(channels, 1).withBias().activation(Activation.HARD_SIGMOID)
        .init(init).apply(scope, "Conv_1", squeezed);
    return tf.math.mul(x, gate);
  }
}
