package dev.deeplab.internal.torch;

import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The PyTorch segmentation networks ({@link ModelVariant.Family#PYTORCH}: torchvision's DeepLabV3,
 * VainF's DeepLabV3+) on RGB pixels in [0,
 * 255] of any size: ImageNet normalisation as torchvision's transforms ({@code (x/255 - mean) /
 * std}), then the model's {@code forward} up to its classifier. {@link #upsample} is the final
 * {@code F.interpolate(..., size=input_shape, mode="bilinear", align_corners=False)}.
 */
public final class TorchNetworks {
  private TorchNetworks() {}

  static final float[] MEAN = {0.485f, 0.456f, 0.406f};
  static final float[] STD = {0.229f, 0.224f, 0.225f};

  /** Logits at the output stride, {@code [N, h', w', C]}, with weights from {@code weights}. */
  public static Operand<TFloat32> logits(Ops tf, Weights weights, Operand<TFloat32> pixels,
      ModelConfig config) {
    return logits(new TorchLayers(tf, weights), pixels, config);
  }

  /**
   * Logits at the output stride on the variables of {@code root}, named as the state dict, in
   * the mode of its state (training-mode batch norm and dropout as PyTorch's {@code train()}).
   */
  public static Operand<TFloat32> logits(NetScope root, Operand<TFloat32> pixels,
      ModelConfig config) {
    return logits(new TorchLayers(root), pixels, config);
  }

  private static Operand<TFloat32> logits(TorchLayers nn, Operand<TFloat32> pixels,
      ModelConfig config) {
    Ops tf = nn.tf();
    Operand<TFloat32> x = normalize(tf, pixels);
    ModelVariant v = config.variant();
    return switch (v) {
      case TORCHVISION_DEEPLABV3_RESNET50, TORCHVISION_DEEPLABV3_RESNET101 -> {
        TorchResNet.Features f = TorchResNet.build(nn, "backbone.", x, v.repeatedUnits(),
            config.outputStride());
        yield TorchHeads.deepLabHead(nn, "classifier", f.layer4(), config.atrousRates(),
            config.numClasses());
      }
      case VAINF_DEEPLABV3PLUS_RESNET50, VAINF_DEEPLABV3PLUS_RESNET101 -> {
        TorchResNet.Features f = TorchResNet.build(nn, "backbone.", x, v.repeatedUnits(),
            config.outputStride());
        yield TorchHeads.deepLabHeadV3Plus(nn, "classifier", f.layer4(), f.layer1(),
            config.atrousRates(), config.numClasses());
      }
      case VAINF_DEEPLABV3PLUS_MOBILENET -> {
        VainfMobileNetV2.Features f = VainfMobileNetV2.build(nn, "backbone.", x,
            config.outputStride());
        yield TorchHeads.deepLabHeadV3Plus(nn, "classifier", f.highLevel(), f.lowLevel(),
            config.atrousRates(), config.numClasses());
      }
      case TORCHVISION_DEEPLABV3_MOBILENET_V3_LARGE -> TorchHeads.deepLabHead(nn, "classifier",
          TorchMobileNetV3.build(nn, "backbone.", x).high(), config.atrousRates(),
          config.numClasses());
      case TORCHVISION_LRASPP_MOBILENET_V3_LARGE -> {
        TorchMobileNetV3.Features f = TorchMobileNetV3.build(nn, "backbone.", x);
        yield TorchHeads.lrasppHead(nn, "classifier", f.low(), f.high(), config.numClasses());
      }
      default -> throw new IllegalArgumentException(v + " is not a PyTorch network");
    };
  }

  /** The logits resized to {@code [height, width]} as PyTorch's {@code align_corners=False}. */
  public static Operand<TFloat32> upsample(Ops tf, Operand<TFloat32> logits,
      Operand<org.tensorflow.types.TInt32> size) {
    return TorchLayers.resize(tf, logits, size);
  }

  /** {@code (x / 255 - mean) / std} per channel. */
  static Operand<TFloat32> normalize(Ops tf, Operand<TFloat32> pixels) {
    Operand<TFloat32> unit = tf.math.mul(pixels, tf.constant(1f / 255f));
    return tf.math.div(tf.math.sub(unit, tf.constant(new float[][][][] {{{MEAN}}})),
        tf.constant(new float[][][][] {{{STD}}}));
  }

  /**
   * The architecture of a PyTorch variant as its code builds it at its default output stride:
   * torchvision's DeepLabV3 ResNets at 8 (ASPP rates 12, 24, 36, the only one torchvision
   * builds), its MobileNetV3-Large DeepLabV3 (same rates) and LR-ASPP at 16, VainF's
   * DeepLabV3+ at 16 (the default of its {@code main.py}); {@code cropSide} bounds the image side
   * the serving graph runs at (larger images are scaled down to fit).
   */
  public static ModelConfig config(ModelVariant variant, int numClasses, int cropSide) {
    return config(variant, numClasses, cropSide,
        isVainf(variant) || mobileNetV3(variant) ? 16 : 8);
  }

  private static boolean mobileNetV3(ModelVariant variant) {
    return variant == ModelVariant.TORCHVISION_DEEPLABV3_MOBILENET_V3_LARGE
        || variant == ModelVariant.TORCHVISION_LRASPP_MOBILENET_V3_LARGE;
  }

  /**
   * As {@link #config(ModelVariant, int, int)} at another output stride (VainF's networks: 8 or
   * 16, with ASPP rates 12, 24, 36 or 6, 12, 18 as its {@code modeling.py} sets them).
   */
  public static ModelConfig config(ModelVariant variant, int numClasses, int cropSide,
      int outputStride) {
    if (variant.family() != ModelVariant.Family.PYTORCH) {
      throw new IllegalArgumentException(variant + " is not a PyTorch network");
    }
    int fixed = mobileNetV3(variant) ? 16 : 8;
    if (!isVainf(variant) && outputStride != fixed) {
      throw new IllegalArgumentException(variant + " has output stride " + fixed + " only");
    }
    if (isVainf(variant) && outputStride != 8 && outputStride != 16) {
      throw new IllegalArgumentException(variant + " has output stride 8 or 16, not "
          + outputStride);
    }
    // torchvision's DeepLabHead always has rates 12, 24, 36; VainF's follow the output stride
    List<Integer> rates = outputStride == 8 || !isVainf(variant) ? List.of(12, 24, 36)
        : List.of(6, 12, 18);
    if (variant == ModelVariant.TORCHVISION_LRASPP_MOBILENET_V3_LARGE) {
      rates = List.of();
    }
    return new ModelConfig(variant, outputStride, rates, List.of(1, 1, 1),
        isVainf(variant) ? List.of(4) : List.of(), false, false, numClasses, cropSide, cropSide, 1.0,
        variant != ModelVariant.TORCHVISION_LRASPP_MOBILENET_V3_LARGE,
        // the official head options at their defaults (ModelConfig.defaults): unused here
        List.of(), List.of(1, 1), 256, 256, false, false, true, false, false, List.of(), true, 1,
        false, 20, false, false);
  }

  /**
   * The state-dict scopes of the last layers, as {@link dev.deeplab.train.TrainConfig#lastLayers}
   * names ours: the classifier conv(s) only, or the whole head ({@code classifier}).
   */
  public static List<String> lastLayers(ModelVariant variant, boolean logitsOnly) {
    if (!logitsOnly) {
      return List.of("classifier.");
    }
    if (variant == ModelVariant.TORCHVISION_LRASPP_MOBILENET_V3_LARGE) {
      return List.of("classifier.low_classifier.", "classifier.high_classifier.");
    }
    return List.of(isVainf(variant) ? "classifier.classifier.3." : "classifier.4.");
  }

  /** VainF's DeepLabV3+ networks. */
  public static boolean isVainf(ModelVariant variant) {
    return variant.officialName().startsWith("vainf_");
  }
}
