package dev.deeplab.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.infer.DenseCrf;
import dev.deeplab.infer.TestModels;
import dev.deeplab.model.LabelSet;
import dev.deeplab.testing.TestData;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The fully connected CRF with its default (DeepLab-v2) parameters after the bundled model on
 * voc-mini (4 PASCAL VOC 2012 val images, single scale): it must not lower mIoU by more than
 * 0.002 (issue 19) and should sharpen boundaries, i.e. not lower the trimap accuracy within 5
 * pixels of label edges. The plain scores must be those of {@link Evaluator#evaluate}. Takes a
 * few seconds per image on a loaded 2-core machine.
 */
class CrfAccuracyTest {
  @Test
  void crfKeepsMiouAndSharpensBoundariesOnVocMini() throws Exception {
    VocDataset dataset = new VocDataset(TestData.vocMini(), "val");
    try (Evaluator evaluator = Evaluator.open(TestModels.BUNDLED, List.of(1.0), false)) {
      Evaluator.CrfComparison c = evaluator.evaluateWithCrf(dataset, LabelSet.PASCAL_VOC,
          ResizeToRange.none(), DenseCrf.deepLabV2(), 5, () -> { });
      ConfusionMatrix plain = evaluator.evaluate(dataset, LabelSet.PASCAL_VOC,
          ResizeToRange.none(), () -> { });
      System.out.printf(Locale.ROOT, "voc-mini, 4 images: mIoU %.4f -> %.4f with the CRF, "
          + "pixel accuracy %.4f -> %.4f, trimap (5 px, %d pixels) %.4f -> %.4f%n",
          c.plain().meanIou(), c.refined().meanIou(), c.plain().pixelAccuracy(),
          c.refined().pixelAccuracy(), c.plainTrimap().pixels(), c.plainTrimap().accuracy(),
          c.refinedTrimap().accuracy());
      assertEquals(plain.meanIou(), c.plain().meanIou(), "plain scores as evaluate's");
      assertTrue(c.refined().meanIou() >= c.plain().meanIou() - 0.002,
          "mIoU " + c.plain().meanIou() + " -> " + c.refined().meanIou());
      assertTrue(c.refinedTrimap().accuracy() >= c.plainTrimap().accuracy(),
          "trimap " + c.plainTrimap().accuracy() + " -> " + c.refinedTrimap().accuracy());
    }
  }
}
