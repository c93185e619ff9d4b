package dev.deeplab.internal.torch;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * torchvision's MobileNetV3-Large ({@code torchvision/models/mobilenetv3.py}) as its segmentation
 * models use it: {@code mobilenet_v3_large(dilated=True).features}, the last stage (C4) dilated
 * by 2 instead of strided (output stride 16); batch norm with eps 0.001 and momentum 0.01; Hardswish, ReLU and
 * squeeze-and-excitation with Hardsigmoid. Children are named {@code <prefix><i>} (features 0..16;
 * a block's layers {@code block.<j>.0} conv and {@code .1} batch norm, its SE {@code fc1}, {@code
 * fc2}). Howard et al., "Searching for MobileNetV3" (ICCV 2019).
 */
final class TorchMobileNetV3 {
  private TorchMobileNetV3() {}

  /** Input, kernel, expanded, output channels, SE, Hardswish, stride, dilation of blocks 1..15. */
  private static final int[][] BLOCKS = {
      {16, 3, 16, 16, 0, 0, 1, 1}, {16, 3, 64, 24, 0, 0, 2, 1}, {24, 3, 72, 24, 0, 0, 1, 1},
      {24, 5, 72, 40, 1, 0, 2, 1}, {40, 5, 120, 40, 1, 0, 1, 1}, {40, 5, 120, 40, 1, 0, 1, 1},
      {40, 3, 240, 80, 0, 1, 2, 1}, {80, 3, 200, 80, 0, 1, 1, 1}, {80, 3, 184, 80, 0, 1, 1, 1},
      {80, 3, 184, 80, 0, 1, 1, 1}, {80, 3, 480, 112, 1, 1, 1, 1}, {112, 3, 672, 112, 1, 1, 1, 1},
      {112, 5, 672, 160, 1, 1, 2, 2}, {160, 5, 960, 160, 1, 1, 1, 2}, {160, 5, 960, 160, 1, 1, 1, 2}};

  private static final float EPS = 1e-3f;
  /** torchvision's {@code partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)}. */
  private static final float MOMENTUM = 0.01f;

  /** Feature 4's output (stride 8, 40 channels) and feature 16's (stride 16, 960). */
  record Features(Operand<TFloat32> low, Operand<TFloat32> high) {}

  static Features build(TorchLayers nn, String prefix, Operand<TFloat32> x) {
    x = hardswish(nn.tf(), nn.batchNorm(prefix + "0.1",
        nn.conv(prefix + "0.0", x, 16, 3, 2, 1, 1, false), EPS, MOMENTUM));
    Operand<TFloat32> low = null;
    for (int i = 0; i < BLOCKS.length; i++) {
      x = block(nn, prefix + (i + 1) + ".block.", x, BLOCKS[i]);
      if (i + 1 == 4) {
        low = x;
      }
    }
    x = hardswish(nn.tf(), nn.batchNorm(prefix + "16.1",
        nn.conv(prefix + "16.0", x, 960, 1, 1, 0, 1, false), EPS, MOMENTUM));
    return new Features(low, x);
  }

  /** {@code InvertedResidual}: [1×1 expand], depthwise (stride 1 when dilated), [SE], 1×1. */
  private static Operand<TFloat32> block(TorchLayers nn, String name, Operand<TFloat32> x,
      int[] c) {
    int in = c[0];
    int kernel = c[1];
    int expanded = c[2];
    int out = c[3];
    boolean se = c[4] == 1;
    boolean hs = c[5] == 1;
    int dilation = c[7];
    int stride = dilation > 1 ? 1 : c[6];
    Ops tf = nn.tf();
    Operand<TFloat32> y = x;
    int j = 0;
    if (expanded != in) {
      y = activation(tf, hs, nn.batchNorm(name + j + ".1",
          nn.conv(name + j + ".0", y, expanded, 1, 1, 0, 1, false), EPS, MOMENTUM));
      j++;
    }
    y = activation(tf, hs, nn.batchNorm(name + j + ".1",
        nn.depthwise(name + j + ".0", y, kernel, stride, (kernel - 1) / 2 * dilation, dilation),
        EPS, MOMENTUM));
    j++;
    if (se) {
      int squeeze = makeDivisible(expanded / 4);
      Operand<TFloat32> s = nn.globalAveragePool(y);
      s = nn.relu(nn.conv(name + j + ".fc1", s, squeeze, 1, 1, 0, 1, true));
      s = hardsigmoid(tf, nn.conv(name + j + ".fc2", s, expanded, 1, 1, 0, 1, true));
      y = tf.math.mul(y, s);
      j++;
    }
    y = nn.batchNorm(name + j + ".1", nn.conv(name + j + ".0", y, out, 1, 1, 0, 1, false), EPS,
        MOMENTUM);
    return c[6] == 1 && in == out ? tf.math.add(x, y) : y;
  }

  /** torchvision's {@code _make_divisible(v, 8)}. */
  static int makeDivisible(int v) {
    int r = Math.max(8, (v + 4) / 8 * 8);
    return r < 0.9 * v ? r + 8 : r;
  }

  private static Operand<TFloat32> activation(Ops tf, boolean hardswish, Operand<TFloat32> x) {
    return hardswish ? hardswish(tf, x) : tf.nn.relu(x);
  }

  /** {@code x * relu6(x + 3) / 6}. */
  static Operand<TFloat32> hardswish(Ops tf, Operand<TFloat32> x) {
    return tf.math.mul(x, hardsigmoid(tf, x));
  }

  /** {@code relu6(x + 3) / 6}. */
  static Operand<TFloat32> hardsigmoid(Ops tf, Operand<TFloat32> x) {
    return tf.math.div(tf.nn.relu6(tf.math.add(x, tf.constant(3f))), tf.constant(6f));
  }
}
