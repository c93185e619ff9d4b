package dev.deeplab.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** {@code preprocess_utils.resize_to_range}, with sizes worked out by hand from its formula. */
class ResizeToRangeTest {
  @Test
  void ade20kSettingsKeepSidesAtMost513AndMultiplesOf16PlusOne() {
    ResizeToRange ade = new ResizeToRange(513, 513, 16);
    // max_size becomes 513 + (16 - 512 % 16) % 16 - 16 = 497. 375x500: min side to 513 makes the
    // long side ceil(500 * 513/375) = 684 > 497, so the long side goes to 497 and the short one to
    // ceil(375 * 497/500) = ceil(372.75) = 373; then 373 -> 385 (16*24+1), 497 stays (16*31+1).
    assertArrayEquals(new int[] {385, 497}, ade.outputSize(375, 500));
    // 256x256: 513x513 > 497, so 497x497.
    assertArrayEquals(new int[] {497, 497}, ade.outputSize(256, 256));
  }

  @Test
  void minimumOnlyScalesTheShortSide() {
    ResizeToRange r = new ResizeToRange(100, 0, 0);
    // 50x80 -> scale 2 -> 100x160
    assertArrayEquals(new int[] {100, 160}, r.outputSize(50, 80));
    // 300x200 -> scale 0.5 -> 150x100
    assertArrayEquals(new int[] {150, 100}, r.outputSize(300, 200));
    assertArrayEquals(new int[] {7, 9}, ResizeToRange.none().outputSize(7, 9));
  }

  @Test
  void maximumWinsWhenTheLongSideWouldExceedIt() {
    // 100x400 with min 100 stays 100x400 > 200, so the long side goes to 200: 50x200
    assertArrayEquals(new int[] {50, 200}, new ResizeToRange(100, 200, 0).outputSize(100, 400));
    // factor 8 without max: 30x45 at min 30 stays, then 30 -> 33, 45 -> 49
    assertArrayEquals(new int[] {33, 49}, new ResizeToRange(30, 0, 8).outputSize(30, 45));
  }

  @Test
  void imagesBilinearLabelsNearestWithAlignedCorners() {
    ResizeToRange r = new ResizeToRange(3, 0, 0);
    RgbImage img = new RgbImage(2, 2, new byte[] {0, 0, 0, 100, 100, 100, 50, 50, 50, 10, 10, 10});
    RgbImage out = r.resize(img);
    assertEquals(3, out.width());
    // row 0: 0, 50, 100 (the middle column halfway between the corners)
    assertEquals(50, out.rgb()[3] & 0xFF);
    assertEquals(100, out.rgb()[6] & 0xFF);
    // centre: mean of the four corners = 40
    assertEquals(40, out.rgb()[12] & 0xFF);
    LabelMap lab = r.resize(new LabelMap(2, 2, new byte[] {1, 2, 3, 4}));
    // align-corners nearest: source index round(i * 0.5) = 0, 1 (0.5 rounds up), 1
    assertArrayEquals(new byte[] {1, 2, 2, 3, 4, 4, 3, 4, 4}, lab.ids());
    assertSame(img, ResizeToRange.none().resize(img));
  }

  @Test
  void refusesALimitWithoutAMinimum() {
    assertThrows(IllegalArgumentException.class, () -> new ResizeToRange(0, 513, 0));
    assertThrows(IllegalArgumentException.class, () -> new ResizeToRange(0, 0, 16));
    assertThrows(IllegalArgumentException.class, () -> new ResizeToRange(600, 513, 0));
  }
}
