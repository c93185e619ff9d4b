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
}
