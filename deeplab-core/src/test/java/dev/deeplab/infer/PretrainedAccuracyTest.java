package dev.deeplab.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.eval.ConfusionMatrix;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * Accuracy of the pretrained models on {@code src/test/resources/voc-mini} (4 PASCAL VOC 2012 val
 * images, single scale, no flip), against the quantised originals run by TF Lite there: mIoU
 * 0.976 / pixel accuracy 0.994 (depth multiplier 1.0) and 0.959 / 0.990 (0.5).
 *
 * <p>The bundled depth-1.0 model must reach the bar (mIoU &ge; 0.95, pixel accuracy &ge;
 * 0.99). The depth-0.5 model is imported here from its TFLite file; its floors sit just under
 * what it measures (0.9591 / 0.9895; the bundled depth-1.0 model measures 0.9771 / 0.9942).
 */
class PretrainedAccuracyTest {
  static final Path VOC_MINI = dev.deeplab.testing.TestData.vocMini();

  @Test
  void bundledDm10() throws Exception {
    ConfusionMatrix cm = evaluate(TestModels.BUNDLED, "dm10 (bundled)");
    assertTrue(cm.meanIou() >= 0.95, "mIoU " + cm.meanIou());
    assertTrue(cm.pixelAccuracy() >= 0.99, "pixel accuracy " + cm.pixelAccuracy());
  }

  @Test
  void importedDm05() throws Exception {
    ConfusionMatrix cm = evaluate(TestModels.dm05(), "dm05 (imported)");
    assertTrue(cm.meanIou() >= 0.955, "mIoU " + cm.meanIou());
    assertTrue(cm.pixelAccuracy() >= 0.988, "pixel accuracy " + cm.pixelAccuracy());
  }

  private static ConfusionMatrix evaluate(Path model, String name) throws Exception {
    VocDataset dataset = new VocDataset(VOC_MINI, "val");
    List<VocDataset.Sample> samples = dataset.samples();
    assertEquals(4, samples.size());
    try (Segmenter segmenter = Segmenter.load(model)) {
      int classes = segmenter.info().config().numClasses();
      ConfusionMatrix cm = new ConfusionMatrix(classes, VocDataset.VOC_IGNORE_LABEL);
      for (VocDataset.Sample s : samples) {
        VocDataset.LoadedSample loaded = dataset.load(s, classes);
        cm.add(loaded.label().toIntArray(), segmenter.segment(loaded.image().rgb(),
            loaded.image().width(), loaded.image().height()).classIds());
      }
      System.out.printf(Locale.ROOT, "voc-mini %s: mIoU %.4f, pixel accuracy %.4f%n", name,
          cm.meanIou(), cm.pixelAccuracy());
      return cm;
    }
  }
}
