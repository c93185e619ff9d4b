package dev.deeplab.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deeplab.internal.model.ModelGraph;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Static output shapes of every official variant at output strides 8, 16 and 32, for the official 513 crop
 * and for an even size (97 for hnasnet, whose resizes need crops of the form 32k+1). At 513 the logits are {@code scale_dimension(513, 1/OS)}: 33 at 16, 65 at
 * 8, 17 at 32; with the decoder they are at stride 4: 129. Expected sizes are computed here by
 * hand from the strides: {@code ceil(d / s)} for a stack of stride-2 layers with SAME or official
 * padding.
 */
class OutputShapeTest {

  static Stream<Arguments> cases() {
    // the official networks; PyTorch networks are checked against PyTorch (TorchGoldenTest);
    // VGG-16 (DeepLab-LargeFOV) has output stride 8 only
    return Stream.of(ModelVariant.values())
        .filter(v -> v.family() != ModelVariant.Family.PYTORCH)
        .flatMap(v -> (v == ModelVariant.VGG_16 ? Stream.of(8) : Stream.of(8, 16, 32))
        .flatMap(os -> Stream.of(513, v == ModelVariant.NAS_HNASNET ? 97 : 96)
            .map(size -> Arguments.of(v, os, size))));
  }

  @ParameterizedTest(name = "{0} OS{1} {2}px")
  @MethodSource("cases")
  void logitsHaveTheOfficialSize(ModelVariant variant, int os, int size) {
    ModelConfig c = ModelConfig.defaults(variant, os).withCropSize(size, size).withNumClasses(5);
    try (ModelGraph g = ModelGraph.build(c)) {
      long expected = ceilDiv(size, c.hasDecoder() ? c.decoderOutputStride() : os);
      assertArrayEquals(new long[] {-1, expected, expected, 5}, g.logits().shape().asArray());
      if (size == 513) {
        assertEquals(ModelConfig.scaleDimension(513, 1.0 / (c.hasDecoder() ? 4 : os)), expected);
      }
    }
  }

  private static long ceilDiv(int d, int s) {
    // Each stride-2 layer maps d to ceil(d / 2); log2(s) of them give ceil(d / s).
    return (d + s - 1) / s;
  }
}
