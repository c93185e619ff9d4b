package dev.deeplab.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.deeplab.internal.model.DeepLab;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The architecture of one DeepLab network: everything that decides which variables exist and what
 * the graph computes. Field names follow the official flags ({@code research/deeplab/common.py}).
 *
 * <p>Immutable and thread-safe; change one field with the {@code with...} methods. {@link
 * #defaults} gives the official settings for a backbone and output stride; {@link #preset} the
 * model-zoo variants.
 *
 * @param variant the backbone ({@code model_variant})
 * @param outputStride input size over feature size: 8, 16 or 32 ({@code output_stride})
 * @param atrousRates ASPP rates, empty for no atrous branches ({@code atrous_rates})
 * @param multiGrid unit rates of the last block ({@code multi_grid}), three values
 * @param decoderOutputStride DeepLabv3+ decoder stride (4 or 8), or 0 for DeepLabv3
 * @param asppWithSeparableConv separable 3×3 ASPP branches ({@code aspp_with_separable_conv})
 * @param decoderUseSeparableConv separable decoder convs ({@code decoder_use_separable_conv})
 * @param numClasses number of output classes ({@code num_classes})
 * @param cropHeight network input height; image pooling uses a kernel of {@code
 *     scale_dimension(cropHeight, 1/outputStride)}
 * @param cropWidth network input width
 * @param depthMultiplier MobileNetV2 depth multiplier (1.0 elsewhere)
 * @param imagePooling adds the image-level feature branch ({@code add_image_level_feature})
 */
public record ModelConfig(
    @JsonProperty("variant") ModelVariant variant,
    @JsonProperty("output_stride") int outputStride,
    @JsonProperty("atrous_rates") List<Integer> atrousRates,
    @JsonProperty("multi_grid") List<Integer> multiGrid,
    @JsonProperty("decoder_output_stride") int decoderOutputStride,
    @JsonProperty("aspp_with_separable_conv") boolean asppWithSeparableConv,
    @JsonProperty("decoder_use_separable_conv") boolean decoderUseSeparableConv,
    @JsonProperty("num_classes") int numClasses,
    @JsonProperty("crop_height") int cropHeight,
    @JsonProperty("crop_width") int cropWidth,
    @JsonProperty("depth_multiplier") double depthMultiplier,
    @JsonProperty("image_pooling") boolean imagePooling) {

  /** Validates the combination; messages name the offending flag. */
  public ModelConfig {
    if (variant == null) {
      throw new IllegalArgumentException("variant is required");
    }
    if (outputStride != 8 && outputStride != 16 && outputStride != 32) {
      throw new IllegalArgumentException("output stride must be 8, 16 or 32, got " + outputStride);
    }
    atrousRates = List.copyOf(atrousRates);
    multiGrid = List.copyOf(multiGrid);
    if (multiGrid.size() != 3 || multiGrid.stream().anyMatch(r -> r < 1)) {
      throw new IllegalArgumentException("multi-grid needs three positive rates, got " + multiGrid);
    }
    if (atrousRates.stream().anyMatch(r -> r < 1)) {
      throw new IllegalArgumentException("atrous rates must be positive, got " + atrousRates);
    }
    if (decoderOutputStride != 0 && decoderOutputStride != 4 && decoderOutputStride != 8) {
      throw new IllegalArgumentException(
          "decoder output stride must be 4 or 8 (or 0 for none), got " + decoderOutputStride);
    }
    if (decoderOutputStride >= outputStride) {
      throw new IllegalArgumentException(
          "decoder output stride " + decoderOutputStride + " must be below " + outputStride);
    }
    if (numClasses < 1) {
      throw new IllegalArgumentException("number of classes must be positive, got " + numClasses);
    }
    if (cropHeight < 1 || cropWidth < 1) {
      throw new IllegalArgumentException("crop size must be positive");
    }
    if (depthMultiplier <= 0) {
      throw new IllegalArgumentException("depth multiplier must be positive");
    }
    if (depthMultiplier != 1.0 && variant != ModelVariant.MOBILENET_V2) {
      throw new IllegalArgumentException("only mobilenet_v2 takes a depth multiplier");
    }
  }

  /** The official ASPP rates for an output stride: [6,12,18] at 16, [12,24,36] at 8, [3,6,9] at 32. */
  public static List<Integer> officialRates(int outputStride) {
    return switch (outputStride) {
      case 8 -> List.of(12, 24, 36);
      case 16 -> List.of(6, 12, 18);
      case 32 -> List.of(3, 6, 9);
      default -> throw new IllegalArgumentException("output stride must be 8, 16 or 32");
    };
  }

  /**
   * The official settings for a backbone: DeepLabv3+ (ASPP at the official rates, separable convs,
   * decoder at stride 4) for ResNet and Xception; DeepLabv3 without atrous branches for MobileNetV2,
   * as in the model zoo. 21 classes, 513×513 crop. Beta ResNets get multi-grid [1,2,4] as {@code
   * common.py} recommends for their checkpoints.
   */
  public static ModelConfig defaults(ModelVariant variant, int outputStride) {
    boolean mobile = variant == ModelVariant.MOBILENET_V2;
    return new ModelConfig(
        variant,
        outputStride,
        mobile ? List.of() : officialRates(outputStride),
        variant.isBeta() ? List.of(1, 2, 4) : List.of(1, 1, 1),
        mobile ? 0 : 4,
        true,
        true,
        21,
        513,
        513,
        1.0,
        true);
  }

  private static final Map<String, ModelConfig> PRESETS = buildPresets();

  private static Map<String, ModelConfig> buildPresets() {
    Map<String, ModelConfig> p = new TreeMap<>();
    ModelConfig mnv2 = defaults(ModelVariant.MOBILENET_V2, 16);
    p.put("mobilenetv2_coco_voc", mnv2);
    p.put("mobilenetv2_dm05_coco_voc", mnv2.withDepthMultiplier(0.5));
    p.put("mobilenetv2_coco_cityscapes", mnv2.withNumClasses(19).withCropSize(1025, 2049));
    ModelConfig x65 = defaults(ModelVariant.XCEPTION_65, 16);
    p.put("xception65_coco_voc", x65);
    p.put("xception65_cityscapes", x65.withNumClasses(19).withCropSize(1025, 2049));
    p.put("xception65_ade20k", x65.withNumClasses(151));
    p.put("xception41_voc", defaults(ModelVariant.XCEPTION_41, 16));
    p.put("xception71_voc", defaults(ModelVariant.XCEPTION_71, 16));
    p.put("resnet_v1_50_voc", defaults(ModelVariant.RESNET_V1_50, 16));
    p.put("resnet_v1_101_voc", defaults(ModelVariant.RESNET_V1_101, 16));
    p.put("resnet_v1_50_beta_voc", defaults(ModelVariant.RESNET_V1_50_BETA, 16));
    p.put("resnet_v1_101_beta_voc", defaults(ModelVariant.RESNET_V1_101_BETA, 16));
    return p;
  }

  /** The names {@link #preset} accepts. */
  public static List<String> presetNames() {
    return List.copyOf(PRESETS.keySet());
  }

  /**
   * A model-zoo configuration ({@code g3doc/model_zoo.md}), e.g. {@code xception65_coco_voc} or
   * {@code mobilenetv2_coco_voc}.
   */
  public static ModelConfig preset(String name) {
    ModelConfig c = PRESETS.get(name);
    if (c == null) {
      throw new IllegalArgumentException(
          "unknown preset '" + name + "' (expected one of " + String.join(", ", PRESETS.keySet()) + ")");
    }
    return c;
  }

  public boolean hasDecoder() {
    return decoderOutputStride > 0;
  }

  /** The official {@code scale_dimension(d, s) = int((d - 1) * s + 1)}. */
  public static int scaleDimension(int dim, double scale) {
    return (int) ((dim - 1) * scale + 1);
  }

  public ModelConfig withOutputStride(int os) {
    return new ModelConfig(variant, os, atrousRates, multiGrid, decoderOutputStride,
        asppWithSeparableConv, decoderUseSeparableConv, numClasses, cropHeight, cropWidth,
        depthMultiplier, imagePooling);
  }

  public ModelConfig withAtrousRates(List<Integer> rates) {
    return new ModelConfig(variant, outputStride, rates, multiGrid, decoderOutputStride,
        asppWithSeparableConv, decoderUseSeparableConv, numClasses, cropHeight, cropWidth,
        depthMultiplier, imagePooling);
  }

  public ModelConfig withMultiGrid(List<Integer> grid) {
    return new ModelConfig(variant, outputStride, atrousRates, grid, decoderOutputStride,
        asppWithSeparableConv, decoderUseSeparableConv, numClasses, cropHeight, cropWidth,
        depthMultiplier, imagePooling);
  }

  public ModelConfig withDecoderOutputStride(int stride) {
    return new ModelConfig(variant, outputStride, atrousRates, multiGrid, stride,
        asppWithSeparableConv, decoderUseSeparableConv, numClasses, cropHeight, cropWidth,
        depthMultiplier, imagePooling);
  }

  public ModelConfig withSeparableConvs(boolean aspp, boolean decoder) {
    return new ModelConfig(variant, outputStride, atrousRates, multiGrid, decoderOutputStride,
        aspp, decoder, numClasses, cropHeight, cropWidth, depthMultiplier, imagePooling);
  }

  public ModelConfig withNumClasses(int classes) {
    return new ModelConfig(variant, outputStride, atrousRates, multiGrid, decoderOutputStride,
        asppWithSeparableConv, decoderUseSeparableConv, classes, cropHeight, cropWidth,
        depthMultiplier, imagePooling);
  }

  public ModelConfig withCropSize(int height, int width) {
    return new ModelConfig(variant, outputStride, atrousRates, multiGrid, decoderOutputStride,
        asppWithSeparableConv, decoderUseSeparableConv, numClasses, height, width,
        depthMultiplier, imagePooling);
  }

  public ModelConfig withDepthMultiplier(double dm) {
    return new ModelConfig(variant, outputStride, atrousRates, multiGrid, decoderOutputStride,
        asppWithSeparableConv, decoderUseSeparableConv, numClasses, cropHeight, cropWidth, dm,
        imagePooling);
  }
}
