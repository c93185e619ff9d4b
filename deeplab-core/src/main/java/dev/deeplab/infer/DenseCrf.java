package dev.deeplab.infer;

import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.crf.GaussianGrid;
import dev.deeplab.internal.crf.PermutohedralLattice;
import java.util.stream.IntStream;

/**
 * The fully connected CRF that DeepLab v1 and v2 put after the network (Chen et al., "Semantic
 * Image Segmentation with Deep Convolutional Nets and Fully Connected CRFs", ICLR 2015, Section
 * 4; "DeepLab: ...", TPAMI 2017, Section 3.3): the model and mean-field inference of Krähenbühl
 * and Koltun, "Efficient Inference in Fully Connected CRFs with Gaussian Edge Potentials", NIPS
 * 2011, with the messages filtered on the permutohedral lattice (Adams, Baek and Davis 2010).
 *
 * <p>Energy: unaries {@code -log p_i(l)} from the network's softmax, and between every two pixels
 * a Potts term {@code [l_i != l_j]} weighted by two Gaussian kernels, an appearance kernel
 * {@code w_a exp(-|p_i - p_j|^2 / 2 sa^2 - |I_i - I_j|^2 / 2 sb^2)} on position and RGB colour
 * and a smoothness kernel {@code w_s exp(-|p_i - p_j|^2 / 2 sg^2)} on position. Each kernel's
 * message is normalised per pixel by the kernel's total weight {@code sum_j k(i, j)} (the pixel
 * itself included), the normalisation of Krähenbühl and Koltun's public code, so that the
 * weights act on messages in [0, 1]. One mean-field update is then
 *
 * <pre>
 *   Q_i(l) proportional to p_i(l) exp(w_a A_i(l) + w_s S_i(l)),
 *   A_i(l) = sum_j k_a(i, j) Q_j(l) / sum_j k_a(i, j)   (S alike with k_s),
 * </pre>
 *
 * starting from {@code Q = p}; the CRF runs {@link Settings#iterations} updates. With both
 * weights zero the output is the input softmax.
 *
 * <p>The appearance kernel's sums are computed on the permutohedral lattice, the smoothness
 * kernel's exactly on the pixel grid (it depends on position only), in float32; classes below
 * 1e-3 at every pixel are left out of the filtering. Against the exact mean field ({@code
 * tools/reference/dense_crf_reference.py}) the marginals agree within 0.05 (measured: 0.031).
 * Memory: {@link #estimatedBytes}. Immutable and thread-safe; each call uses the common
 * fork-join pool.
 */
public final class DenseCrf {
  /** Probabilities below this are raised to it before the logarithm (softmax in float32). */
  private static final float MIN_PROBABILITY = 1e-10f;

  /**
   * The CRF's parameters: the number of mean-field updates, the appearance kernel's weight
   * {@code w_a} ("bi_w" in DeepLab's scripts) and standard deviations in pixels ({@code
   * bi_xy_std}) and RGB levels ({@code bi_rgb_std}), the smoothness kernel's weight {@code w_s}
   * ({@code pos_w}) and standard deviation in pixels ({@code pos_xy_std}).
   */
  public record Settings(int iterations, double appearanceWeight, double appearanceXyStd,
      double appearanceRgbStd, double smoothnessWeight, double smoothnessXyStd) {
    public Settings {
      if (iterations < 0 || iterations > 1000) {
        throw new IllegalArgumentException("CRF iterations must be in [0, 1000], got "
            + iterations);
      }
      if (!(appearanceWeight >= 0) || !(smoothnessWeight >= 0)
          || Double.isInfinite(appearanceWeight) || Double.isInfinite(smoothnessWeight)) {
        throw new IllegalArgumentException("CRF kernel weights must be finite and >= 0, got "
            + appearanceWeight + " and " + smoothnessWeight);
      }
      if (!(appearanceXyStd > 0) || !(appearanceRgbStd > 0) || !(smoothnessXyStd > 0)
          || Double.isInfinite(appearanceXyStd) || Double.isInfinite(appearanceRgbStd)
          || Double.isInfinite(smoothnessXyStd)) {
        throw new IllegalArgumentException("CRF standard deviations must be finite and > 0, got "
            + appearanceXyStd + ", " + appearanceRgbStd + " and " + smoothnessXyStd);
      }
    }

    /**
     * DeepLab-v2's values for PASCAL VOC 2012 with ResNet-101 (10 updates, {@code bi_w = 4,
     * bi_xy_std = 67, bi_rgb_std = 3, pos_w = 3, pos_xy_std = 1}; the DeepLab-v2 release's CRF
     * settings, as reproduced by kazuto1011/deeplab-pytorch {@code configs/voc12.yaml}).
     */
    public static Settings deepLabV2() {
      return new Settings(10, 4, 67, 3, 3, 1);
    }

    public Settings withIterations(int n) {
      return new Settings(n, appearanceWeight, appearanceXyStd, appearanceRgbStd,
          smoothnessWeight, smoothnessXyStd);
    }

    public Settings withAppearance(double weight, double xyStd, double rgbStd) {
      return new Settings(iterations, weight, xyStd, rgbStd, smoothnessWeight, smoothnessXyStd);
    }

    public Settings withSmoothness(double weight, double xyStd) {
      return new Settings(iterations, appearanceWeight, appearanceXyStd, appearanceRgbStd,
          weight, xyStd);
    }
  }

  private final Settings settings;

  /** The CRF with the given parameters. */
  public DenseCrf(Settings settings) {
    this.settings = settings;
  }

  /**
   * An estimate of the memory {@link #marginals} takes for an image of {@code pixels} pixels and
   * {@code classes} classes, in bytes: its arrays take at most about 860 bytes per pixel for a
   * 513×513 photo and 21 classes, all of them filtered (about 500 with the few a photo usually
   * has; from the arrays' sizes: the marginals and the filters' buffers, 4 bytes per class each;
   * the lattice, about 1.4 vertices and 6 simplex corners per pixel, and its construction's sort
   * buffers); this allows for lattices of up to about 2 vertices per pixel.
   */
  public static long estimatedBytes(long pixels, int classes) {
    return pixels * 4 * (5L * classes + 150);
  }

  /** The CRF with DeepLab-v2's parameters ({@link Settings#deepLabV2()}). */
  public static DenseCrf deepLabV2() {
    return new DenseCrf(Settings.deepLabV2());
  }

  public Settings settings() {
    return settings;
  }

  /**
   * The CRF applied to a segmentation made with probabilities: its marginals as the new
   * probabilities and their argmax as the class ids.
   *
   * @param image the image segmented, at the segmentation's size
   * @throws IllegalStateException if {@code s} has no probabilities
   * @throws IllegalArgumentException if the sizes differ
   */
  public Segmentation refine(RgbImage image, Segmentation s) {
    if (!s.hasProbabilities()) {
      throw new IllegalStateException("the CRF needs probabilities: use "
          + "Segmenter.segmentWithProbabilities");
    }
    float[] q = marginals(image, s.probabilitiesShared(), s.numClasses());
    return new Segmentation(s.width(), s.height(), s.numClasses(), argmax(q, s.numClasses()), q);
  }

  /**
   * The CRF's marginals for softmax {@code probabilities} ({@code [height, width, classes]}
   * row-major, e.g. {@link Segmentation#probabilities()}) of {@code image}, in the same layout.
   */
  public float[] marginals(RgbImage image, float[] probabilities, int classes) {
    int n = image.width() * image.height();
    if (classes < 1 || probabilities.length != (long) n * classes) {
      throw new IllegalArgumentException("expected " + (long) n * classes + " probabilities for "
          + image.width() + "x" + image.height() + " pixels and " + classes + " classes, got "
          + probabilities.length);
    }
    MeanField state = new MeanField(probabilities, n, classes);
    if (settings.iterations() == 0
        || settings.appearanceWeight() == 0 && settings.smoothnessWeight() == 0) {
      return state.marginals();
    }
    PermutohedralLattice lattice = null;
    float[] latticeNorm = null;
    if (settings.appearanceWeight() > 0) {
      lattice = appearanceLattice(image);
      latticeNorm = inverseNorm(lattice);
    }
    GaussianGrid grid = settings.smoothnessWeight() > 0
        ? new GaussianGrid(image.width(), image.height(), settings.smoothnessXyStd()) : null;
    float wa = (float) settings.appearanceWeight();
    float ws = (float) settings.smoothnessWeight();
    int rows = lattice == null ? 0 : lattice.vertices() + 1;
    // The filters' arrays, reused by the next update while the number of classes filtered does
    // not grow (fresh ones, zeroed by the JVM, would add tens of megabytes of writes per update).
    float[][] buffers = new float[3][0];
    for (int it = 0; it < settings.iterations(); it++) {
      state.activate();
      int k = state.k;
      if (buffers[0].length < n * k) {
        buffers = new float[][] {new float[n * k], new float[Math.max(n, rows) * k],
            new float[rows * k]};
      }
      float[] message = buffers[0];
      if (lattice != null) {
        lattice.filter(state.qa, message, k, latticeNorm, wa, buffers[1], buffers[2]);
      } else {
        blocks(n, (p0, p1) -> java.util.Arrays.fill(message, p0 * k, p1 * k, 0f));
      }
      if (grid != null) {
        grid.filterAdd(state.qa, message, k, ws, buffers[1]);
      }
      state.update(message);
    }
    return state.marginals();
  }

  /**
   * The marginals during mean-field inference, held for the classes filtered only: those of
   * {@link #active} ({@link #k} of them) at {@code qa[p * k + c]}; every other class's marginal
   * is its clamped probability times the pixel's {@link #factor}. The update of a pixel then
   * takes {@code k + 1} exponentials and touches {@code k} values, not every class's, and the
   * filters read {@code qa} as it is.
   */
  private static final class MeanField {
    private final float[] probabilities;
    private final int n;
    private final int classes;
    private final boolean[] reached;
    /** Null before the first {@link #activate}. */
    private int[] active;
    private boolean[] isActive;
    private int k;
    /** The active classes' marginals, {@code [n, k]}. */
    private float[] qa = new float[0];
    /** The active classes' probabilities raised to {@link #MIN_PROBABILITY}, {@code [n, k]}. */
    private float[] pa = new float[0];
    /** Per pixel: the sum and the largest of the other classes' clamped probabilities. */
    private final float[] restSum;
    private final float[] restMax;
    /** Per pixel: an inactive class's marginal over its clamped probability. */
    private final float[] factor;

    /** The state {@code Q = p} (normalised after clamping). */
    MeanField(float[] probabilities, int n, int classes) {
      this.probabilities = probabilities;
      this.n = n;
      this.classes = classes;
      this.reached = new boolean[classes];
      this.restSum = new float[n];
      this.restMax = new float[n];
      this.factor = new float[n];
      blocks(n, (p0, p1) -> {
        boolean[] seen = new boolean[classes];
        for (int p = p0; p < p1; p++) {
          int base = p * classes;
          float sum = 0;
          for (int c = 0; c < classes; c++) {
            sum += clamped(base + c);
          }
          float inv = 1f / sum;
          factor[p] = inv;
          for (int c = 0; c < classes; c++) {
            seen[c] |= clamped(base + c) * inv >= NEGLIGIBLE;
          }
        }
        merge(seen);
      });
    }

    private float clamped(int i) {
      return Math.max(probabilities[i], MIN_PROBABILITY);
    }

    private void merge(boolean[] seen) {
      synchronized (reached) {
        for (int c = 0; c < classes; c++) {
          reached[c] |= seen[c];
        }
      }
    }

    /**
     * Makes the classes marked in {@link #reached} (by the last update, or the start) the active
     * ones, if they are not already, and clears the marks. Called before each update, not after:
     * the marginals an update computed for the classes it filtered stay as they are.
     */
    void activate() {
      int[] next = new int[classes];
      int count = 0;
      for (int c = 0; c < classes; c++) {
        if (reached[c]) {
          next[count++] = c;
        }
      }
      java.util.Arrays.fill(reached, false);
      int[] now = java.util.Arrays.copyOf(next, count);
      if (java.util.Arrays.equals(now, active)) {
        return;
      }
      int[] before = active;
      int kb = k;
      float[] qb = qa;
      int[] slot = new int[classes];
      java.util.Arrays.fill(slot, -1);
      for (int c = 0; c < kb; c++) {
        slot[before[c]] = c;
      }
      boolean[] isActive = new boolean[classes];
      for (int c : now) {
        isActive[c] = true;
      }
      this.isActive = isActive;
      int kn = count;
      float[] q = new float[n * kn];
      float[] pn = new float[n * kn];
      blocks(n, (p0, p1) -> {
        for (int p = p0; p < p1; p++) {
          int base = p * classes;
          for (int c = 0; c < kn; c++) {
            int from = slot[now[c]];
            pn[p * kn + c] = clamped(base + now[c]);
            q[p * kn + c] = from >= 0 ? qb[p * kb + from] : clamped(base + now[c]) * factor[p];
          }
          float sum = 0;
          float max = 0;
          for (int c = 0; c < classes; c++) {
            if (!isActive[c]) {
              float v = clamped(base + c);
              sum += v;
              max = Math.max(max, v);
            }
          }
          restSum[p] = sum;
          restMax[p] = max;
        }
      });
      active = now;
      k = kn;
      qa = q;
      pa = pn;
    }

    /**
     * One mean-field update: {@code Q = softmax(log p + message)}, {@code p} clamped to {@link
     * #MIN_PROBABILITY}, the message of active class {@code c} at {@code message[p * k + c]}.
     * Computed as {@code p exp(message - m) / sum}, {@code m} the largest message of the pixel
     * (the messages are weighted means times the kernel weights, in {@code [0, w_a + w_s]}): a
     * class left out of the filtering has no message and takes {@code p exp(-m) / sum}, which
     * {@link #factor} keeps. The classes whose new marginal reaches {@link #NEGLIGIBLE} somewhere
     * are marked for the next update ({@link #activate}).
     */
    void update(float[] message) {
      blocks(n, (p0, p1) -> {
        boolean[] seen = new boolean[classes];
        float[] v = new float[k];
        for (int p = p0; p < p1; p++) {
          int m0 = p * k;
          float max = 0;
          for (int c = 0; c < k; c++) {
            max = Math.max(max, message[m0 + c]);
          }
          float rest = exp(-max);
          float sum = restSum[p] * rest;
          for (int c = 0; c < k; c++) {
            v[c] = pa[m0 + c] * exp(message[m0 + c] - max);
            sum += v[c];
          }
          float inv = 1f / sum;
          for (int c = 0; c < k; c++) {
            float x = v[c] * inv;
            qa[m0 + c] = x;
            seen[active[c]] |= x >= NEGLIGIBLE;
          }
          float f = rest * inv;
          factor[p] = f;
          if (restMax[p] * f >= NEGLIGIBLE) {
            int base = p * classes;
            for (int c = 0; c < classes; c++) {
              seen[c] |= !isActive[c] && clamped(base + c) * f >= NEGLIGIBLE;
            }
          }
        }
        merge(seen);
      });
    }

    /** The marginals of all classes, {@code [n, classes]}. */
    float[] marginals() {
      float[] q = new float[n * classes];
      blocks(n, (p0, p1) -> {
        for (int p = p0; p < p1; p++) {
          int base = p * classes;
          for (int c = 0; c < classes; c++) {
            q[base + c] = clamped(base + c) * factor[p];
          }
          for (int c = 0; c < k; c++) {
            q[base + active[c]] = qa[p * k + c];
          }
        }
      });
      return q;
    }
  }

  /**
   * A class whose marginal stays below this at every pixel is left out of the filtering: its
   * messages, weighted means of its marginals, are below it too, so leaving them out lowers that
   * class's energy by less than {@code (w_a + w_s) * 1e-3} and changes its marginal, itself below
   * 1e-3, by less than {@code (w_a + w_s) * 1e-6}, the other marginals by as much in sum. A photo
   * typically has a few classes above it, and the filtering's work shrinks accordingly.
   */
  private static final float NEGLIGIBLE = 1e-3f;

  /** The appearance kernel's lattice over position and colour, scaled by their deviations. */
  private PermutohedralLattice appearanceLattice(RgbImage image) {
    int w = image.width();
    int h = image.height();
    int n = w * h;
    float xy = (float) settings.appearanceXyStd();
    float rgb = (float) settings.appearanceRgbStd();
    byte[] pixels = image.rgb();
    float[] f = new float[Math.multiplyExact(n, 5)];
    for (int y = 0, i = 0; y < h; y++) {
      for (int x = 0; x < w; x++, i++) {
        f[5 * i] = x / xy;
        f[5 * i + 1] = y / xy;
        f[5 * i + 2] = (pixels[3 * i] & 0xFF) / rgb;
        f[5 * i + 3] = (pixels[3 * i + 1] & 0xFF) / rgb;
        f[5 * i + 4] = (pixels[3 * i + 2] & 0xFF) / rgb;
      }
    }
    return PermutohedralLattice.build(f, n, 5);
  }

  /** {@code 1 / sum_j k(i, j)} per point, the lattice's filtering of ones. */
  private static float[] inverseNorm(PermutohedralLattice lattice) {
    int n = lattice.points();
    float[] ones = new float[n];
    java.util.Arrays.fill(ones, 1f);
    float[] norm = new float[n];
    float[] a = new float[lattice.vertices() + 1];
    lattice.filter(ones, norm, 1, ones, 1f, a, new float[a.length]);
    for (int i = 0; i < n; i++) {
      norm[i] = 1f / norm[i];
    }
    return norm;
  }

  /**
   * {@code e^x} for {@code x <= 0}, to a relative error below {@code 2e-6 + |x| 6e-8} (the second
   * term from rounding {@code x log2 e} to float): {@code 2^(x log2 e)} split
   * into an integer power of two, set in the exponent bits, and {@code 2^f}, {@code 0 <= f < 1},
   * from its Taylor series to degree 7 (remainder below {@code ln2^8 / 8! = 1.3e-6}). Several
   * times faster than {@link Math#exp}, which the softmax of every pixel and class in every
   * update would otherwise spend most of its time in.
   */
  static float exp(float x) {
    if (x < -87f) {
      return 0f;
    }
    float t = x * 1.44269504f;
    float i = (float) Math.floor(t);
    float f = (t - i) * 0.69314718f;
    float p = 1 + f * (1 + f * (1 / 2f + f * (1 / 6f + f * (1 / 24f + f * (1 / 120f
        + f * (1 / 720f + f * (1 / 5040f)))))));
    return Float.intBitsToFloat(Float.floatToRawIntBits(p) + ((int) i << 23));
  }

  /**
   * The class of highest probability at each pixel (the lowest id among equals) of {@code q},
   * {@code [pixels, classes]} row-major.
   */
  public static int[] argmax(float[] q, int classes) {
    int[] ids = new int[q.length / classes];
    for (int p = 0; p < ids.length; p++) {
      int best = 0;
      for (int c = 1; c < classes; c++) {
        if (q[p * classes + c] > q[p * classes + best]) {
          best = c;
        }
      }
      ids[p] = best;
    }
    return ids;
  }

  /** A loop body over {@code [from, to)}. */
  private interface Range {
    void run(int from, int to);
  }

  /** Runs {@code body} over {@code [0, n)} in blocks, in parallel. */
  private static void blocks(int n, Range body) {
    int parts = Math.max(1, Math.min(64, n / 4096));
    IntStream.range(0, parts).parallel().forEach(t -> body.run(
        (int) ((long) n * t / parts), (int) ((long) n * (t + 1) / parts)));
  }
}
