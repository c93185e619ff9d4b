package dev.deeplab.internal.torch;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * The heads of torchvision's segmentation models ({@code
 * torchvision/models/segmentation/deeplabv3.py}): {@code ASPP} with its image-pooling branch
 * {@code ASPPPooling} and {@code DeepLabHead}. Chen et al., "Rethinking Atrous Convolution for
 * Semantic Image Segmentation" (arXiv:1706.05587). Dropout is the identity in eval mode.
 */
final class TorchHeads {
  private TorchHeads() {}

  /**
   * {@code ASPP(in, rates, out_channels=256)}: {@code convs.0} 1×1, {@code convs.1..3} 3×3 at the
   * rates (padding = rate), {@code convs.4} pooling (global mean, 1×1 conv, BN, ReLU, bilinear
   * back to the map's size), each conv + BN + ReLU; concatenated, {@code project}: 1×1, BN, ReLU,
   * {@code project.3} dropout (torchvision's 0.5, VainF's 0.1).
   */
  static Operand<TFloat32> aspp(TorchLayers nn, String name, Operand<TFloat32> x,
      List<Integer> rates, float dropout) {
    int out = 256;
    List<Operand<TFloat32>> branches = new ArrayList<>();
    branches.add(nn.relu(nn.batchNorm(name + ".convs.0.1",
        nn.conv(name + ".convs.0.0", x, out, 1, 1, 0, 1, false))));
    for (int i = 0; i < rates.size(); i++) {
      int r = rates.get(i);
      String b = name + ".convs." + (i + 1);
      branches.add(nn.relu(nn.batchNorm(b + ".1", nn.conv(b + ".0", x, out, 3, 1, r, r, false))));
    }
    String p = name + ".convs." + (rates.size() + 1);
    Operand<TFloat32> pooled = nn.relu(nn.batchNorm(p + ".2",
        nn.conv(p + ".1", nn.globalAveragePool(x), out, 1, 1, 0, 1, false)));
    branches.add(nn.resize(pooled, nn.spatialSize(x)));
    Operand<TFloat32> cat = nn.tf().concat(branches, nn.tf().constant(3));
    return nn.dropout(name + ".project.3", nn.relu(nn.batchNorm(name + ".project.1",
        nn.conv(name + ".project.0", cat, out, 1, 1, 0, 1, false))), dropout);
  }

  /**
   * {@code DeepLabHead(in, num_classes)}: {@code 0} ASPP at rates (12, 24, 36), {@code 1} 3×3
   * conv, {@code 2} BN, ReLU, {@code 4} 1×1 classifier with bias.
   */
  static Operand<TFloat32> deepLabHead(TorchLayers nn, String name, Operand<TFloat32> x,
      List<Integer> rates, int numClasses) {
    Operand<TFloat32> y = aspp(nn, name + ".0", x, rates, 0.5f);
    y = nn.relu(nn.batchNorm(name + ".2", nn.conv(name + ".1", y, 256, 3, 1, 1, 1, false)));
    return nn.conv(name + ".4", y, numClasses, 1, 1, 0, 1, true);
  }

  /**
   * VainF's {@code DeepLabHeadV3Plus(in, low_level, num_classes, rates)} ({@code
   * network/_deeplab.py}): {@code project} (1×1 to 48, BN, ReLU) of the low-level features; {@code
   * aspp} (as torchvision's, dropout 0.1) of the high-level ones, resized to the low-level size
   * ({@code align_corners=False}); concatenated low-level first; {@code classifier}: 3×3 conv to
   * 256, BN, ReLU, 1×1 classifier with bias. Chen et al., "Encoder-Decoder with Atrous Separable
   * Convolution for Semantic Image Segmentation" (ECCV 2018).
   */
  static Operand<TFloat32> deepLabHeadV3Plus(TorchLayers nn, String name, Operand<TFloat32> high,
      Operand<TFloat32> lowLevel, List<Integer> rates, int numClasses) {
    Operand<TFloat32> low = nn.relu(nn.batchNorm(name + ".project.1",
        nn.conv(name + ".project.0", lowLevel, 48, 1, 1, 0, 1, false)));
    Operand<TFloat32> y = nn.resize(aspp(nn, name + ".aspp", high, rates, 0.1f), nn.spatialSize(low));
    y = nn.tf().concat(List.of(low, y), nn.tf().constant(3));
    y = nn.relu(nn.batchNorm(name + ".classifier.1",
        nn.conv(name + ".classifier.0", y, 256, 3, 1, 1, 1, false)));
    return nn.conv(name + ".classifier.3", y, numClasses, 1, 1, 0, 1, true);
  }

  /**
   * torchvision's {@code LRASPPHead(low, high, num_classes, 128)} ({@code
   * torchvision/models/segmentation/lraspp.py}): {@code cbr} (1×1 to 128, BN, ReLU) of the
   * high-level features times {@code scale} (global mean, 1×1 conv, sigmoid), resized to the
   * low-level size, through {@code high_classifier}, plus {@code low_classifier} of the low-level
   * features. Howard et al., "Searching for MobileNetV3" (ICCV 2019).
   */
  static Operand<TFloat32> lrasppHead(TorchLayers nn, String name, Operand<TFloat32> low,
      Operand<TFloat32> high, int numClasses) {
    Operand<TFloat32> x = nn.relu(nn.batchNorm(name + ".cbr.1",
        nn.conv(name + ".cbr.0", high, 128, 1, 1, 0, 1, false)));
    Operand<TFloat32> s = nn.tf().math.sigmoid(
        nn.conv(name + ".scale.1", nn.globalAveragePool(high), 128, 1, 1, 0, 1, false));
    x = nn.resize(nn.tf().math.mul(x, s), nn.spatialSize(low));
    return nn.tf().math.add(nn.conv(name + ".low_classifier", low, numClasses, 1, 1, 0, 1, true),
        nn.conv(name + ".high_classifier", x, numClasses, 1, 1, 0, 1, true));
  }
}
