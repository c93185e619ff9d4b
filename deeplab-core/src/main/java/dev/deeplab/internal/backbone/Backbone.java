package dev.deeplab.internal.backbone;

import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * A DeepLab feature extractor ({@code research/deeplab/core/feature_extractor.py}): builds its
 * variables under the official scope and returns the features at the configured output stride.
 */
public interface Backbone {

  /**
   * @param root the graph's root scope (the backbone adds its own scope, e.g. {@code xception_65})
   * @param images preprocessed input, [N, H, W, 3]
   * @param config the model configuration (output stride, multi-grid, depth multiplier)
   */
  FeatureMaps build(NetScope root, Operand<TFloat32> images, ModelConfig config);

  /** The backbone implementation of a variant. */
  static Backbone of(ModelVariant variant) {
    return switch (variant.family()) {
      case MOBILENET_V2 -> new MobileNetV2();
      case RESNET_V1 -> new ResNetV1(variant);
      case XCEPTION -> new Xception(variant);
      case MOBILENET_V3 -> new MobileNetV3(variant);
      case NAS -> new NasNetwork(variant);
      case VGG -> new Vgg16();
      case PYTORCH -> throw new IllegalArgumentException(
          variant + " is built by dev.deeplab.internal.torch, not as an official backbone");
    };
  }
}
