package dev.deeplab.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.model.LabelSet;
import dev.deeplab.testing.TestData;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The ADEChallengeData2016 layout; 0 ("other") is the ignore label in scoring. */
class Ade20kDatasetTest {
  private static final Path ROOT = TestData.datasets("ade20k/ADEChallengeData2016");

  @Test
  void listsImagesWithTheirAnnotations() throws Exception {
    Ade20kDataset val = new Ade20kDataset(ROOT, "val");
    assertEquals(List.of("ADE_val_00000001", "ADE_val_00000002"),
        val.samples().stream().map(Ade20kDataset.Sample::id).toList());
    assertEquals(3, new Ade20kDataset(ROOT, "training").samples().size());
    assertTrue(val.description().contains("'validation'"));
  }

  @Test
  void loadsClassIdsWithUnlabelledZero() throws Exception {
    Ade20kDataset train = new Ade20kDataset(ROOT, "train");
    for (Ade20kDataset.Sample s : train.samples()) {
      SegmentationDataset.LoadedSample l = train.load(s, LabelSet.ADE20K.numClasses(),
          LabelSet.ADE20K.ignoreLabel());
      assertEquals(96, l.image().width());
      assertEquals(72, l.image().height());
      long[] h = l.label().histogram();
      // the script's 6-pixel unlabelled band at least
      assertTrue(h[0] >= 6 * 72, s.id() + ": " + h[0] + " unlabelled pixels");
      assertTrue(h[3] > 0 && h[10] > 0, "sky and grass");
    }
  }

  /** Pixels labelled 0 are not scored: only the two labelled pixels count. */
  @Test
  void unlabelledPixelsAreNotScored() {
    ConfusionMatrix cm = new ConfusionMatrix(151, Ade20kDataset.IGNORE_LABEL);
    cm.add(new int[] {0, 3, 3, 0}, new int[] {3, 3, 5, 0});
    assertEquals(2, cm.total());
    assertEquals(1, cm.count(3, 3));
    assertEquals(1, cm.count(3, 5));
    // class 3: TP 1, FP 0, FN 1 -> 1/2; class 5: TP 0, FP 1 -> 0; class 0 absent from labels and
    // (counted) predictions -> NaN, left out
    assertEquals((0.5 + 0.0) / 2, cm.meanIou(), 1e-12);
    assertTrue(Double.isNaN(cm.iou(0)));
  }
}
