package dev.deeplab.infer;

import dev.deeplab.image.RgbImage;
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
 * and a smoothness kernel {@code w_s exp(-|p_i - p_j|^2 / 2 sg^2)} on position. As in
 * Krähenbühl and Koltun's implementation, which DeepLab's parameters were tuned with, each
 * kernel's message is normalised per pixel by the kernel's total weight {@code sum_j k(i, j)}
 * (the pixel itself included). One mean-field update is then
 *
 * <pre>
 *   Q_i(l) proportional to p_i(l) exp(w_a A_i(l) + w_s S_i(l)),
 *   A_i(l) = sum_j k_a(i, j) Q_j(l) / sum_j k_a(i, j)   (S alike with k_s),
 * </pre>
 *
 * starting from {@code Q = p}; the CRF runs {@link Settings#iterations} updates. With both
 * weights zero the output is the input softmax.
 *
 * <p>The Gaussian sums are computed on the permutohedral lattice in float32; compared with the
 * exact sums (tools/reference/dense_crf_reference.py), the marginals agree to about 0.02.
 * Immutable and thread-safe; each call uses the common fork-join pool for its classes and pixels.
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
    float[] logP = new float[probabilities.length];
    float[] q = new float[probabilities.length];
    parallel(n, (p0, p1) -> {
      for (int i = p0 * classes; i < p1 * classes; i++) {
        logP[i] = (float) Math.log(Math.max(probabilities[i], MIN_PROBABILITY));
      }
      softmax(logP, q, classes, p0, p1);
    });
    Kernel[] kernels = kernels(image);
    if (kernels.length == 0 || settings.iterations() == 0) {
      return q;
    }
    int chunks = Math.min(classes, Runtime.getRuntime().availableProcessors());
    int maxVertices = 0;
    for (Kernel k : kernels) {
      maxVertices = Math.max(maxVertices, k.lattice.vertices());
    }
    int width = (classes + chunks - 1) / chunks;
    float[][] scratchA = new float[chunks][Math.multiplyExact(maxVertices, width)];
    float[][] scratchB = new float[chunks][scratchA[0].length];
    float[] energy = new float[probabilities.length];
    for (int it = 0; it < settings.iterations(); it++) {
      System.arraycopy(logP, 0, energy, 0, logP.length);
      IntStream.range(0, chunks).parallel().forEach(t -> {
        int from = t * width;
        int to = Math.min(classes, from + width);
        for (Kernel k : kernels) {
          if (from < to) {
            k.lattice.filterAdd(q, energy, classes, from, to, k.inverseNorm, k.weight,
                scratchA[t], scratchB[t]);
          }
        }
      });
      parallel(n, (p0, p1) -> softmax(energy, q, classes, p0, p1));
    }
    return q;
  }

  /** A kernel's lattice, weight and per-pixel normalisation {@code 1 / sum_j k(i, j)}. */
  private record Kernel(PermutohedralLattice lattice, float weight, float[] inverseNorm) {}

  private Kernel[] kernels(RgbImage image) {
    int w = image.width();
    int h = image.height();
    int n = w * h;
    java.util.List<Kernel> kernels = new java.util.ArrayList<>(2);
    if (settings.appearanceWeight() > 0) {
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
      kernels.add(kernel(PermutohedralLattice.build(f, n, 5), settings.appearanceWeight()));
    }
    if (settings.smoothnessWeight() > 0) {
      float xy = (float) settings.smoothnessXyStd();
      float[] f = new float[Math.multiplyExact(n, 2)];
      for (int y = 0, i = 0; y < h; y++) {
        for (int x = 0; x < w; x++, i++) {
          f[2 * i] = x / xy;
          f[2 * i + 1] = y / xy;
        }
      }
      kernels.add(kernel(PermutohedralLattice.build(f, n, 2), settings.smoothnessWeight()));
    }
    return kernels.toArray(Kernel[]::new);
  }

  private static Kernel kernel(PermutohedralLattice lattice, double weight) {
    int n = lattice.points();
    float[] ones = new float[n];
    java.util.Arrays.fill(ones, 1f);
    float[] norm = new float[n];
    lattice.filterAdd(ones, norm, 1, 0, 1, ones, 1f, new float[lattice.vertices()],
        new float[lattice.vertices()]);
    for (int i = 0; i < n; i++) {
      norm[i] = 1f / norm[i];
    }
    return new Kernel(lattice, (float) weight, norm);
  }

  /** {@code q = softmax(energy)} over the classes of pixels {@code [p0, p1)}. */
  private static void softmax(float[] energy, float[] q, int classes, int p0, int p1) {
    for (int p = p0; p < p1; p++) {
      int base = p * classes;
      float max = Float.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        max = Math.max(max, energy[base + c]);
      }
      float sum = 0;
      for (int c = 0; c < classes; c++) {
        float e = (float) Math.exp(energy[base + c] - max);
        q[base + c] = e;
        sum += e;
      }
      float inv = 1f / sum;
      for (int c = 0; c < classes; c++) {
        q[base + c] *= inv;
      }
    }
  }

  /** The class of highest probability at each pixel (the lowest id among equals). */
  static int[] argmax(float[] q, int classes) {
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

  private interface Range {
    void run(int from, int to);
  }

  /** Runs {@code body} on pixel ranges in parallel. */
  private static void parallel(int n, Range body) {
    int parts = Math.max(1, Math.min(64, n / 4096));
    IntStream.range(0, parts).parallel().forEach(t -> body.run(
        (int) ((long) n * t / parts), (int) ((long) n * (t + 1) / parts)));
  }
}
