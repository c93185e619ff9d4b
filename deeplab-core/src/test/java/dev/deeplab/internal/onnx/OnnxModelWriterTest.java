package dev.deeplab.internal.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/** The align-corners interpolation matrix of the logits' upsampling, against hand values. */
class OnnxModelWriterTest {
  @Test
  void interpolationMatrixHoldsTheTwoBilinearWeightsOfEachPixel() {
    // 3 -> 5: source rows y * 2 / 4 = 0, 0.5, 1, 1.5, 2
    assertArrayEquals(new float[] {
        1, 0, 0,
        0.5f, 0.5f, 0,
        0, 1, 0,
        0, 0.5f, 0.5f,
        0, 0, 1}, OnnxModelWriter.interpolation(5, 3));
    // 2 -> 4: source rows y / 3 = 0, 1/3, 2/3, 1
    float third = 1f / 3;
    float twoThirds = 2f / 3;
    assertArrayEquals(new float[] {
        1, 0,
        1 - third, third,
        1 - twoThirds, twoThirds,
        0, 1}, OnnxModelWriter.interpolation(4, 2), 1e-7f);
    // a single logit is copied everywhere
    assertArrayEquals(new float[] {1, 1, 1}, OnnxModelWriter.interpolation(3, 1));
  }
}
