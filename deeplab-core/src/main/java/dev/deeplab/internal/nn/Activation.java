package dev.deeplab.internal.nn;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Activation after a conv (and its batch norm). The hard forms are MobileNetV3's (Howard et al.,
 * "Searching for MobileNetV3", ICCV 2019; {@code slim/nets/mobilenet/mobilenet_v3.py}).
 */
public enum Activation {
  NONE,
  RELU,
  RELU6,
  SIGMOID,
  /** {@code x · relu6(x + 3) / 6} ({@code mobilenet_v3.hard_swish}). */
  HARD_SWISH,
  /**
   * {@code relu6(x + 3) · 0.16667}: the gating of MobileNetV3's squeeze-excitation and DeepLab's
   * {@code utils.q_sigmoid} (the constant as written there, not 1/6).
   */
  HARD_SIGMOID,
  /**
   * {@code clip_by_value(x, -6, 6)}: the official Xception's bounded form of its BN outputs and
   * sums ({@code core/xception.py _CLIP_CAP} with {@code use_bounded_activation}); built from
   * Maximum and Minimum, whose gradients TensorFlow's C++ registry has.
   */
  CLIP6;

  /** Applies this activation. */
  public Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x) {
    return switch (this) {
      case NONE -> x;
      case RELU -> tf.nn.relu(x);
      case RELU6 -> tf.nn.relu6(x);
      case SIGMOID -> tf.math.sigmoid(x);
      case HARD_SWISH -> tf.math.mul(tf.math.mul(x, tf.nn.relu6(tf.math.add(x, tf.constant(3f)))),
          tf.constant(1f / 6f));
      case HARD_SIGMOID -> tf.math.mul(tf.nn.relu6(tf.math.add(x, tf.constant(3f))),
          tf.constant(0.16667f));
      case CLIP6 -> tf.math.minimum(tf.math.maximum(x, tf.constant(-6f)), tf.constant(6f));
    };
  }
}
