package dev.deeplab.cli;

import dev.deeplab.model.DenseCellBranch;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The architecture options shared by {@code inspect}, {@code import}, {@code export} and {@code
 * train}: a variant with the official defaults, overridden by any option given.
 */
final class ModelOptions {
  @Option(names = "--variant", description = "Backbone: mobilenet_v2, resnet_v1_50, resnet_v1_101, "
      + "resnet_v1_50_beta, resnet_v1_101_beta, xception_41, xception_65, xception_71, "
      + "mobilenet_v3_large_seg, mobilenet_v3_small_seg, mobilenet_edgetpu, resnet_v1_18, "
      + "resnet_v1_18_beta, nas_pnasnet, nas_hnasnet, vgg_16 (DeepLab-LargeFOV).")
  String variant;

  @Option(names = "--preset", description = "A model-zoo configuration, e.g. xception65_coco_voc "
      + "or mobilenetv3_large_cityscapes (the README's model-zoo table lists them).")
  String preset;

  @Option(names = "--output-stride", description = "8, 16 or 32 (default 16; vgg_16: 8 only).")
  Integer outputStride;

  @Option(names = "--decoder", negatable = true,
      description = "DeepLabv3+ decoder at stride 4 (default: on except for mobilenet_v2).")
  Boolean decoder;

  @Option(names = "--decoder-output-stride", split = ",",
      description = "Decoder stages by low-level stride, in order, e.g. 4, or 8,4 for two "
          + "stages (the official decoder_output_stride; instead of --[no-]decoder).")
  List<Integer> decoderOutputStrides;

  @Option(names = "--num-classes", description = "Number of classes (default 21).")
  Integer numClasses;

  @Option(names = "--atrous-rates", split = ",", description = "ASPP rates, e.g. 6,12,18.")
  List<Integer> atrousRates;

  @Option(names = "--multi-grid", split = ",",
      description = "Unit rates of the last backbone block, three values (two for resnet_v1_18), e.g. 1,2,4.")
  List<Integer> multiGrid;

  @Option(names = "--separable-aspp", negatable = true,
      description = "Depthwise-separable 3x3 ASPP branches (default: on).")
  Boolean separableAspp;

  @Option(names = "--separable-decoder", negatable = true,
      description = "Depthwise-separable decoder convs (default: on).")
  Boolean separableDecoder;

  @Option(names = "--depth-multiplier", description = "MobileNet depth multiplier.")
  Double depthMultiplier;

  @Option(names = "--crop-size", description = "Network input size, e.g. 513 or 513x513.")
  String cropSize;

  @Option(names = "--dense-prediction-cell-json", paramLabel = "FILE",
      description = "A dense prediction cell in place of ASPP, in the official JSON form (the "
          + "official dense_prediction_cell_json, e.g. "
          + "dense_prediction_cell_branch5_top1_cityscapes.json).")
  Path densePredictionCellJson;

  @Option(names = "--bounded-activation", negatable = true,
      description = "ReLU6 in the ASPP and decoder, and Xception's bounded form (the official "
          + "use_bounded_activation; default: off).")
  Boolean boundedActivation;

  @Option(names = "--nas-stem-output-num-conv-filters", paramLabel = "N",
      description = "NAS backbones: the cells' filters at stride 4, doubled per level (the "
          + "official nas_stem_output_num_conv_filters; default 20).")
  Integer nasStemFilters;

  @Option(names = "--nas-classification-head", negatable = true,
      description = "NAS backbones: convs down to stride 32 and a 2048-channel 1x1 conv after "
          + "the cells (the official nas_use_classification_head; default: off, except "
          + "nas_hnasnet at output stride 16 or 32).")
  Boolean nasClassificationHead;

  @Option(names = "--nas-remove-os32-stride", negatable = true,
      description = "NAS backbones: the stride-32 cells run at stride 16 (the official "
          + "nas_remove_os32_stride; default: off).")
  Boolean nasRemoveOs32Stride;

  /** True when the user named an architecture. */
  boolean given() {
    return variant != null || preset != null;
  }

  /** True when the user gave any option that changes an architecture. */
  boolean hasOverrides() {
    return outputStride != null || decoder != null || decoderOutputStrides != null
        || numClasses != null || atrousRates != null
        || multiGrid != null || separableAspp != null || separableDecoder != null
        || depthMultiplier != null || cropSize != null || boundedActivation != null
        || densePredictionCellJson != null || nasStemFilters != null
        || nasClassificationHead != null || nasRemoveOs32Stride != null;
  }

  /** The configuration the options describe. */
  ModelConfig toConfig() {
    if (variant != null && preset != null) {
      throw new UsageError("give --variant or --preset, not both");
    }
    if (!given()) {
      throw new UsageError("--variant (or --preset) is required");
    }
    try {
      ModelVariant v = preset != null ? null : ModelVariant.fromName(variant);
      ModelConfig base = preset != null ? ModelConfig.preset(preset)
          : ModelConfig.defaults(v, outputStride != null ? outputStride
              : v.family() == ModelVariant.Family.VGG ? 8 : 16);
      return applyTo(base);
    } catch (UsageError e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new UsageError(e.getMessage());
    }
  }

  /**
   * {@code base} with every option the user gave applied; a new output stride also brings the
   * official ASPP rates for it, unless {@code --atrous-rates} says otherwise.
   */
  ModelConfig applyTo(ModelConfig base) {
    ModelConfig c = base;
    if (outputStride != null) {
      c = c.withOutputStride(outputStride);
      if (c.atrousRates().size() == 3) {
        c = c.withAtrousRates(ModelConfig.officialRates(outputStride));
      }
    }
    if (decoder != null && decoderOutputStrides != null) {
      throw new UsageError("give --[no-]decoder or --decoder-output-stride, not both");
    }
    if (decoder != null) {
      c = c.withDecoderOutputStride(decoder ? 4 : 0);
    }
    if (decoderOutputStrides != null) {
      c = c.withDecoderOutputStrides(decoderOutputStrides);
    }
    if (numClasses != null) {
      c = c.withNumClasses(numClasses);
    }
    if (atrousRates != null) {
      c = c.withAtrousRates(atrousRates);
    }
    if (multiGrid != null) {
      c = c.withMultiGrid(multiGrid);
    }
    if (separableAspp != null || separableDecoder != null) {
      c = c.withSeparableConvs(
          separableAspp != null ? separableAspp : c.asppWithSeparableConv(),
          separableDecoder != null ? separableDecoder : c.decoderUseSeparableConv());
    }
    if (depthMultiplier != null) {
      c = c.withDepthMultiplier(depthMultiplier);
    }
    if (cropSize != null) {
      int[] hw = parseSize(cropSize);
      c = c.withCropSize(hw[0], hw[1]);
    }
    if (boundedActivation != null) {
      c = c.withBoundedActivation(boundedActivation);
    }
    if (nasStemFilters != null || nasClassificationHead != null || nasRemoveOs32Stride != null) {
      c = c.withNasOptions(nasStemFilters != null ? nasStemFilters : c.nasStemOutputNumConvFilters(),
          nasClassificationHead != null ? nasClassificationHead : c.nasUseClassificationHead(),
          nasRemoveOs32Stride != null ? nasRemoveOs32Stride : c.nasRemoveOs32Stride());
    }
    if (densePredictionCellJson != null) {
      c = c.withDensePredictionCell(readCell(densePredictionCellJson));
    }
    return c;
  }

  /** The cell of a {@code dense_prediction_cell_json} file; a bad file is a one-line error. */
  private static List<DenseCellBranch> readCell(Path file) {
    try {
      return DenseCellBranch.readJson(file);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UserError("cannot read dense prediction cell " + file + ": no such file");
    } catch (java.io.IOException | IllegalArgumentException e) {
      throw new UserError("bad dense prediction cell " + file + ": " + e.getMessage());
    }
  }

  static int[] parseSize(String s) {
    String[] parts = s.toLowerCase().split("x");
    try {
      int h = Integer.parseInt(parts[0].trim());
      int w = parts.length > 1 ? Integer.parseInt(parts[1].trim()) : h;
      if (parts.length > 2 || h < 1 || w < 1) {
        throw new NumberFormatException();
      }
      return new int[] {h, w};
    } catch (NumberFormatException e) {
      throw new UsageError("bad size '" + s + "': expected N or HxW with positive integers");
    }
  }
}
