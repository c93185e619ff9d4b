package dev.deeplab.infer;

/**
 * The class id of every pixel of one image.
 *
 * @param width image width
 * @param height image height
 * @param classIds row-major class ids, {@code width * height} of them
 * @param numClasses number of classes of the model
 */
public record Segmentation(int width, int height, int[] classIds, int numClasses) {

  public Segmentation {
    if (classIds.length != width * height) {
      throw new IllegalArgumentException("expected " + width * height + " class ids, got "
          + classIds.length);
    }
  }

  /** The fraction of pixels of each class, indexed by class id. */
  public double[] classShares() {
    long[] counts = new long[numClasses];
    for (int id : classIds) {
      counts[id]++;
    }
    double[] shares = new double[numClasses];
    for (int c = 0; c < numClasses; c++) {
      shares[c] = counts[c] / (double) classIds.length;
    }
    return shares;
  }
}
