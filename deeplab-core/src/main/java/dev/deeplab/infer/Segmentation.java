package dev.deeplab.infer;

import dev.deeplab.image.LabelMap;
import java.util.Arrays;

/**
 * The result of segmenting one image: a class id for every pixel, and, when asked for, the
 * softmax probability of every class at every pixel (the official export's {@code
 * SemanticPredictions} and {@code SemanticProbabilities}, at the image's own size).
 *
 * <p>Immutable and thread-safe: the accessors that return arrays return copies.
 */
public final class Segmentation {
  private final int width;
  private final int height;
  private final int numClasses;
  private final int[] classIds;
  private final float[] probabilities;

  /** Takes the arrays without copying them: only {@link Segmenter} creates results. */
  Segmentation(int width, int height, int numClasses, int[] classIds, float[] probabilities) {
    if (classIds.length != (long) width * height) {
      throw new IllegalArgumentException("expected " + (long) width * height
          + " class ids, got " + classIds.length);
    }
    if (probabilities != null && probabilities.length != (long) width * height * numClasses) {
      throw new IllegalArgumentException("expected " + (long) width * height * numClasses
          + " probabilities, got " + probabilities.length);
    }
    this.width = width;
    this.height = height;
    this.numClasses = numClasses;
    this.classIds = classIds;
    this.probabilities = probabilities;
  }

  /** The class ids without a copy, for the large-image path. */
  int[] classIdsShared() {
    return classIds;
  }

  /** The probabilities without a copy (null when not computed), for the large-image path. */
  float[] probabilitiesShared() {
    return probabilities;
  }

  /** Image width in pixels. */
  public int width() {
    return width;
  }

  /** Image height in pixels. */
  public int height() {
    return height;
  }

  /** The number of classes of the model. */
  public int numClasses() {
    return numClasses;
  }

  /** The class id at column {@code x}, row {@code y}. */
  public int classId(int x, int y) {
    checkPixel(x, y);
    return classIds[y * width + x];
  }

  /** A copy of every class id, row-major: {@code classIds()[y * width() + x]}. */
  public int[] classIds() {
    return classIds.clone();
  }

  /** The number of pixels of each class, indexed by class id. */
  public long[] pixelCounts() {
    long[] counts = new long[numClasses];
    for (int id : classIds) {
      counts[id]++;
    }
    return counts;
  }

  /** The fraction of pixels of each class, indexed by class id. */
  public double[] classShares() {
    long[] counts = pixelCounts();
    double[] shares = new double[numClasses];
    for (int c = 0; c < numClasses; c++) {
      shares[c] = counts[c] / (double) classIds.length;
    }
    return shares;
  }

  /** Whether the probabilities were computed ({@link Segmenter#segmentWithProbabilities}). */
  public boolean hasProbabilities() {
    return probabilities != null;
  }

  /**
   * The probability of class {@code c} at column {@code x}, row {@code y}.
   *
   * @throws IllegalStateException if the probabilities were not computed
   */
  public float probability(int x, int y, int c) {
    checkPixel(x, y);
    if (c < 0 || c >= numClasses) {
      throw new IndexOutOfBoundsException("class " + c + " of " + numClasses);
    }
    float[] p = requireProbabilities();
    return p[(int) (((long) y * width + x) * numClasses + c)];
  }

  /**
   * A copy of the probabilities, {@code [height, width, classes]} row-major.
   *
   * @throws IllegalStateException if they were not computed
   */
  public float[] probabilities() {
    return requireProbabilities().clone();
  }

  /**
   * The class ids as an 8-bit label map (for {@link dev.deeplab.image.MaskWriter}).
   *
   * @throws IllegalStateException if the model has more than 256 classes
   */
  public LabelMap toLabelMap() {
    if (numClasses > 256) {
      throw new IllegalStateException(numClasses + " classes do not fit an 8-bit label map");
    }
    return LabelMap.ofInts(width, height, classIds);
  }

  private float[] requireProbabilities() {
    if (probabilities == null) {
      throw new IllegalStateException("probabilities were not computed: use "
          + "Segmenter.segmentWithProbabilities");
    }
    return probabilities;
  }

  private void checkPixel(int x, int y) {
    if (x < 0 || x >= width || y < 0 || y >= height) {
      throw new IndexOutOfBoundsException("pixel (" + x + ", " + y + ") outside " + width + "x"
          + height);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Segmentation s && s.width == width && s.height == height
        && s.numClasses == numClasses && Arrays.equals(s.classIds, classIds)
        && Arrays.equals(s.probabilities, probabilities);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * width + height) + Arrays.hashCode(classIds);
  }

  @Override
  public String toString() {
    return "Segmentation[" + width + "x" + height + ", " + numClasses + " classes"
        + (probabilities != null ? ", with probabilities" : "") + "]";
  }
}
