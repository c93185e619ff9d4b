package dev.deeplab.internal.torch;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * The MobileNetV2 of VainF's DeepLabV3Plus-Pytorch ({@code network/backbone/mobilenetv2.py}),
 * which differs from torchvision's: its {@code ConvBNReLU} convs have no padding of their own; an
 * inverted residual block pads its <em>input</em> with zeros by the dilated 3×3 kernel's {@code
 * fixed_padding} before the whole block (so the 1×1 expansion also sees the zero border, and
 * batch norm and ReLU6 make it non-zero), and its depthwise conv runs unpadded; the stem's 3×3
 * stride-2 conv runs unpadded too. Once the stride reaches the output stride, strides become
 * dilations (the first block of a stage keeps the previous dilation). The network is split as
 * VainF's segmentation models use it: {@code low_level_features} (features 0..3, stride 4, 24
 * channels) and {@code high_level_features} (features 4..17, 320 channels; the last 1×1 conv to
 * 1280 is dropped); sliced {@code nn.Sequential}s keep their indices, so the state-dict names are
 * {@code backbone.low_level_features.<i>.*} and {@code backbone.high_level_features.<i>.*}.
 * Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks" (CVPR 2018).
 */
final class VainfMobileNetV2 {
  private VainfMobileNetV2() {}

  /** {@code t, c, n, s} of each stage (expansion, channels, blocks, stride). */
  private static final int[][] SETTING = {
      {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
      {6, 320, 1, 1}};

  /** The low-level (stride 4) and high-level features. */
  record Features(Operand<TFloat32> lowLevel, Operand<TFloat32> highLevel) {}

  static Features build(TorchLayers nn, String prefix, Operand<TFloat32> x, int outputStride) {
    String low = prefix + "low_level_features.";
    String high = prefix + "high_level_features.";
    x = nn.relu6(nn.batchNorm(low + "0.1", nn.conv(low + "0.0", x, 32, 3, 2, 0, 1, false)));
    int index = 1;
    int currentStride = 2;
    int dilation = 1;
    Operand<TFloat32> lowLevel = null;
    for (int[] stage : SETTING) {
      int t = stage[0];
      int c = stage[1];
      int n = stage[2];
      int s = stage[3];
      int previousDilation = dilation;
      int stride;
      if (currentStride == outputStride) {
        stride = 1;
        dilation *= s;
      } else {
        stride = s;
        currentStride *= s;
      }
      for (int i = 0; i < n; i++) {
        String name = (index < 4 ? low : high) + index + ".conv.";
        x = invertedResidual(nn, name, x, c, i == 0 ? stride : 1,
            i == 0 ? previousDilation : dilation, t);
        if (index == 3) {
          lowLevel = x;
        }
        index++;
      }
    }
    return new Features(lowLevel, x);
  }

  /** {@code InvertedResidual}: pad, [1×1 expand, BN, ReLU6], depthwise 3×3, BN, ReLU6, 1×1, BN. */
  private static Operand<TFloat32> invertedResidual(TorchLayers nn, String name,
      Operand<TFloat32> x, int out, int stride, int dilation, int expand) {
    long in = x.shape().size(3);
    int hidden = (int) Math.round(in * (double) expand);
    Operand<TFloat32> y = nn.zeroPad(x, dilation);
    int layer = 0;
    if (expand != 1) {
      y = nn.relu6(nn.batchNorm(name + "0.1", nn.conv(name + "0.0", y, hidden, 1, 1, 0, 1,
          false)));
      layer = 1;
    }
    y = nn.relu6(nn.batchNorm(name + layer + ".1",
        nn.depthwise(name + layer + ".0", y, 3, stride, 0, dilation)));
    y = nn.batchNorm(name + (layer + 2), nn.conv(name + (layer + 1), y, out, 1, 1, 0, 1, false));
    return stride == 1 && in == out ? nn.tf().math.add(x, y) : y;
  }
}
