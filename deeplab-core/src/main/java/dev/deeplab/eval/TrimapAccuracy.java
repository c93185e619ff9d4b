package dev.deeplab.eval;

/**
 * Pixel accuracy in a narrow band around label boundaries, the "trimap" measure with which
 * DeepLab v1 (Chen et al., ICLR 2015, Section 5 and Fig. 5) shows the fully connected CRF's effect
 * on object boundaries (after Kohli, Ladický and Torr 2009).
 *
 * <p>A scored pixel (label not the ignore label) is in the band when some pixel within {@code
 * band} pixels of it (Chebyshev distance, i.e. in its {@code (2 band + 1)}-pixel square) has
 * another label value, the ignore label included: PASCAL VOC marks object boundaries with a band
 * of void (255) pixels, which DeepLab's trimap is measured around. The accuracy is the fraction of
 * band pixels predicted right.
 *
 * <p>Not thread-safe.
 */
public final class TrimapAccuracy {
  private final int band;
  private final int ignoreLabel;
  private long pixels;
  private long correct;

  /**
   * @param band the band's half-width in pixels, at least 1
   * @param ignoreLabel the label value not scored (255; 0 for ADE20K)
   */
  public TrimapAccuracy(int band, int ignoreLabel) {
    if (band < 1 || band > 1000) {
      throw new IllegalArgumentException("the trimap band must be 1 to 1000 pixels, got " + band);
    }
    this.band = band;
    this.ignoreLabel = ignoreLabel;
  }

  /** The band's half-width in pixels. */
  public int band() {
    return band;
  }

  /**
   * Adds one image: {@code labels} and {@code predictions} row-major, {@code width * height}
   * each.
   */
  public void add(int[] labels, int[] predictions, int width, int height) {
    int n = width * height;
    if (labels.length != n || predictions.length != n) {
      throw new IllegalArgumentException("expected " + n + " labels and predictions, got "
          + labels.length + " and " + predictions.length);
    }
    // The band is where the square window's minimum and maximum label differ: then one of
    // them differs from the pixel's own label. Separable sliding minimum and maximum.
    int[] rowMin = new int[n];
    int[] rowMax = new int[n];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int lo = Integer.MAX_VALUE;
        int hi = Integer.MIN_VALUE;
        for (int u = Math.max(0, x - band); u <= Math.min(width - 1, x + band); u++) {
          int v = labels[y * width + u];
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        rowMin[y * width + x] = lo;
        rowMax[y * width + x] = hi;
      }
    }
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int i = y * width + x;
        if (labels[i] == ignoreLabel) {
          continue;
        }
        int lo = Integer.MAX_VALUE;
        int hi = Integer.MIN_VALUE;
        for (int v = Math.max(0, y - band); v <= Math.min(height - 1, y + band); v++) {
          lo = Math.min(lo, rowMin[v * width + x]);
          hi = Math.max(hi, rowMax[v * width + x]);
        }
        if (lo != hi) {
          pixels++;
          if (predictions[i] == labels[i]) {
            correct++;
          }
        }
      }
    }
  }

  /** The number of scored pixels in the band so far. */
  public long pixels() {
    return pixels;
  }

  /** How many of them were predicted right. */
  public long correct() {
    return correct;
  }

  /** {@code correct() / pixels()}; NaN before any band pixel. */
  public double accuracy() {
    return pixels == 0 ? Double.NaN : correct / (double) pixels;
  }
}
