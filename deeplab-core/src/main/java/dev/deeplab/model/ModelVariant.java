package dev.deeplab.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.deeplab.internal.model.DeepLab;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The backbones of the official DeepLab ({@code research/deeplab/core/feature_extractor.py}), with
 * the facts the official code attaches to each: variable scope, input scaling and batch-norm
 * settings.
 *
 * <p>ResNet "beta" variants replace the 7×7 root with three 3×3 convolutions and scale inputs to
 * [-1, 1] ({@code core/resnet_v1_beta.py}); they share the variable scope of the plain variant.
 *
 * <p>Immutable and thread-safe.
 */
public enum ModelVariant {
  MOBILENET_V2("mobilenet_v2", Family.MOBILENET_V2, "MobilenetV2", 0, 0.997f, 1e-3f),
  RESNET_V1_18("resnet_v1_18", Family.RESNET_V1, "resnet_v1_18", 2, 0.95f, 1e-5f),
  RESNET_V1_18_BETA("resnet_v1_18_beta", Family.RESNET_V1, "resnet_v1_18", 2, 0.95f, 1e-5f),
  RESNET_V1_50("resnet_v1_50", Family.RESNET_V1, "resnet_v1_50", 6, 0.95f, 1e-5f),
  RESNET_V1_101("resnet_v1_101", Family.RESNET_V1, "resnet_v1_101", 23, 0.95f, 1e-5f),
  RESNET_V1_50_BETA("resnet_v1_50_beta", Family.RESNET_V1, "resnet_v1_50", 6, 0.95f, 1e-5f),
  RESNET_V1_101_BETA("resnet_v1_101_beta", Family.RESNET_V1, "resnet_v1_101", 23, 0.95f, 1e-5f),
  XCEPTION_41("xception_41", Family.XCEPTION, "xception_41", 8, 0.9997f, 1e-3f),
  XCEPTION_65("xception_65", Family.XCEPTION, "xception_65", 16, 0.9997f, 1e-3f),
  XCEPTION_71("xception_71", Family.XCEPTION, "xception_71", 16, 0.9997f, 1e-3f),
  MOBILENET_V3_LARGE_SEG("mobilenet_v3_large_seg", Family.MOBILENET_V3, "MobilenetV3", 0, 0.997f,
      1e-3f),
  MOBILENET_V3_SMALL_SEG("mobilenet_v3_small_seg", Family.MOBILENET_V3, "MobilenetV3", 0, 0.997f,
      1e-3f),
  MOBILENET_EDGETPU("mobilenet_edgetpu", Family.MOBILENET_V3, "MobilenetEdgeTPU", 0, 0.997f,
      1e-3f),
  /**
   * PNASNet-5 cells as a DeepLab backbone ({@code core/nas_network.pnasnet}; Liu et al.,
   * "Progressive Neural Architecture Search", ECCV 2018).
   */
  NAS_PNASNET("nas_pnasnet", Family.NAS, "pnasnet", 0, 0.9997f, 1e-3f),
  /**
   * Auto-DeepLab's searched cell and network path ({@code core/nas_network.hnasnet}; Liu et al.,
   * "Auto-DeepLab: Hierarchical Neural Architecture Search for Semantic Image Segmentation",
   * CVPR 2019).
   */
  NAS_HNASNET("nas_hnasnet", Family.NAS, "hnasnet", 0, 0.9997f, 1e-3f),
  /**
   * VGG-16 as DeepLab-LargeFOV reshapes it (Chen et al., "Semantic Image Segmentation with Deep
   * Convolutional Nets and Fully Connected CRFs", ICLR 2015): 3×3 max pools, the last two at
   * stride 1, conv5 at rate 2, a 3×3 average pool, fc6 a 3×3 conv of 1024 channels at rate 12,
   * fc7 1×1; output stride 8. Variables under slim's {@code vgg_16} names; no batch norm (the
   * batch-norm constants are the head's, unused by the backbone).
   */
  VGG_16("vgg_16", Family.VGG, "vgg_16", 0, 0.9997f, 1e-5f),
  /**
   * torchvision's {@code deeplabv3_resnet50}: its ResNet-50 (stride on the 3×3 conv, dilation for
   * output stride 8), {@code DeepLabHead}; variables named as its state dict.
   */
  TORCHVISION_DEEPLABV3_RESNET50("torchvision_deeplabv3_resnet50", Family.PYTORCH, "backbone", 6,
      0.9f, 1e-5f),
  /** torchvision's {@code deeplabv3_resnet101}. */
  TORCHVISION_DEEPLABV3_RESNET101("torchvision_deeplabv3_resnet101", Family.PYTORCH, "backbone",
      23, 0.9f, 1e-5f),
  /** torchvision's {@code deeplabv3_mobilenet_v3_large}: dilated MobileNetV3-Large, DeepLabHead. */
  TORCHVISION_DEEPLABV3_MOBILENET_V3_LARGE("torchvision_deeplabv3_mobilenet_v3_large",
      Family.PYTORCH, "backbone", 0, 0.99f, 1e-3f),
  /** torchvision's {@code lraspp_mobilenet_v3_large}: dilated MobileNetV3-Large, LR-ASPP head. */
  TORCHVISION_LRASPP_MOBILENET_V3_LARGE("torchvision_lraspp_mobilenet_v3_large", Family.PYTORCH,
      "backbone", 0, 0.99f, 1e-3f),
  /**
   * VainF/DeepLabV3Plus-Pytorch's {@code deeplabv3plus_resnet50}: torchvision's ResNet-50 with its
   * {@code DeepLabHeadV3Plus}.
   */
  VAINF_DEEPLABV3PLUS_RESNET50("vainf_deeplabv3plus_resnet50", Family.PYTORCH, "backbone", 6,
      0.9f, 1e-5f),
  /** VainF's {@code deeplabv3plus_resnet101}. */
  VAINF_DEEPLABV3PLUS_RESNET101("vainf_deeplabv3plus_resnet101", Family.PYTORCH, "backbone", 23,
      0.9f, 1e-5f),
  /** VainF's {@code deeplabv3plus_mobilenet}: its own MobileNetV2 with {@code DeepLabHeadV3Plus}. */
  VAINF_DEEPLABV3PLUS_MOBILENET("vainf_deeplabv3plus_mobilenet", Family.PYTORCH, "backbone", 0,
      0.9f, 1e-5f);

  /** ImageNet mean RGB in [0, 255] that PyTorch models subtract (torchvision's transforms). */
  static final float[] IMAGENET_MEAN_RGB = {0.485f * 255f, 0.456f * 255f, 0.406f * 255f};

  /**
   * The mean pixel DeepLab-LargeFOV's Caffe data layer subtracts ({@code mean_value} 104.008,
   * 116.669, 122.675 in its BGR order), here in RGB order.
   */
  static final float[] VGG_MEAN_RGB = {122.675f, 116.669f, 104.008f};

  /** Mean RGB pixel subtracted by the non-beta ResNets ({@code feature_extractor._MEAN_RGB}). */
  static final float[] RESNET_MEAN_RGB = {123.15f, 115.90f, 103.06f};

  private final String officialName;
  /** The backbone families of the official feature extractor ({@code core/feature_extractor.py}). */
  public enum Family {
    MOBILENET_V2,
    RESNET_V1,
    XCEPTION,
    /**
     * MobileNetV3 large/small with the segmentation changes of {@code feature_extractor.py}, and
     * the EdgeTPU MobileNet built from the same blocks.
     */
    MOBILENET_V3,
    /**
     * The NAS backbones of {@code core/nas_network.py}: a three-conv stem and twelve cells
     * ({@code core/nas_cell.py}) at the strides of a fixed network path.
     */
    NAS,
    /**
     * VGG-16 with DeepLab-LargeFOV's atrous fc6 ({@code dev.deeplab.internal.backbone.Vgg16}):
     * features at output stride 8 after fc7, no batch norm, no decoder endpoints.
     */
    VGG,
    /**
     * Networks of PyTorch code (torchvision, VainF's DeepLabV3Plus-Pytorch), built as it computes
     * them ({@code dev.deeplab.internal.torch}); inputs normalised with the ImageNet mean and std.
     */
    PYTORCH
  }

  private final Family family;
  private final String scope;
  private final int repeatedUnits;
  private final float bnDecay;
  private final float bnEpsilon;

  ModelVariant(
      String officialName,
      Family family,
      String scope,
      int repeatedUnits,
      float bnDecay,
      float bnEpsilon) {
    this.officialName = officialName;
    this.family = family;
    this.scope = scope;
    this.repeatedUnits = repeatedUnits;
    this.bnDecay = bnDecay;
    this.bnEpsilon = bnEpsilon;
  }

  /** The {@code model_variant} string of the official flags, e.g. {@code xception_65}. */
  @JsonValue
  public String officialName() {
    return officialName;
  }

  public Family family() {
    return family;
  }

  /** The root variable scope of the backbone in official checkpoints. */
  public String scope() {
    return scope;
  }

  /**
   * Units in ResNet block3 (torchvision's {@code layer3}), or in the Xception middle flow; 0 for
   * the MobileNets and NAS.
   */
  public int repeatedUnits() {
    return repeatedUnits;
  }

  /** Batch-norm moving-average decay the official feature extractor uses for this backbone. */
  public float bnDecay() {
    return bnDecay;
  }

  /** Batch-norm epsilon the official feature extractor uses for this backbone. */
  public float bnEpsilon() {
    return bnEpsilon;
  }

  /**
   * True for ResNet-18, built of "lite" bottlenecks (two 3×3 convs, {@code
   * resnet_v1_beta.lite_bottleneck}) with two multi-grid rates.
   */
  public boolean isLite() {
    return officialName.startsWith("resnet_v1_18");
  }

  /** Number of {@code multi_grid} rates the backbone takes: 2 for ResNet-18, else 3. */
  public int multiGridLength() {
    return isLite() ? 2 : 3;
  }

  /** True for the ResNet variants with the three-conv root. */
  public boolean isBeta() {
    return officialName.endsWith("_beta");
  }

  /**
   * True when inputs are scaled to [-1, 1] ({@code x*2/255-1}); false when the ImageNet mean is
   * subtracted (non-beta ResNets).
   */
  public boolean scalesToUnitRange() {
    return family != Family.RESNET_V1 && family != Family.PYTORCH && family != Family.VGG
        || isBeta();
  }

  /**
   * The official {@code feature_extractor.mean_pixel}, which padding uses: the ImageNet mean for
   * resnet_v1_50/101, else 127.5 (which becomes 0 after scaling to [-1, 1]). The official code
   * gives resnet_v1_18 127.5 as well although it subtracts the ImageNet mean. VGG-16 pads with
   * the mean it subtracts, as DeepLab-LargeFOV's Caffe data layer pads its crops.
   */
  public float[] meanPixel() {
    if (family == Family.PYTORCH) {
      return IMAGENET_MEAN_RGB.clone();
    }
    if (family == Family.VGG) {
      return VGG_MEAN_RGB.clone();
    }
    return scalesToUnitRange() || isLite() ? new float[] {127.5f, 127.5f, 127.5f}
        : RESNET_MEAN_RGB.clone();
  }

  /** The RGB mean that preprocessing subtracts when it does not scale to [-1, 1]. */
  public float[] imageNetMean() {
    return family == Family.VGG ? VGG_MEAN_RGB.clone() : RESNET_MEAN_RGB.clone();
  }

  /** Looks a variant up by its official name, case-insensitively; a clear message otherwise. */
  @JsonCreator
  public static ModelVariant fromName(String name) {
    for (ModelVariant v : values()) {
      if (v.officialName.equalsIgnoreCase(name.trim()) || v.name().equalsIgnoreCase(name.trim())) {
        return v;
      }
    }
    throw new IllegalArgumentException(
        "unknown variant '"
            + name
            + "' (expected one of "
            + Arrays.stream(values()).map(v -> v.officialName).collect(Collectors.joining(", "))
            + ")");
  }

  @Override
  public String toString() {
    return officialName.toLowerCase(Locale.ROOT);
  }
}
