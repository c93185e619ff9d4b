package dev.deeplab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelConfigTest {

  @Test
  void jsonRoundTripKeepsEveryPreset() throws Exception {
    ObjectMapper json = new ObjectMapper();
    for (String name : ModelConfig.presetNames()) {
      ModelConfig c = ModelConfig.preset(name);
      String text = json.writeValueAsString(c);
      assertTrue(text.contains("\"variant\":\"" + c.variant().officialName() + "\""), text);
      assertEquals(c, json.readValue(text, ModelConfig.class), name);
    }
  }

  @Test
  void officialRatesFollowTheOutputStride() {
    assertEquals(List.of(6, 12, 18), ModelConfig.defaults(ModelVariant.XCEPTION_65, 16).atrousRates());
    assertEquals(List.of(12, 24, 36), ModelConfig.defaults(ModelVariant.RESNET_V1_101, 8).atrousRates());
    assertEquals(List.of(3, 6, 9), ModelConfig.defaults(ModelVariant.XCEPTION_41, 32).atrousRates());
    assertEquals(List.of(), ModelConfig.defaults(ModelVariant.MOBILENET_V2, 16).atrousRates());
    assertEquals(List.of(1, 2, 4), ModelConfig.defaults(ModelVariant.RESNET_V1_50_BETA, 16).multiGrid());
  }

  @Test
  void scaleDimensionIsTheOfficialFormula() {
    // int((d - 1) * s + 1): 513 at 1/16 -> 33, at 1/8 -> 65, at 1/4 -> 129, at 1.75 -> 897.
    assertEquals(33, ModelConfig.scaleDimension(513, 1.0 / 16));
    assertEquals(65, ModelConfig.scaleDimension(513, 1.0 / 8));
    assertEquals(129, ModelConfig.scaleDimension(513, 1.0 / 4));
    assertEquals(897, ModelConfig.scaleDimension(513, 1.75));
  }

  @Test
  void invalidCombinationsAreRefusedWithTheFlagNamed() {
    ModelConfig c = ModelConfig.defaults(ModelVariant.XCEPTION_65, 16);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> c.withOutputStride(12))
        .getMessage().contains("output stride"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> c.withDepthMultiplier(0.5))
        .getMessage().contains("depth multiplier"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> c.withNumClasses(0))
        .getMessage().contains("classes"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelVariant.fromName("vgg16"))
        .getMessage().contains("xception_65"));
  }

  /** At the official defaults, the head options added later are not written. */
  @Test
  void jsonLeavesOutHeadOptionsAtTheirDefaults() throws Exception {
    String text = new ObjectMapper().writeValueAsString(ModelConfig.preset("xception65_coco_voc"));
    for (String flag : List.of("image_pooling_crop_size", "image_pooling_stride",
        "aspp_convs_filters", "decoder_filters", "aspp_with_squeeze_and_excitation",
        "image_se_uses_qsigmoid", "aspp_with_concat_projection", "decoder_use_sum_merge",
        "decoder_output_is_logits", "dense_prediction_cell_json", "aspp_with_batch_norm",
        "logits_kernel_size", "use_bounded_activation", "nas_")) {
      assertTrue(!text.contains(flag), flag + " in " + text);
    }
    String mnv3 = new ObjectMapper().writeValueAsString(
        ModelConfig.preset("mobilenetv3_large_cityscapes"));
    assertTrue(mnv3.contains("\"image_pooling_stride\":[4,5]") && mnv3.contains(
        "\"aspp_with_concat_projection\":false"), mnv3);
  }

  /** A model.json written before the head options existed reads with the official defaults. */
  @Test
  void olderJsonTakesTheOfficialHeadDefaults() throws Exception {
    String older = "{\"variant\":\"xception_65\",\"output_stride\":16,\"atrous_rates\":[6,12,18],"
        + "\"multi_grid\":[1,1,1],\"decoder_output_stride\":4,\"aspp_with_separable_conv\":true,"
        + "\"decoder_use_separable_conv\":true,\"num_classes\":21,\"crop_height\":513,"
        + "\"crop_width\":513,\"depth_multiplier\":1.0,\"image_pooling\":true}";
    ModelConfig c = new ObjectMapper().readValue(older, ModelConfig.class);
    assertEquals(ModelConfig.preset("xception65_coco_voc"), c);
    assertEquals(List.of(), c.imagePoolingCropSize());
    assertEquals(List.of(1, 1), c.imagePoolingStride());
    assertEquals(256, c.asppConvsFilters());
    assertEquals(256, c.decoderFilters());
    assertTrue(c.asppWithConcatProjection());
    assertTrue(c.asppWithBatchNorm());
    assertEquals(1, c.logitsKernelSize());
    assertEquals(List.of(), c.densePredictionCell());
    assertTrue(!c.useBoundedActivation());
    assertEquals(20, c.nasStemOutputNumConvFilters());
    assertTrue(!c.nasUseClassificationHead() && !c.nasRemoveOs32Stride());
  }

  /**
   * decoder_output_stride: a number for one stage (0 for none), as model.json files always had
   * it, a list for several stages (the official flag's form); read in any of the three.
   */
  @Test
  void decoderStagesRoundTripInTheOfficialForm() throws Exception {
    ObjectMapper json = new ObjectMapper();
    ModelConfig two = ModelConfig.preset("xception65_coco_voc")
        .withDecoderOutputStrides(List.of(8, 4));
    String text = json.writeValueAsString(two);
    assertTrue(text.contains("\"decoder_output_stride\":[8,4]"), text);
    assertEquals(two, json.readValue(text, ModelConfig.class));
    assertEquals(4, two.decoderOutputStride());
    assertTrue(json.writeValueAsString(ModelConfig.preset("xception65_coco_voc"))
        .contains("\"decoder_output_stride\":4"));
    assertTrue(json.writeValueAsString(ModelConfig.preset("mobilenetv2_coco_voc"))
        .contains("\"decoder_output_stride\":0"));
    String one = text.replace("[8,4]", "[4]");
    assertEquals(ModelConfig.preset("xception65_coco_voc"), json.readValue(one, ModelConfig.class));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> two.withDecoderOutputStrides(List.of(4, 8))).getMessage().contains("decrease"));
  }

  /** use_bounded_activation is written when set and read back. */
  @Test
  void boundedActivationRoundTrips() throws Exception {
    ModelConfig c = ModelConfig.preset("xception65_coco_voc").withBoundedActivation(true);
    String text = new ObjectMapper().writeValueAsString(c);
    assertTrue(text.contains("\"use_bounded_activation\":true"), text);
    assertEquals(c, new ObjectMapper().readValue(text, ModelConfig.class));
  }

  /**
   * The nas_* options are written when they differ from the official defaults and read back;
   * hnasnet's defaults reach output stride 16 through the classification head.
   */
  @Test
  void nasOptionsRoundTrip() throws Exception {
    ObjectMapper json = new ObjectMapper();
    ModelConfig c = ModelConfig.defaults(ModelVariant.NAS_PNASNET, 8)
        .withNasOptions(8, true, false);
    String text = json.writeValueAsString(c);
    assertTrue(text.contains("\"nas_stem_output_num_conv_filters\":8")
        && text.contains("\"nas_use_classification_head\":true")
        && !text.contains("nas_remove_os32_stride"), text);
    assertEquals(c, json.readValue(text, ModelConfig.class));
    assertTrue(ModelConfig.defaults(ModelVariant.NAS_HNASNET, 16).nasUseClassificationHead());
    assertTrue(!ModelConfig.defaults(ModelVariant.NAS_HNASNET, 8).nasUseClassificationHead());
  }

  /** The flags of g3doc/model_zoo.md for the MobileNetV3 Cityscapes checkpoints. */
  @Test
  void mobileNetV3PresetsCarryTheZooFlags() {
    for (String name : List.of("mobilenetv3_large_cityscapes", "mobilenetv3_small_cityscapes")) {
      ModelConfig c = ModelConfig.preset(name);
      assertEquals(32, c.outputStride(), name);
      assertEquals(List.of(), c.atrousRates(), name);
      assertEquals(List.of(769, 769), c.imagePoolingCropSize(), name);
      assertEquals(List.of(4, 5), c.imagePoolingStride(), name);
      assertEquals(128, c.asppConvsFilters(), name);
      assertTrue(c.asppWithSqueezeAndExcitation() && c.imageSeUsesQsigmoid(), name);
      assertTrue(!c.asppWithConcatProjection(), name);
      assertEquals(8, c.decoderOutputStride(), name);
      assertTrue(c.decoderUseSumMerge() && c.decoderOutputIsLogits(), name);
      assertEquals(19, c.decoderFilters(), name);
      assertEquals(19, c.numClasses(), name);
    }
    assertEquals(ModelVariant.MOBILENET_V3_SMALL_SEG,
        ModelConfig.preset("mobilenetv3_small_cityscapes").variant());
  }

  @Test
  void headOptionsAreValidated() {
    ModelConfig mnv3 = ModelConfig.preset("mobilenetv3_large_cityscapes");
    // Other classes move the decoder's filters along when the decoder output is the logits.
    assertEquals(7, mnv3.withNumClasses(7).decoderFilters());
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> mnv3.withDecoder(32, true, true)).getMessage().contains("decoder_filters"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> mnv3.withImagePooling(List.of(769), List.of(4, 5))).getMessage()
        .contains("image pooling crop size"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> mnv3.withDecoderOutputStride(0)).getMessage().contains("decoder_output_is_logits"));
    ModelConfig x65 = ModelConfig.preset("xception65_coco_voc");
    assertEquals(3, x65.withLogitsBranches(false, 3).logitsKernelSize());
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> x65.withLogitsBranches(true, 3)).getMessage().contains("logits_kernel_size"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> ModelConfig.preset("xception71_dpc_cityscapes").withLogitsBranches(false, 1))
        .getMessage().contains("aspp_with_batch_norm"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> x65.withDensePredictionCell(List.of(DenseCellBranch.conv(3, 1, 6, 0))))
        .getMessage().contains("reads branch 0"));
  }

  /**
   * DeepLab-LargeFOV: {@code --variant vgg_16} is the preset; output stride 8 without a decoder
   * only; Caffe's BGR mean (104.008, 116.669, 122.675) subtracted and padded with, in RGB order.
   */
  @Test
  void largeFovIsVgg16AtOutputStride8WithCaffesMean() {
    ModelConfig lfov = ModelConfig.preset("deeplabv1_largefov_vgg16");
    assertEquals(lfov, ModelConfig.defaults(ModelVariant.VGG_16, 8));
    assertEquals(List.of(), lfov.atrousRates());
    assertTrue(!lfov.asppWithBatchNorm() && !lfov.imagePooling() && !lfov.hasDecoder());
    assertEquals(1, lfov.logitsKernelSize());
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> lfov.withOutputStride(16)).getMessage().contains("output stride 8"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> lfov.withDecoderOutputStride(4)).getMessage().contains("without a decoder"));
    float[] rgb = {122.675f, 116.669f, 104.008f};
    assertTrue(java.util.Arrays.equals(rgb, ModelVariant.VGG_16.meanPixel()));
    assertTrue(java.util.Arrays.equals(rgb, ModelVariant.VGG_16.imageNetMean()));
    assertTrue(!ModelVariant.VGG_16.scalesToUnitRange());
  }

  /**
   * feature_extractor.mean_pixel gives the ImageNet mean to resnet_v1_50/101 only: resnet_v1_18
   * pads with 127.5 although its preprocessing subtracts the ImageNet mean.
   */
  @Test
  void resNet18PadsWithTheOfficialMeanPixel() {
    assertTrue(java.util.Arrays.equals(new float[] {127.5f, 127.5f, 127.5f},
        ModelVariant.RESNET_V1_18.meanPixel()));
    assertTrue(java.util.Arrays.equals(new float[] {123.15f, 115.90f, 103.06f},
        ModelVariant.RESNET_V1_50.meanPixel()));
    assertTrue(!ModelVariant.RESNET_V1_18.scalesToUnitRange());
    assertEquals(List.of(1, 1), ModelConfig.defaults(ModelVariant.RESNET_V1_18_BETA, 16).multiGrid());
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> ModelConfig.defaults(ModelVariant.RESNET_V1_18, 16).withMultiGrid(List.of(1, 2, 4)))
        .getMessage().contains("2 positive rates"));
  }
}
