package dev.deeplab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code assets/deeplab_model.json}: written and read back whole, and older files still read. */
class ModelInfoTest {
  @Test
  void jsonRoundTripKeepsEverything() throws IOException {
    LabelSet custom = new LabelSet("defects", List.of("ok", "scratch", "dent"), 7,
        new int[] {0x000000, 0xFF0000, 0x00FF00});
    ModelInfo info = new ModelInfo(ModelConfig.defaults(ModelVariant.XCEPTION_65, 8)
        .withNumClasses(3).withCropSize(321, 417), custom, "checkpoint:model.ckpt-5",
        new ServingOptions(List.of(0.5, 1.0, 1.75), true, 1234));
    ModelInfo back = ModelInfo.fromJson(info.toJson());
    assertEquals(info, back);
    assertEquals(0x00FF00, back.labels().color(2));
    assertEquals(7, back.labels().ignoreLabel());
  }

  @Test
  void filesWithoutColoursIgnoreLabelOrServingTakeTheirDefaults() throws IOException {
    String old = """
        {"config": {"variant": "mobilenet_v2", "output_stride": 16, "atrous_rates": [],
          "multi_grid": [1, 1, 1], "decoder_output_stride": 0, "aspp_with_separable_conv": true,
          "decoder_use_separable_conv": true, "num_classes": 21, "crop_height": 513,
          "crop_width": 513, "depth_multiplier": 1.0, "image_pooling": true},
         "label_set": "pascal_voc", "class_names": %s, "source": "tflite:x.tflite"}
        """.formatted(toJson(LabelSet.PASCAL_VOC.classNames()));
    ModelInfo info = ModelInfo.fromJson(old);
    assertEquals(LabelSet.PASCAL_VOC, info.labels());
    assertEquals(ServingOptions.defaults(), info.serving());
  }

  @Test
  void labelsMustNameEveryClass() {
    assertThrows(IllegalArgumentException.class, () -> new ModelInfo(
        ModelConfig.defaults(ModelVariant.MOBILENET_V2, 16), LabelSet.CITYSCAPES, "x"));
    assertThrows(IOException.class, () -> ModelInfo.fromJson("{\"config\": 3}"));
  }

  private static String toJson(List<String> names) {
    return names.stream().map(n -> "\"" + n + "\"").toList().toString();
  }
}
