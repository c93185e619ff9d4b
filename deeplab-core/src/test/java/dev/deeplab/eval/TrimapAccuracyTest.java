package dev.deeplab.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link TrimapAccuracy} on label maps whose band is counted by hand. */
class TrimapAccuracyTest {
  @Test
  void countsPixelsWithinTheBandOfABoundary() {
    // 8 columns: class 1 left of x = 4, class 2 from x = 4 on; 3 rows. With band 1 the band is
    // columns 3 and 4 (a pixel of the other class 1 pixel away), 6 pixels.
    int w = 8;
    int h = 3;
    int[] labels = new int[w * h];
    int[] predictions = new int[w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        labels[y * w + x] = x < 4 ? 1 : 2;
        predictions[y * w + x] = x < 5 ? 1 : 2;  // column 4 wrong: 3 band pixels wrong
      }
    }
    TrimapAccuracy t = new TrimapAccuracy(1, 255);
    t.add(labels, predictions, w, h);
    assertEquals(6, t.pixels());
    assertEquals(3, t.correct());
    assertEquals(0.5, t.accuracy());
    TrimapAccuracy wide = new TrimapAccuracy(2, 255);
    wide.add(labels, predictions, w, h);
    assertEquals(12, wide.pixels());
    assertEquals(9, wide.correct());
  }

  @Test
  void theIgnoreLabelMarksABoundaryButIsNotScored() {
    // VOC style: a void column between two regions; void pixels are not scored.
    int w = 7;
    int h = 1;
    int[] labels = {3, 3, 3, 255, 3, 3, 3};
    int[] predictions = {3, 3, 0, 0, 3, 3, 3};
    TrimapAccuracy t = new TrimapAccuracy(1, 255);
    t.add(labels, predictions, w, h);
    assertEquals(2, t.pixels());  // x = 2 and x = 4
    assertEquals(1, t.correct());
    TrimapAccuracy none = new TrimapAccuracy(1, 255);
    none.add(new int[] {5, 5, 5, 5}, new int[] {0, 0, 0, 0}, 2, 2);
    assertEquals(0, none.pixels());
    assertTrue(Double.isNaN(none.accuracy()));
    assertThrows(IllegalArgumentException.class, () -> new TrimapAccuracy(0, 255));
    assertThrows(IllegalArgumentException.class, () -> t.add(new int[3], new int[3], 2, 2));
  }
}
