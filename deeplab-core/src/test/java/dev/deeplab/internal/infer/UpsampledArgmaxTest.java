package dev.deeplab.internal.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link UpsampledArgmax} against hand values and against a brute-force reference written here:
 * every class of every crop pixel interpolated in double (source {@code y * (in - 1) / (crop -
 * 1)}), argmax, cut to the region, nearest neighbour to the image size with {@code round(i *
 * (fit - 1) / (size - 1))}.
 */
class UpsampledArgmaxTest {
  @Test
  void twoByTwoLogitsGiveTheBoundaryWhereTheBlendCrosses() {
    // 2x2 logits, 2 classes; class 1 wins on the right column only. Upsampled to 1x5 per row:
    // x = 0, .25, .5, .75, 1 of the way; class 1's margin is -1 + 2x: ties at x = .5 (class 0,
    // the first maximum), class 1 from .75.
    float[] logits = {
        1, 0, /* */ 0, 1,
        1, 0, /* */ 0, 1};
    int[] ids = UpsampledArgmax.classIds(logits, 0, 2, 2, 2, new int[] {3, 5},
        new int[] {3, 5}, 3, 5);
    assertArrayEquals(new int[] {
        0, 0, 0, 1, 1,
        0, 0, 0, 1, 1,
        0, 0, 0, 1, 1}, ids);
    // the region [0, 2) x [0, 4) of the crop, mapped back to 3x7: rows 0, 1, 1 (round(0.5) = 1)
    // and columns round(i / 2) = 0, 1, 1, 2, 2, 3, 3 of the region's 0, 0, 0, 1
    assertArrayEquals(new int[] {
        0, 0, 0, 0, 0, 1, 1,
        0, 0, 0, 0, 0, 1, 1,
        0, 0, 0, 0, 0, 1, 1}, UpsampledArgmax.classIds(logits, 0, 2, 2, 2,
        new int[] {3, 5}, new int[] {2, 4}, 3, 7));
  }

  @Test
  void matchesTheFullInterpolationOnRandomSmoothLogits() {
    Random random = new Random(7);
    int classes = 21;
    int[][] cases = {
        // logits h, w, crop h, w, fit h, w, image h, w
        {33, 33, 513, 513, 513, 513, 513, 513},
        {33, 33, 513, 513, 375, 500, 375, 500},
        {33, 33, 513, 513, 401, 513, 561, 718},
        {13, 9, 97, 65, 97, 50, 97, 50},
        {7, 7, 100, 100, 60, 100, 120, 200}};
    for (int[] k : cases) {
      int lh = k[0];
      int lw = k[1];
      float[] logits = smoothLogits(random, lh, lw, classes);
      int[] crop = {k[2], k[3]};
      int[] fit = {k[4], k[5]};
      int[] got = UpsampledArgmax.classIds(logits, 0, lh, lw, classes, crop, fit, k[6], k[7]);
      int differ = 0;
      int nearTies = 0;
      int o = 0;
      for (int y = 0; y < k[6]; y++) {
        for (int x = 0; x < k[7]; x++) {
          double[] v = reference(logits, lh, lw, classes, crop,
              nearest(y, fit[0], k[6]), nearest(x, fit[1], k[7]));
          int best = 0;
          for (int c = 1; c < classes; c++) {
            if (v[c] > v[best]) {
              best = c;
            }
          }
          if (got[o] != best) {
            differ++;
            if (v[best] - v[got[o]] < 1e-5) {
              nearTies++;
            }
          }
          o++;
        }
      }
      assertEquals(k[6] * k[7], got.length);
      assertEquals(nearTies, differ, "class ids differ outside near-ties, case "
          + java.util.Arrays.toString(k));
      assertTrue(differ < 5, differ + " near-ties");
    }
  }

  @Test
  void readsEachImageOfABatchFromItsOffset() {
    float[] two = {0, 1, 0, 1, 0, 1, 0, 1, /* second image */ 1, 0, 1, 0, 1, 0, 1, 0};
    int[] crop = {3, 3};
    assertArrayEquals(new int[9], UpsampledArgmax.classIds(two, 8, 2, 2, 2, crop, crop, 3, 3));
    int[] ones = new int[9];
    java.util.Arrays.fill(ones, 1);
    assertArrayEquals(ones, UpsampledArgmax.classIds(two, 0, 2, 2, 2, crop, crop, 3, 3));
  }

  /** Logits with a few large blobs per class, as a network's are (regions, not noise). */
  private static float[] smoothLogits(Random random, int h, int w, int classes) {
    float[] l = new float[h * w * classes];
    for (int c = 0; c < classes; c++) {
      double cy = random.nextDouble() * h;
      double cx = random.nextDouble() * w;
      double radius = 2 + random.nextDouble() * h / 3;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          double d = Math.hypot(y - cy, x - cx) / radius;
          l[(y * w + x) * classes + c] = (float) (4 * (1 - d) + random.nextGaussian() * 0.3);
        }
      }
    }
    return l;
  }

  /** The region pixel that image pixel {@code i} of {@code size} reads, of {@code fit}. */
  private static int nearest(int i, int fit, int size) {
    return size == 1 ? 0 : (int) Math.min(fit - 1, Math.floor(i * (fit - 1.0) / (size - 1) + .5));
  }

  /** All classes of crop pixel {@code (y, x)}, bilinear in double. */
  private static double[] reference(float[] logits, int lh, int lw, int classes, int[] crop,
      int y, int x) {
    double sy = crop[0] > 1 ? y * (lh - 1.0) / (crop[0] - 1) : 0;
    double sx = crop[1] > 1 ? x * (lw - 1.0) / (crop[1] - 1) : 0;
    int y0 = (int) Math.floor(sy);
    int x0 = (int) Math.floor(sx);
    int y1 = Math.min(y0 + 1, lh - 1);
    int x1 = Math.min(x0 + 1, lw - 1);
    double ay = sy - y0;
    double ax = sx - x0;
    double[] v = new double[classes];
    for (int c = 0; c < classes; c++) {
      v[c] = (1 - ay) * ((1 - ax) * logits[(y0 * lw + x0) * classes + c]
          + ax * logits[(y0 * lw + x1) * classes + c])
          + ay * ((1 - ax) * logits[(y1 * lw + x0) * classes + c]
          + ax * logits[(y1 * lw + x1) * classes + c]);
    }
    return v;
  }
}
