package dev.deeplab.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import dev.deeplab.internal.backbone.NasNetwork;
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
 * @param multiGrid unit rates of the last block ({@code multi_grid}), three values (two for
 *     ResNet-18)
 * @param decoderOutputStrides the DeepLabv3+ decoder's stages by the stride of their low-level
 *     feature ({@code decoder_output_stride}: one stage per stride, in order, e.g. [8, 4];
 *     strictly decreasing, 4 or 8, below the output stride), empty for DeepLabv3. In JSON a
 *     single stride is a number and none is 0, as model.json files have always had it.
 * @param asppWithSeparableConv separable 3×3 ASPP branches ({@code aspp_with_separable_conv})
 * @param decoderUseSeparableConv separable decoder convs ({@code decoder_use_separable_conv})
 * @param numClasses number of output classes ({@code num_classes})
 * @param cropHeight network input height; image pooling uses a kernel of {@code
 *     scale_dimension(cropHeight, 1/outputStride)}
 * @param cropWidth network input width
 * @param depthMultiplier MobileNet depth multiplier (1.0 elsewhere)
 * @param imagePooling adds the image-level feature branch ({@code add_image_level_feature})
 * @param imagePoolingCropSize the crop whose size at the output stride is the image-pooling window
 *     ({@code image_pooling_crop_size}, [h, w]); empty (or absent in JSON) for the crop size
 * @param imagePoolingStride the image-pooling window's stride ({@code image_pooling_stride}, [h,
 *     w]); absent in JSON: [1, 1]
 * @param asppConvsFilters channels of the ASPP convs ({@code aspp_convs_filters}); absent: 256
 * @param decoderFilters channels of the decoder convs ({@code decoder_filters}); absent: 256
 * @param asppWithSqueezeAndExcitation the image-pooling branch gates the ASPP output (sigmoid, no
 *     batch norm) instead of joining the concatenation ({@code aspp_with_squeeze_and_excitation})
 * @param imageSeUsesQsigmoid that gate is the hard sigmoid {@code relu6(x+3)·0.16667} ({@code
 *     image_se_uses_qsigmoid})
 * @param asppWithConcatProjection the 1×1 {@code concat_projection} after the ASPP concatenation
 *     ({@code aspp_with_concat_projection}); absent: true
 * @param decoderUseSumMerge the decoder adds the projected low-level feature to one conv of the
 *     ASPP output instead of concatenating ({@code decoder_use_sum_merge})
 * @param decoderOutputIsLogits the decoder's 1×1 convs (biases, no batch norm, no activation)
 *     give the logits, with {@code decoder_filters} equal to the classes; no {@code logits} layer
 *     ({@code decoder_output_is_logits})
 * @param densePredictionCell the dense prediction cell replacing ASPP (the content of {@code
 *     dense_prediction_cell_json}), empty (or absent) for ASPP
 * @param asppWithBatchNorm the ASPP module (or cell) with batch norm ({@code
 *     aspp_with_batch_norm}); false: none, and the logits layer has a branch per atrous rate,
 *     summed (DeepLabv2's ASPP); absent: true
 * @param logitsKernelSize the logits convs' kernel ({@code logits_kernel_size}; 1 unless {@code
 *     aspp_with_batch_norm} is false with atrous rates); absent: 1
 * @param useBoundedActivation ReLU6 in place of ReLU in the ASPP (not its image pooling) and the
 *     decoder, and Xception's bounded form (ReLU6, values clipped to [-6, 6] around its sums, TF
 *     "SAME" padding in its strided separable convs); other backbones are unchanged, as in the
 *     official code ({@code use_bounded_activation}); absent: false
 * @param nasStemOutputNumConvFilters the NAS cells' filters at stride 4 (doubled at each lower
 *     resolution; {@code nas_stem_output_num_conv_filters}); absent: 20
 * @param nasUseClassificationHead the NAS backbones end with convs down to stride 32 (strided
 *     until the output stride, then atrous) and a 2048-channel 1×1 conv ({@code
 *     nas_use_classification_head}); absent: false
 * @param nasRemoveOs32Stride the NAS cells of the stride-32 level run at stride 16 ({@code
 *     nas_remove_os32_stride}); absent: false
 */
public record ModelConfig(
    @JsonProperty("variant") ModelVariant variant,
    @JsonProperty("output_stride") int outputStride,
    @JsonProperty("atrous_rates") List<Integer> atrousRates,
    @JsonProperty("multi_grid") List<Integer> multiGrid,
    @JsonSerialize(using = DecoderStrides.Writer.class)
    @JsonDeserialize(using = DecoderStrides.Reader.class)
    @JsonProperty("decoder_output_stride") List<Integer> decoderOutputStrides,
    @JsonProperty("aspp_with_separable_conv") boolean asppWithSeparableConv,
    @JsonProperty("decoder_use_separable_conv") boolean decoderUseSeparableConv,
    @JsonProperty("num_classes") int numClasses,
    @JsonProperty("crop_height") int cropHeight,
    @JsonProperty("crop_width") int cropWidth,
    @JsonProperty("depth_multiplier") double depthMultiplier,
    @JsonProperty("image_pooling") boolean imagePooling,
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonProperty("image_pooling_crop_size") List<Integer> imagePoolingCropSize,
    @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = Unit.class)
    @JsonProperty("image_pooling_stride") List<Integer> imagePoolingStride,
    @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = Depth256.class)
    @JsonProperty("aspp_convs_filters") Integer asppConvsFilters,
    @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = Depth256.class)
    @JsonProperty("decoder_filters") Integer decoderFilters,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    @JsonProperty("aspp_with_squeeze_and_excitation") boolean asppWithSqueezeAndExcitation,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    @JsonProperty("image_se_uses_qsigmoid") boolean imageSeUsesQsigmoid,
    @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = True.class)
    @JsonProperty("aspp_with_concat_projection") Boolean asppWithConcatProjection,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    @JsonProperty("decoder_use_sum_merge") boolean decoderUseSumMerge,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    @JsonProperty("decoder_output_is_logits") boolean decoderOutputIsLogits,
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonProperty("dense_prediction_cell_json") List<DenseCellBranch> densePredictionCell,
    @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = True.class)
    @JsonProperty("aspp_with_batch_norm") Boolean asppWithBatchNorm,
    @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = One.class)
    @JsonProperty("logits_kernel_size") Integer logitsKernelSize,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    @JsonProperty("use_bounded_activation") boolean useBoundedActivation,
    @JsonInclude(value = JsonInclude.Include.CUSTOM, valueFilter = Depth20.class)
    @JsonProperty("nas_stem_output_num_conv_filters") Integer nasStemOutputNumConvFilters,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    @JsonProperty("nas_use_classification_head") boolean nasUseClassificationHead,
    @JsonInclude(JsonInclude.Include.NON_DEFAULT)
    @JsonProperty("nas_remove_os32_stride") boolean nasRemoveOs32Stride) {

  /**
   * Validates the combination; messages name the offending flag. A null (absent from a model.json
   * written before the field existed) takes the official default.
   */
  public ModelConfig {
    if (variant == null) {
      throw new IllegalArgumentException("variant is required");
    }
    if (outputStride != 8 && outputStride != 16 && outputStride != 32) {
      throw new IllegalArgumentException("output stride must be 8, 16 or 32, got " + outputStride);
    }
    atrousRates = List.copyOf(atrousRates);
    multiGrid = List.copyOf(multiGrid);
    if (multiGrid.size() != variant.multiGridLength() || multiGrid.stream().anyMatch(r -> r < 1)) {
      throw new IllegalArgumentException("multi-grid of " + variant + " needs "
          + variant.multiGridLength() + " positive rates, got " + multiGrid);
    }
    if (atrousRates.stream().anyMatch(r -> r < 1)) {
      throw new IllegalArgumentException("atrous rates must be positive, got " + atrousRates);
    }
    decoderOutputStrides = decoderOutputStrides == null ? List.of()
        : List.copyOf(decoderOutputStrides);
    for (int i = 0; i < decoderOutputStrides.size(); i++) {
      int stride = decoderOutputStrides.get(i);
      if (stride != 4 && stride != 8) {
        throw new IllegalArgumentException(
            "decoder output stride must be 4 or 8 (or 0 for none), got " + stride);
      }
      if (stride >= outputStride) {
        throw new IllegalArgumentException(
            "decoder output stride " + stride + " must be below " + outputStride);
      }
      if (i > 0 && stride >= decoderOutputStrides.get(i - 1)) {
        throw new IllegalArgumentException("decoder output strides must decrease stage by stage, "
            + "got " + decoderOutputStrides);
      }
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
    if (depthMultiplier != 1.0 && variant.family() != ModelVariant.Family.MOBILENET_V2
        && variant.family() != ModelVariant.Family.MOBILENET_V3) {
      throw new IllegalArgumentException("only the MobileNets take a depth multiplier");
    }
    imagePoolingCropSize = imagePoolingCropSize == null ? List.of() : List.copyOf(imagePoolingCropSize);
    imagePoolingStride = imagePoolingStride == null ? List.of(1, 1) : List.copyOf(imagePoolingStride);
    asppConvsFilters = asppConvsFilters == null ? 256 : asppConvsFilters;
    decoderFilters = decoderFilters == null ? 256 : decoderFilters;
    asppWithConcatProjection = asppWithConcatProjection == null || asppWithConcatProjection;
    if (!imagePoolingCropSize.isEmpty()
        && (imagePoolingCropSize.size() != 2 || imagePoolingCropSize.stream().anyMatch(d -> d < 1))) {
      throw new IllegalArgumentException(
          "image pooling crop size needs two positive sizes, got " + imagePoolingCropSize);
    }
    if (imagePoolingStride.size() != 2 || imagePoolingStride.stream().anyMatch(d -> d < 1)) {
      throw new IllegalArgumentException(
          "image pooling stride needs two positive strides, got " + imagePoolingStride);
    }
    if (asppConvsFilters < 1 || decoderFilters < 1) {
      throw new IllegalArgumentException("ASPP and decoder filters must be positive");
    }
    if (asppWithSqueezeAndExcitation && !imagePooling) {
      throw new IllegalArgumentException(
          "aspp_with_squeeze_and_excitation needs the image pooling branch");
    }
    if (decoderOutputIsLogits && decoderOutputStrides.isEmpty()) {
      throw new IllegalArgumentException("decoder_output_is_logits needs a decoder");
    }
    densePredictionCell = densePredictionCell == null ? List.of() : List.copyOf(densePredictionCell);
    for (int i = 0; i < densePredictionCell.size(); i++) {
      int input = densePredictionCell.get(i).input();
      if (input < -1 || input >= i) {
        throw new IllegalArgumentException("dense prediction cell branch " + i
            + " reads branch " + input + " (expected -1 for the features or an earlier branch)");
      }
    }
    asppWithBatchNorm = asppWithBatchNorm == null || asppWithBatchNorm;
    logitsKernelSize = logitsKernelSize == null ? 1 : logitsKernelSize;
    if (logitsKernelSize < 1 || logitsKernelSize % 2 == 0) {
      throw new IllegalArgumentException("logits_kernel_size must be odd, got " + logitsKernelSize);
    }
    if (logitsKernelSize != 1 && (asppWithBatchNorm || atrousRates.isEmpty())) {
      throw new IllegalArgumentException("logits_kernel_size must be 1 with "
          + "aspp_with_batch_norm or without atrous rates, got " + logitsKernelSize);
    }
    if (!asppWithBatchNorm && !densePredictionCell.isEmpty()) {
      throw new IllegalArgumentException("the dense prediction cell needs aspp_with_batch_norm");
    }
    nasStemOutputNumConvFilters = nasStemOutputNumConvFilters == null ? 20
        : nasStemOutputNumConvFilters;
    if (nasStemOutputNumConvFilters < 1) {
      throw new IllegalArgumentException("nas_stem_output_num_conv_filters must be positive, got "
          + nasStemOutputNumConvFilters);
    }
    if (variant.family() == ModelVariant.Family.NAS) {
      String problem = NasNetwork.incompatibility(variant, outputStride, nasUseClassificationHead,
          nasRemoveOs32Stride, cropHeight, cropWidth);
      if (problem != null) {
        throw new IllegalArgumentException(problem);
      }
    }
    if (variant.family() == ModelVariant.Family.VGG
        && (outputStride != 8 || !decoderOutputStrides.isEmpty())) {
      throw new IllegalArgumentException("vgg_16 (DeepLab-LargeFOV) runs at output stride 8 "
          + "without a decoder, got output stride " + outputStride
          + (decoderOutputStrides.isEmpty() ? "" : " and decoder " + decoderOutputStrides));
    }
    if (decoderOutputIsLogits && decoderFilters != numClasses) {
      throw new IllegalArgumentException("decoder_output_is_logits needs decoder_filters ("
          + decoderFilters + ") equal to the number of classes (" + numClasses + ")");
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
   * decoder at stride 4) for ResNet and Xception; DeepLabv3 without atrous branches for the
   * MobileNets, as in the model zoo (whose MobileNetV3 head is in the presets). 21 classes,
   * 513×513 crop. Beta ResNets get multi-grid [1,2,4] as {@code common.py} recommends for their
   * checkpoints; ResNet-18 (two rates) [1,1]. The NAS backbones take the DeepLabv3+ settings
   * with 20 stem filters; hnasnet, whose cells end at stride 8, gets {@code
   * nas_use_classification_head} at output strides 16 and 32, the official way to reach them.
   */
  public static ModelConfig defaults(ModelVariant variant, int outputStride) {
    if (variant.family() == ModelVariant.Family.VGG) {
      return largeFov(outputStride);
    }
    boolean mobile = variant.family() == ModelVariant.Family.MOBILENET_V2
        || variant.family() == ModelVariant.Family.MOBILENET_V3;
    return new ModelConfig(
        variant,
        outputStride,
        mobile ? List.of() : officialRates(outputStride),
        variant.isLite() ? List.of(1, 1) : variant.isBeta() ? List.of(1, 2, 4) : List.of(1, 1, 1),
        mobile ? List.of() : List.of(4),
        true,
        true,
        21,
        513,
        513,
        1.0,
        true,
        List.of(),
        List.of(1, 1),
        256,
        256,
        false,
        false,
        true,
        false,
        false,
        List.of(),
        true,
        1,
        false,
        20,
        variant == ModelVariant.NAS_HNASNET && outputStride != 8,
        false);
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
    p.put("resnet_v1_18_voc", defaults(ModelVariant.RESNET_V1_18, 16));
    p.put("resnet_v1_18_beta_voc", defaults(ModelVariant.RESNET_V1_18_BETA, 16));
    p.put("mobilenetv3_large_cityscapes", mobileNetV3Cityscapes(ModelVariant.MOBILENET_V3_LARGE_SEG));
    p.put("mobilenetv3_small_cityscapes", mobileNetV3Cityscapes(ModelVariant.MOBILENET_V3_SMALL_SEG));
    // g3doc/model_zoo.md + faq: xception_71, dense_prediction_cell_json=
    // dense_prediction_cell_branch5_top1_cityscapes.json, decoder_output_stride=4.
    // g3doc/model_zoo.md: the MobileNetV2 flags with model_variant=mobilenet_edgetpu, no decoder;
    // the slim one with depth_multiplier=0.75 and aspp_convs_filters=128. Output stride 32.
    ModelConfig edgeTpu = defaults(ModelVariant.MOBILENET_EDGETPU, 32).withNumClasses(19)
        .withCropSize(1025, 2049);
    p.put("edgetpu_deeplab_cityscapes", edgeTpu);
    p.put("edgetpu_deeplab_slim_cityscapes", edgeTpu.withDepthMultiplier(0.75)
        .withAspp(128, false, false, true));
    p.put("xception71_dpc_cityscapes", defaults(ModelVariant.XCEPTION_71, 16).withNumClasses(19)
        .withCropSize(1025, 2049).withAtrousRates(List.of())
        .withDensePredictionCell(DenseCellBranch.BRANCH5_TOP1_CITYSCAPES));
    p.put("deeplabv2_resnet101", deepLabV2(ModelVariant.RESNET_V1_101));
    p.put("deeplabv1_largefov_vgg16", largeFov(8));
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
    return !decoderOutputStrides.isEmpty();
  }

  /**
   * The stride of the decoder's last stage, at which it gives the logits (the smallest of {@code
   * decoder_output_stride}), or 0 without a decoder.
   */
  public int decoderOutputStride() {
    return decoderOutputStrides.isEmpty() ? 0
        : decoderOutputStrides.get(decoderOutputStrides.size() - 1);
  }

  /** The official {@code scale_dimension(d, s) = int((d - 1) * s + 1)}. */
  public static int scaleDimension(int dim, double scale) {
    return (int) ((dim - 1) * scale + 1);
  }

  public ModelConfig withOutputStride(int os) {
    return copy(f -> f.outputStride = os);
  }

  public ModelConfig withAtrousRates(List<Integer> rates) {
    return copy(f -> f.atrousRates = rates);
  }

  public ModelConfig withMultiGrid(List<Integer> grid) {
    return copy(f -> f.multiGrid = grid);
  }

  /** A one-stage decoder at {@code stride}, or none for 0. */
  public ModelConfig withDecoderOutputStride(int stride) {
    return withDecoderOutputStrides(stride == 0 ? List.of() : List.of(stride));
  }

  /** A decoder with one stage per stride, in order (e.g. [8, 4]); empty for none. */
  public ModelConfig withDecoderOutputStrides(List<Integer> strides) {
    return copy(f -> f.decoderOutputStrides = strides);
  }

  public ModelConfig withSeparableConvs(boolean aspp, boolean decoder) {
    return copy(f -> {
      f.asppWithSeparableConv = aspp;
      f.decoderUseSeparableConv = decoder;
    });
  }

  /** The number of classes; with {@code decoder_output_is_logits} the decoder's filters too. */
  public ModelConfig withNumClasses(int classes) {
    return copy(f -> {
      f.numClasses = classes;
      if (f.decoderOutputIsLogits) {
        f.decoderFilters = classes;
      }
    });
  }

  public ModelConfig withCropSize(int height, int width) {
    return copy(f -> {
      f.cropHeight = height;
      f.cropWidth = width;
    });
  }

  public ModelConfig withDepthMultiplier(double dm) {
    return copy(f -> f.depthMultiplier = dm);
  }

  /** The image-pooling window's crop ([h, w], or empty for the crop size) and stride. */
  public ModelConfig withImagePooling(List<Integer> cropSize, List<Integer> stride) {
    return copy(f -> {
      f.imagePoolingCropSize = cropSize;
      f.imagePoolingStride = stride;
    });
  }

  /** ASPP conv channels, squeeze-and-excitation gating (hard sigmoid or not), concat projection. */
  public ModelConfig withAspp(int filters, boolean squeezeAndExcitation, boolean qSigmoid,
      boolean concatProjection) {
    return copy(f -> {
      f.asppConvsFilters = filters;
      f.asppWithSqueezeAndExcitation = squeezeAndExcitation;
      f.imageSeUsesQsigmoid = qSigmoid;
      f.asppWithConcatProjection = concatProjection;
    });
  }

  /** Decoder channels, sum merge, and whether its output is the logits. */
  public ModelConfig withDecoder(int filters, boolean sumMerge, boolean outputIsLogits) {
    return copy(f -> {
      f.decoderFilters = filters;
      f.decoderUseSumMerge = sumMerge;
      f.decoderOutputIsLogits = outputIsLogits;
    });
  }

  /**
   * Without the batch-normed ASPP ({@code aspp_with_batch_norm=false}): a logits branch of {@code
   * kernel} per atrous rate, summed.
   */
  public ModelConfig withLogitsBranches(boolean asppWithBatchNorm, int kernel) {
    return copy(f -> {
      f.asppWithBatchNorm = asppWithBatchNorm;
      f.logitsKernelSize = kernel;
    });
  }

  /** Bounded activations ({@code use_bounded_activation}): ReLU6 in the head and Xception. */
  public ModelConfig withBoundedActivation(boolean bounded) {
    return copy(f -> f.useBoundedActivation = bounded);
  }

  /**
   * The NAS backbones' options ({@code nas_architecture_options}): stem output filters,
   * classification head, no stride at the stride-32 level.
   */
  public ModelConfig withNasOptions(int stemFilters, boolean classificationHead,
      boolean removeOs32Stride) {
    return copy(f -> {
      f.nasStemOutputNumConvFilters = stemFilters;
      f.nasUseClassificationHead = classificationHead;
      f.nasRemoveOs32Stride = removeOs32Stride;
    });
  }

  /** A dense prediction cell in place of ASPP (empty for ASPP). */
  public ModelConfig withDensePredictionCell(List<DenseCellBranch> cell) {
    return copy(f -> f.densePredictionCell = cell);
  }

  /**
   * DeepLabv2's ASPP on a ResNet (Chen et al., "DeepLab: Semantic Image Segmentation with Deep
   * Convolutional Nets, Atrous Convolution, and Fully Connected CRFs", TPAMI 2017, Section 3.2 and
   * its ResNet-101 prototxt): at output stride 8, four 3×3 atrous convs at rates 6, 12, 18 and 24
   * give the class logits (with biases, no batch norm) and are summed; no image pooling, no
   * decoder. In the official TF code's terms {@code aspp_with_batch_norm=false,
   * logits_kernel_size=3}, so the variables are {@code logits/semantic}, {@code
   * logits/semantic_1}, ... over the official backbone (slim's ResNet, stride on the 3×3 conv of
   * a block's last unit, not the Caffe ResNet of DeepLabv2's release).
   */
  private static ModelConfig deepLabV2(ModelVariant backbone) {
    return defaults(backbone, 8).withAtrousRates(List.of(6, 12, 18, 24))
        .withDecoderOutputStride(0).withLogitsBranches(false, 3)
        .copy(f -> f.imagePooling = false);
  }

  /**
   * DeepLab-LargeFOV (Chen et al., "Semantic Image Segmentation with Deep Convolutional Nets and
   * Fully Connected CRFs", ICLR 2015; its released prototxt): VGG-16 with atrous fc6 and fc7
   * ({@link ModelVariant#VGG_16}) at output stride 8, and {@code fc8}, a 1×1 conv with biases to
   * the classes, as {@code logits/semantic}; no ASPP, image pooling or decoder. In the official TF
   * code's terms {@code aspp_with_batch_norm=false} without atrous rates. 21 classes, a 513×513
   * crop (DeepLab tests at 513; it trains at 321).
   */
  private static ModelConfig largeFov(int outputStride) {
    return new ModelConfig(ModelVariant.VGG_16, outputStride, List.of(), List.of(1, 1, 1),
        List.of(), false, false, 21, 513, 513, 1.0, false, List.of(), List.of(1, 1), 256, 256,
        false, false, true, false, false, List.of(), false, 1, false, 20, false, false);
  }

  /**
   * The MobileNetV3 Cityscapes checkpoints' flags ({@code g3doc/model_zoo.md}): output stride 32,
   * no atrous branches, image pooling over 769×769 at stride (4, 5) gating the 128-channel ASPP
   * with the hard sigmoid, no concat projection, a sum-merge decoder at stride 8 whose 19 filters
   * are the logits; 1025×2049 crop (the Cityscapes export size).
   */
  private static ModelConfig mobileNetV3Cityscapes(ModelVariant variant) {
    return defaults(variant, 32).withNumClasses(19).withCropSize(1025, 2049)
        .withImagePooling(List.of(769, 769), List.of(4, 5))
        .withAspp(128, true, true, false)
        .copy(f -> {
          f.decoderOutputStrides = List.of(8);
          f.decoderFilters = 19;
          f.decoderUseSumMerge = true;
          f.decoderOutputIsLogits = true;
        });
  }

  /** This config with the changes {@code edit} makes to a mutable copy of its fields. */
  private ModelConfig copy(java.util.function.Consumer<Fields> edit) {
    Fields f = new Fields(this);
    edit.accept(f);
    return f.build();
  }

  // JSON filters: a field added after model.json files were first written is left out at its
  // official default, so those files, and what older versions read, stay the same.
  private static final class Unit {
    @Override
    public boolean equals(Object o) {
      return List.of(1, 1).equals(o);
    }

    @Override
    public int hashCode() {
      return 0;
    }
  }

  private static final class Depth256 {
    @Override
    public boolean equals(Object o) {
      return Integer.valueOf(256).equals(o);
    }

    @Override
    public int hashCode() {
      return 0;
    }
  }

  private static final class Depth20 {
    @Override
    public boolean equals(Object o) {
      return Integer.valueOf(20).equals(o);
    }

    @Override
    public int hashCode() {
      return 0;
    }
  }

  private static final class One {
    @Override
    public boolean equals(Object o) {
      return Integer.valueOf(1).equals(o);
    }

    @Override
    public int hashCode() {
      return 0;
    }
  }

  private static final class True {
    @Override
    public boolean equals(Object o) {
      return Boolean.TRUE.equals(o);
    }

    @Override
    public int hashCode() {
      return 0;
    }
  }

  /**
   * {@code decoder_output_stride} in JSON: 0 for none and a number for one stage (as model.json
   * files were first written), a list for several; read from any of the three.
   */
  static final class DecoderStrides {
    private DecoderStrides() {}

    static final class Writer extends JsonSerializer<List<Integer>> {
      @Override
      public void serialize(List<Integer> strides, JsonGenerator gen, SerializerProvider sp)
          throws java.io.IOException {
        if (strides.size() <= 1) {
          gen.writeNumber(strides.isEmpty() ? 0 : strides.get(0));
        } else {
          gen.writeStartArray();
          for (int s : strides) {
            gen.writeNumber(s);
          }
          gen.writeEndArray();
        }
      }
    }

    static final class Reader extends JsonDeserializer<List<Integer>> {
      @Override
      public List<Integer> deserialize(JsonParser p, DeserializationContext ctx)
          throws java.io.IOException {
        if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
          int s = p.getIntValue();
          return s == 0 ? List.of() : List.of(s);
        }
        if (p.currentToken() == JsonToken.START_ARRAY) {
          List<Integer> strides = new java.util.ArrayList<>();
          while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) {
              throw ctx.weirdStringException(p.getText(), Integer.class,
                  "decoder_output_stride takes integers");
            }
            strides.add(p.getIntValue());
          }
          return strides;
        }
        return (List<Integer>) ctx.handleUnexpectedToken(List.class, p);
      }
    }
  }

  /** The components as mutable fields, for the {@code with...} methods. */
  private static final class Fields {
    ModelVariant variant;
    int outputStride;
    List<Integer> atrousRates;
    List<Integer> multiGrid;
    List<Integer> decoderOutputStrides;
    boolean asppWithSeparableConv;
    boolean decoderUseSeparableConv;
    int numClasses;
    int cropHeight;
    int cropWidth;
    double depthMultiplier;
    boolean imagePooling;
    List<Integer> imagePoolingCropSize;
    List<Integer> imagePoolingStride;
    int asppConvsFilters;
    int decoderFilters;
    boolean asppWithSqueezeAndExcitation;
    boolean imageSeUsesQsigmoid;
    boolean asppWithConcatProjection;
    boolean decoderUseSumMerge;
    boolean decoderOutputIsLogits;
    List<DenseCellBranch> densePredictionCell;
    boolean asppWithBatchNorm;
    int logitsKernelSize;
    boolean useBoundedActivation;
    int nasStemOutputNumConvFilters;
    boolean nasUseClassificationHead;
    boolean nasRemoveOs32Stride;

    Fields(ModelConfig c) {
      variant = c.variant;
      outputStride = c.outputStride;
      atrousRates = c.atrousRates;
      multiGrid = c.multiGrid;
      decoderOutputStrides = c.decoderOutputStrides;
      asppWithSeparableConv = c.asppWithSeparableConv;
      decoderUseSeparableConv = c.decoderUseSeparableConv;
      numClasses = c.numClasses;
      cropHeight = c.cropHeight;
      cropWidth = c.cropWidth;
      depthMultiplier = c.depthMultiplier;
      imagePooling = c.imagePooling;
      imagePoolingCropSize = c.imagePoolingCropSize;
      imagePoolingStride = c.imagePoolingStride;
      asppConvsFilters = c.asppConvsFilters;
      decoderFilters = c.decoderFilters;
      asppWithSqueezeAndExcitation = c.asppWithSqueezeAndExcitation;
      imageSeUsesQsigmoid = c.imageSeUsesQsigmoid;
      asppWithConcatProjection = c.asppWithConcatProjection;
      decoderUseSumMerge = c.decoderUseSumMerge;
      decoderOutputIsLogits = c.decoderOutputIsLogits;
      densePredictionCell = c.densePredictionCell;
      asppWithBatchNorm = c.asppWithBatchNorm;
      logitsKernelSize = c.logitsKernelSize;
      useBoundedActivation = c.useBoundedActivation;
      nasStemOutputNumConvFilters = c.nasStemOutputNumConvFilters;
      nasUseClassificationHead = c.nasUseClassificationHead;
      nasRemoveOs32Stride = c.nasRemoveOs32Stride;
    }

    ModelConfig build() {
      return new ModelConfig(variant, outputStride, atrousRates, multiGrid, decoderOutputStrides,
          asppWithSeparableConv, decoderUseSeparableConv, numClasses, cropHeight, cropWidth,
          depthMultiplier, imagePooling, imagePoolingCropSize, imagePoolingStride,
          asppConvsFilters, decoderFilters, asppWithSqueezeAndExcitation, imageSeUsesQsigmoid,
          asppWithConcatProjection, decoderUseSumMerge, decoderOutputIsLogits,
          densePredictionCell, asppWithBatchNorm, logitsKernelSize, useBoundedActivation,
          nasStemOutputNumConvFilters, nasUseClassificationHead, nasRemoveOs32Stride);
    }
  }
}
