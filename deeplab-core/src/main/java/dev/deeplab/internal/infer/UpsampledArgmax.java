package dev.deeplab.internal.infer;

/**
 * Class ids from a network's logits, as the serving graph computes them ({@code ServingSteps}: the
 * logits upsampled to the crop by align-corners bilinear, cut to the fitted image's region, argmax
 * over classes, mapped to the image size by align-corners nearest neighbour; official {@code
 * model.py predict_labels}), without computing the upsampled logits where the argmax is known.
 *
 * <p>Each pixel of the upsampled logits is a convex combination of the logits at the four corners
 * of its cell. Where one class is the argmax at all four corners, it is the argmax of every convex
 * combination of them (its value is at least every other class's at each corner, so in each
 * weighted sum too): the pixel gets that class without touching the other classes. Only pixels of
 * cells whose corners disagree, along class boundaries, are interpolated class by class. At
 * 513x513 from 33x33 logits that is a small share of the pixels, where the graph interpolates all
 * 21 classes of every pixel (5.5 million values) before its argmax.
 *
 * <p>Up to float rounding in the interpolation (which may flip exact ties), the result equals the
 * graph's ({@code OnnxParityTest} compares the two through {@code Segmenter}).
 */
public final class UpsampledArgmax {
  private UpsampledArgmax() {}

  /**
   * Class ids {@code [height * width]} of one image.
   *
   * @param logits {@code [logitsHeight, logitsWidth, classes]} from {@code offset}
   * @param crop {@code {cropHeight, cropWidth}} the logits cover
   * @param fit {@code {fitHeight, fitWidth}}: the image's region in the crop ({@link
   *     Resampling#fittedSize})
   */
  public static int[] classIds(float[] logits, int offset, int logitsHeight, int logitsWidth,
      int classes, int[] crop, int[] fit, int height, int width) {
    int[] argmax = new int[logitsHeight * logitsWidth];
    for (int i = 0; i < argmax.length; i++) {
      argmax[i] = argmax(logits, offset + i * classes, classes);
    }
    Axis rows = new Axis(logitsHeight, crop[0], fit[0]);
    Axis columns = new Axis(logitsWidth, crop[1], fit[1]);
    Cells cells = new Cells(logits, offset, argmax, logitsWidth, classes);
    int[] ids = new int[fit[0] * fit[1]];
    int o = 0;
    for (int y = 0; y < fit[0]; y++) {
      int top = rows.lower[y] * logitsWidth;
      int bottom = rows.upper[y] * logitsWidth;
      cells.row(top, bottom);
      float yLerp = rows.lerp[y];
      for (int x = 0; x < fit[1]; x++) {
        int cell = columns.lower[x];
        int known = cells.uniform[cell];
        ids[o++] = known >= 0 ? known : cells.interpolatedArgmax(cell, top + cell,
            top + columns.upper[x], bottom + cell, bottom + columns.upper[x], columns.lerp[x],
            yLerp);
      }
    }
    if (fit[0] == height && fit[1] == width) {
      return ids;
    }
    return Resampling.nearest(ids, fit[1], fit[0], width, height);
  }

  /** The first index of the largest of {@code classes} values from {@code at}. */
  private static int argmax(float[] v, int at, int classes) {
    int best = 0;
    float max = v[at];
    for (int c = 1; c < classes; c++) {
      if (v[at + c] > max) {
        max = v[at + c];
        best = c;
      }
    }
    return best;
  }

  /**
   * The cells {@code [j, j + 1]} of one pair of logits rows: the class that is the argmax at all
   * four corners ({@code uniform}, else -1) or the classes that can be the argmax somewhere in the
   * cell. Each pixel's values are at least the smallest corner value of each class, so the
   * largest such minimum, {@code floor}, bounds the pixel's maximum from below; a class whose
   * largest corner value is below {@code floor} is below it everywhere in the cell.
   */
  private static final class Cells {
    private final float[] logits;
    private final int offset;
    private final int[] argmax;
    private final int width;
    private final int classes;
    final int[] uniform;
    private final int[][] candidates;
    private final int[] candidateCount;
    private int top = -1;
    private int bottom = -1;

    Cells(float[] logits, int offset, int[] argmax, int width, int classes) {
      this.logits = logits;
      this.offset = offset;
      this.argmax = argmax;
      this.width = width;
      this.classes = classes;
      this.uniform = new int[width];
      this.candidates = new int[width][classes];
      this.candidateCount = new int[width];
    }

    /** Prepares the cells between logits rows {@code top} and {@code bottom} (row offsets). */
    void row(int top, int bottom) {
      if (top == this.top && bottom == this.bottom) {
        return;
      }
      this.top = top;
      this.bottom = bottom;
      for (int j = 0; j < width; j++) {
        int r = Math.min(j + 1, width - 1);
        int a = argmax[top + j];
        boolean same = argmax[top + r] == a && argmax[bottom + j] == a
            && argmax[bottom + r] == a;
        uniform[j] = same ? a : -1;
        if (!same) {
          findCandidates(j, new int[] {top + j, top + r, bottom + j, bottom + r});
        }
      }
    }

    private void findCandidates(int cell, int[] corners) {
      float floor = Float.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        float min = Float.POSITIVE_INFINITY;
        for (int corner : corners) {
          min = Math.min(min, logits[offset + corner * classes + c]);
        }
        floor = Math.max(floor, min);
      }
      int n = 0;
      for (int c = 0; c < classes; c++) {
        float max = Float.NEGATIVE_INFINITY;
        for (int corner : corners) {
          max = Math.max(max, logits[offset + corner * classes + c]);
        }
        if (max >= floor) {
          candidates[cell][n++] = c;
        }
      }
      candidateCount[cell] = n;
    }

    /** The argmax of the bilinear blend of four logits vectors (pixel indices) in a cell. */
    int interpolatedArgmax(int cell, int topLeft, int topRight, int bottomLeft,
        int bottomRight, float xLerp, float yLerp) {
      int tl = offset + topLeft * classes;
      int tr = offset + topRight * classes;
      int bl = offset + bottomLeft * classes;
      int br = offset + bottomRight * classes;
      int[] cs = candidates[cell];
      int best = cs[0];
      float max = Float.NEGATIVE_INFINITY;
      for (int k = 0; k < candidateCount[cell]; k++) {
        int c = cs[k];
        float value = Resampling.lerp(logits[tl + c], logits[tr + c], logits[bl + c],
            logits[br + c], xLerp, yLerp);
        if (value > max) {
          max = value;
          best = c;
        }
      }
      return best;
    }
  }

  /**
   * One axis of the align-corners upsampling from {@code in} logits to {@code crop} pixels, for
   * the first {@code fit} pixels: the two logits each reads and the weight of the second.
   */
  private static final class Axis {
    final int[] lower;
    final int[] upper;
    final float[] lerp;

    Axis(int in, int crop, int fit) {
      lower = new int[fit];
      upper = new int[fit];
      lerp = new float[fit];
      Resampling.weights(in, crop, lower, upper, lerp);
    }
  }
}
