package dev.deeplab.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfusionMatrixTest {
  private static final double EPS = 1e-12;

  /**
   * labels      0 0 1 1 2 255
   * predictions 0 1 1 1 0 2
   * counts: (0,0)=1 (0,1)=1 (1,1)=2 (2,0)=1, the 255 pixel skipped.
   * class 0: TP 1, FP 1 (the 2 predicted 0), FN 1 (the 0 predicted 1) -> 1/3
   * class 1: TP 2, FP 1, FN 0 -> 2/3
   * class 2: TP 0, FP 0, FN 1 -> 0
   * mean IoU (1/3 + 2/3 + 0) / 3 = 1/3; pixel accuracy 3/5
   */
  private static ConfusionMatrix example(int numClasses) {
    ConfusionMatrix cm = new ConfusionMatrix(numClasses, 255);
    cm.add(new int[] {0, 0, 1, 1, 2, 255}, new int[] {0, 1, 1, 1, 0, 2});
    return cm;
  }

  @Test
  void handComputedIou() {
    ConfusionMatrix cm = example(3);
    assertArrayEquals(new long[][] {{1, 1, 0}, {0, 2, 0}, {1, 0, 0}}, cm.counts());
    assertEquals(5, cm.total());
    assertEquals(1.0 / 3, cm.iou(0), EPS);
    assertEquals(2.0 / 3, cm.iou(1), EPS);
    assertEquals(0.0, cm.iou(2), EPS);
    assertEquals(1.0 / 3, cm.meanIou(), EPS);
    assertEquals(3.0 / 5, cm.pixelAccuracy(), EPS);
    assertEquals(1, cm.falsePositives(0));
    assertEquals(1, cm.falseNegatives(0));
  }

  @Test
  void absentClassIsNanAndLeftOutOfTheMean() {
    ConfusionMatrix cm = example(4);
    assertTrue(Double.isNaN(cm.iou(3)));
    assertEquals(3, cm.validClasses());
    assertEquals(1.0 / 3, cm.meanIou(), EPS);
  }

  @Test
  void classOnlyPredictedCountsAsZero() {
    // labels 0 0, predictions 0 3: class 0 = 1/2, class 3 = 0/1 (FP only), classes 1 and 2 absent.
    ConfusionMatrix cm = new ConfusionMatrix(4, 255);
    cm.add(new int[] {0, 0}, new int[] {0, 3});
    assertEquals(0.5, cm.iou(0), EPS);
    assertEquals(0.0, cm.iou(3), EPS);
    assertTrue(Double.isNaN(cm.iou(1)));
    assertEquals(0.25, cm.meanIou(), EPS);
  }

  @Test
  void ignoreLabelInsideTheClassRangeLikeAde20k() {
    // ADE20K: ignore 0. labels 0 1 2, predictions 1 1 0: first pixel skipped; (1,1) and (2,0).
    ConfusionMatrix cm = new ConfusionMatrix(3, 0);
    cm.add(new int[] {0, 1, 2}, new int[] {1, 1, 0});
    assertEquals(2, cm.total());
    assertEquals(0.0, cm.iou(0), EPS); // predicted once, never a label: FP only
    assertEquals(1.0, cm.iou(1), EPS);
    assertEquals(0.0, cm.iou(2), EPS);
    assertEquals(1.0 / 3, cm.meanIou(), EPS);
  }

  @Test
  void mergeEqualsAddingEverything() {
    ConfusionMatrix a = new ConfusionMatrix(3, 255);
    a.add(new int[] {0, 0, 1}, new int[] {0, 1, 1});
    ConfusionMatrix b = new ConfusionMatrix(3, 255);
    b.add(new int[] {1, 2, 255}, new int[] {1, 0, 2});
    assertArrayEquals(example(3).counts(), a.merge(b).counts());
    assertThrows(IllegalArgumentException.class, () -> a.merge(new ConfusionMatrix(4, 255)));
    assertThrows(IllegalArgumentException.class, () -> a.merge(new ConfusionMatrix(3, 0)));
  }

  @Test
  void addCounts() {
    ConfusionMatrix cm = new ConfusionMatrix(3, 255);
    cm.add(1, 2, 7);
    cm.add(255, 0, 9);
    assertEquals(7, cm.count(1, 2));
    assertEquals(7, cm.total());
  }

  @Test
  void invalidInputLeavesMatrixUnchanged() {
    ConfusionMatrix cm = example(3);
    long[][] before = cm.counts();
    assertThrows(IllegalArgumentException.class, () -> cm.add(new int[] {0, 5}, new int[] {0, 0}));
    assertThrows(IllegalArgumentException.class, () -> cm.add(new int[] {0, 1}, new int[] {0, 3}));
    assertThrows(IllegalArgumentException.class, () -> cm.add(new int[] {0, -1}, new int[] {0, 0}));
    assertThrows(IllegalArgumentException.class, () -> cm.add(new int[] {0}, new int[] {0, 0}));
    assertArrayEquals(before, cm.counts());
  }

  @Test
  void emptyMatrixScoresZeroLikeTf() {
    ConfusionMatrix cm = new ConfusionMatrix(21, 255);
    assertEquals(0.0, cm.meanIou());
    assertEquals(0.0, cm.pixelAccuracy());
    assertEquals(0, cm.validClasses());
  }

  @Test
  void textReport() {
    String text = EvalReport.toText(example(4), List.of("background", "cat", "dog", "bird"));
    assertTrue(text.contains("background"), text);
    assertTrue(text.contains("33.33%"), text);
    assertTrue(text.contains("66.67%"), text);
    assertTrue(text.contains("n/a"), text);
    assertTrue(text.contains("over 3 of 4 classes"), text);
    assertTrue(text.contains("60.00%"), text);
  }

  @Test
  void jsonReport() throws Exception {
    String json = EvalReport.toJson(example(4), List.of("background", "cat"));
    JsonNode root = new ObjectMapper().readTree(json);
    assertEquals(4, root.get("num_classes").asInt());
    assertEquals(255, root.get("ignore_label").asInt());
    assertEquals(5, root.get("pixels").asLong());
    assertEquals(1.0 / 3, root.get("mean_iou").asDouble(), EPS);
    assertEquals(0.6, root.get("pixel_accuracy").asDouble(), EPS);
    assertEquals("cat", root.get("classes").get(1).get("name").asText());
    assertEquals("class 2", root.get("classes").get(2).get("name").asText());
    assertEquals(2.0 / 3, root.get("classes").get(1).get("iou").asDouble(), EPS);
    assertTrue(root.get("classes").get(3).get("iou").isNull());
    assertEquals(1, root.get("confusion_matrix").get(2).get(0).asLong());
  }
}
