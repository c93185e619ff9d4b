package dev.deeplab.internal.nn;

/**
 * Padding of a convolution. The two differ only for strided convs on inputs whose size is even.
 */
public enum Padding {
  /** TensorFlow's "SAME": pads (mostly) at the end. MobileNetV2 and the DeepLab head use it. */
  SAME,
  /**
   * The official {@code conv2d_same} / {@code fixed_padding} of ResNet and Xception: at stride 1
   * it is SAME; at stride s > 1 it pads {@code (k_eff-1)/2} before and the rest after, then runs a
   * VALID conv ({@code core/resnet_utils.py}, {@code core/xception.py}).
   */
  EXPLICIT
}
