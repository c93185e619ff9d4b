package dev.deeplab.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.infer.TestModels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Multi-scale and flipped evaluation of the bundled model, as the official eval.py does it. */
class EvaluatorTest {
  static final Path MODEL = TestModels.BUNDLED;
  static final Path VOC_MINI = dev.deeplab.testing.TestData.vocMini();

  @Test
  void multiScaleWithFlipKeepsTheAccuracyOnVocMini() throws Exception {
    VocDataset data = new VocDataset(VOC_MINI, "val");
    ConfusionMatrix single = evaluate(data, List.of(1.0), false);
    ConfusionMatrix multi = evaluate(data, List.of(0.75, 1.0, 1.25), true);
    System.out.printf("voc-mini mIoU single scale %.4f, scales 0.75/1/1.25 + flip %.4f%n",
        single.meanIou(), multi.meanIou());
    assertTrue(single.meanIou() >= 0.95, "single-scale mIoU " + single.meanIou());
    assertTrue(multi.meanIou() >= 0.95, "multi-scale mIoU " + multi.meanIou());
    assertTrue(multi.pixelAccuracy() >= 0.99, "multi-scale pixel accuracy " + multi.pixelAccuracy());
  }

  @Test
  void badScalesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> Evaluator.open(MODEL, List.of(), false));
    assertThrows(IllegalArgumentException.class, () -> Evaluator.open(MODEL, List.of(-1.0), false));
  }

  private static ConfusionMatrix evaluate(VocDataset data, List<Double> scales, boolean flip)
      throws Exception {
    try (Evaluator e = Evaluator.open(MODEL, scales, flip)) {
      ConfusionMatrix cm = new ConfusionMatrix(21, 255);
      for (VocDataset.Sample s : data.samples()) {
        VocDataset.LoadedSample l = data.load(s, 21, 255);
        cm.add(l.label().toIntArray(), e.predict(l.image()));
      }
      return cm;
    }
  }
}
