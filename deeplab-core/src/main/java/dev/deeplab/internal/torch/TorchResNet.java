package dev.deeplab.internal.torch;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * torchvision's ResNet-50/101 ({@code torchvision/models/resnet.py}, "ResNet v1.5": the stride of a
 * bottleneck sits on its 3×3 conv) as the backbone of its segmentation models: {@code conv1} 7×7/2,
 * {@code bn1}, ReLU, 3×3/2 max pool, {@code layer1..4} of bottlenecks; no {@code fc}. With {@code
 * replace_stride_with_dilation}, a layer's stride becomes dilation: its first block keeps the
 * previous dilation, the others take the new one ({@code _make_layer}). He et al., "Deep Residual
 * Learning for Image Recognition" (CVPR 2016).
 */
final class TorchResNet {
  private TorchResNet() {}

  /** The feature maps the heads use. */
  record Features(Operand<TFloat32> layer1, Operand<TFloat32> layer3, Operand<TFloat32> layer4) {}

  /**
   * @param prefix the state-dict prefix, e.g. {@code backbone.}
   * @param layer3Blocks 6 for ResNet-50, 23 for ResNet-101
   * @param outputStride 8 (layers 3 and 4 dilated), 16 (layer 4) or 32
   */
  static Features build(TorchLayers nn, String prefix, Operand<TFloat32> x, int layer3Blocks,
      int outputStride) {
    boolean[] dilate = switch (outputStride) {
      case 8 -> new boolean[] {false, true, true};
      case 16 -> new boolean[] {false, false, true};
      case 32 -> new boolean[] {false, false, false};
      default -> throw new IllegalArgumentException("output stride must be 8, 16 or 32");
    };
    x = nn.relu(nn.batchNorm(prefix + "bn1", nn.conv(prefix + "conv1", x, 64, 7, 2, 3, 1, false)));
    x = nn.maxPool3x3s2(x);
    int[] dilation = {1};
    Operand<TFloat32> l1 = layer(nn, prefix + "layer1", x, 64, 3, 1, false, dilation);
    Operand<TFloat32> l2 = layer(nn, prefix + "layer2", l1, 128, 4, 2, dilate[0], dilation);
    Operand<TFloat32> l3 = layer(nn, prefix + "layer3", l2, 256, layer3Blocks, 2, dilate[1],
        dilation);
    Operand<TFloat32> l4 = layer(nn, prefix + "layer4", l3, 512, 3, 2, dilate[2], dilation);
    return new Features(l1, l3, l4);
  }

  /** {@code _make_layer(Bottleneck, planes, blocks, stride, dilate)}. */
  private static Operand<TFloat32> layer(TorchLayers nn, String name, Operand<TFloat32> x,
      int planes, int blocks, int stride, boolean dilate, int[] dilation) {
    int previous = dilation[0];
    if (dilate) {
      dilation[0] *= stride;
      stride = 1;
    }
    boolean downsample = stride != 1 || x.shape().size(3) != planes * 4L;
    x = bottleneck(nn, name + ".0", x, planes, stride, previous, downsample);
    for (int i = 1; i < blocks; i++) {
      x = bottleneck(nn, name + "." + i, x, planes, 1, dilation[0], false);
    }
    return x;
  }

  /** {@code Bottleneck}: 1×1, 3×3 (stride, dilation, padding = dilation), 1×1 ×4, residual. */
  private static Operand<TFloat32> bottleneck(TorchLayers nn, String name, Operand<TFloat32> x,
      int planes, int stride, int dilation, boolean downsample) {
    Operand<TFloat32> y = nn.relu(nn.batchNorm(name + ".bn1",
        nn.conv(name + ".conv1", x, planes, 1, 1, 0, 1, false)));
    y = nn.relu(nn.batchNorm(name + ".bn2",
        nn.conv(name + ".conv2", y, planes, 3, stride, dilation, dilation, false)));
    y = nn.batchNorm(name + ".bn3", nn.conv(name + ".conv3", y, planes * 4, 1, 1, 0, 1, false));
    Operand<TFloat32> identity = downsample
        ? nn.batchNorm(name + ".downsample.1",
            nn.conv(name + ".downsample.0", x, planes * 4, 1, stride, 0, 1, false))
        : x;
    return nn.relu(nn.tf().math.add(y, identity));
  }
}
