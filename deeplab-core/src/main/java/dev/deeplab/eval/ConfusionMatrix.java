package dev.deeplab.eval;

import java.util.Arrays;

/**
 * A semantic-segmentation confusion matrix: {@code counts[label][prediction]} pixel counts over
 * {@code numClasses} classes, skipping pixels whose label is the ignore label.
 *
 * <p>The metrics follow {@code tf.metrics.mean_iou} (TensorFlow's {@code metrics_impl.py}), which
 * the official DeepLab evaluation uses ({@code research/deeplab/eval.py} in tensorflow/models,
 * with weight 0 on ignore-label pixels):
 *
 * <ul>
 *   <li>IoU of class c = TP / (TP + FP + FN) = {@code cm[c][c] / (rowSum(c) + colSum(c) -
 *       cm[c][c])};
 *   <li>a class whose denominator is 0 — it appears in neither labels nor predictions — has IoU
 *       {@code NaN} here and is left out of the mean, exactly as TF counts only the "valid
 *       entries" with a non-zero denominator ({@code num_valid_entries}). A class that appears
 *       only in predictions has IoU 0 and <i>is</i> averaged in, as in TF;
 *   <li>mean IoU = the mean of the non-NaN IoUs; 0 when there are none (TF returns 0 too).
 * </ul>
 *
 * <p>With an ignore label inside {@code [0, numClasses)} (ADE20K's 0), that class never has a
 * label pixel, so its IoU is NaN unless the model predicts it, when it is 0 — again as in the
 * official evaluation.
 *
 * <p>Not thread-safe: give each worker its own matrix and {@link #merge} them.
 */
public final class ConfusionMatrix {
  private final int numClasses;
  private final int ignoreLabel;
  private final long[][] counts;

  /**
   * @param numClasses the number of classes, at least 1
   * @param ignoreLabel label value whose pixels are skipped (e.g. 255; 0 for ADE20K)
   */
  public ConfusionMatrix(int numClasses, int ignoreLabel) {
    if (numClasses < 1) {
      throw new IllegalArgumentException("numClasses must be at least 1, got " + numClasses);
    }
    this.numClasses = numClasses;
    this.ignoreLabel = ignoreLabel;
    this.counts = new long[numClasses][numClasses];
  }

  /** The number of classes. */
  public int numClasses() {
    return numClasses;
  }

  /** The label value whose pixels are skipped. */
  public int ignoreLabel() {
    return ignoreLabel;
  }

  /**
   * Adds a batch of pixels. Pixels whose label is the ignore label are skipped whatever their
   * prediction.
   *
   * @param labels ground-truth class ids
   * @param predictions predicted class ids, same length
   * @throws IllegalArgumentException if lengths differ, or a (non-ignored) label or a prediction
   *     is outside {@code [0, numClasses)}; the matrix is then unchanged
   */
  public void add(int[] labels, int[] predictions) {
    if (labels.length != predictions.length) {
      throw new IllegalArgumentException(
          labels.length + " labels but " + predictions.length + " predictions");
    }
    for (int i = 0; i < labels.length; i++) {
      int l = labels[i];
      if (l == ignoreLabel) {
        continue;
      }
      int p = predictions[i];
      if (l < 0 || l >= numClasses) {
        throw new IllegalArgumentException("label " + l + " at index " + i + " is outside 0.."
            + (numClasses - 1) + " and not the ignore label " + ignoreLabel);
      }
      if (p < 0 || p >= numClasses) {
        throw new IllegalArgumentException(
            "prediction " + p + " at index " + i + " is outside 0.." + (numClasses - 1));
      }
    }
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] != ignoreLabel) {
        counts[labels[i]][predictions[i]]++;
      }
    }
  }

  /** Adds {@code count} pixels of class {@code label} predicted as {@code prediction}. */
  public void add(int label, int prediction, long count) {
    if (label == ignoreLabel) {
      return;
    }
    if (label < 0 || label >= numClasses || prediction < 0 || prediction >= numClasses || count < 0) {
      throw new IllegalArgumentException("cannot add " + count + " pixels of (label " + label
          + ", prediction " + prediction + ") to a " + numClasses + "-class matrix");
    }
    counts[label][prediction] += count;
  }

  /**
   * Adds another matrix's counts to this one (e.g. from a parallel evaluation worker).
   *
   * @return this matrix
   * @throws IllegalArgumentException if the class counts or ignore labels differ
   */
  public ConfusionMatrix merge(ConfusionMatrix other) {
    if (other.numClasses != numClasses || other.ignoreLabel != ignoreLabel) {
      throw new IllegalArgumentException("cannot merge a " + other.numClasses + "-class matrix (ignore "
          + other.ignoreLabel + ") into a " + numClasses + "-class matrix (ignore " + ignoreLabel + ")");
    }
    for (int l = 0; l < numClasses; l++) {
      for (int p = 0; p < numClasses; p++) {
        counts[l][p] += other.counts[l][p];
      }
    }
    return this;
  }

  /** The count of pixels labelled {@code label} and predicted {@code prediction}. */
  public long count(int label, int prediction) {
    return counts[label][prediction];
  }

  /** A copy of the counts, {@code [label][prediction]}. */
  public long[][] counts() {
    long[][] copy = new long[numClasses][];
    for (int i = 0; i < numClasses; i++) {
      copy[i] = counts[i].clone();
    }
    return copy;
  }

  /** Pixels counted (ignored pixels excluded). */
  public long total() {
    long n = 0;
    for (long[] row : counts) {
      for (long v : row) {
        n += v;
      }
    }
    return n;
  }

  /** True positives of class c: {@code cm[c][c]}. */
  public long truePositives(int c) {
    return counts[c][c];
  }

  /** False positives of class c: pixels predicted c whose label is another class. */
  public long falsePositives(int c) {
    long n = 0;
    for (int l = 0; l < numClasses; l++) {
      n += l == c ? 0 : counts[l][c];
    }
    return n;
  }

  /** False negatives of class c: pixels labelled c predicted as another class. */
  public long falseNegatives(int c) {
    long n = 0;
    for (int p = 0; p < numClasses; p++) {
      n += p == c ? 0 : counts[c][p];
    }
    return n;
  }

  /** IoU of class c = TP / (TP + FP + FN); NaN when the denominator is 0. */
  public double iou(int c) {
    long denominator = truePositives(c) + falsePositives(c) + falseNegatives(c);
    return denominator == 0 ? Double.NaN : (double) truePositives(c) / denominator;
  }

  /** IoU of every class, NaN for classes absent from both labels and predictions. */
  public double[] perClassIou() {
    double[] iou = new double[numClasses];
    for (int c = 0; c < numClasses; c++) {
      iou[c] = iou(c);
    }
    return iou;
  }

  /** How many classes have a defined (non-NaN) IoU and so count in {@link #meanIou}. */
  public int validClasses() {
    return (int) Arrays.stream(perClassIou()).filter(v -> !Double.isNaN(v)).count();
  }

  /** Mean IoU over the classes with a defined IoU (TF's {@code mean_iou}); 0 if none. */
  public double meanIou() {
    double sum = 0;
    int n = 0;
    for (double v : perClassIou()) {
      if (!Double.isNaN(v)) {
        sum += v;
        n++;
      }
    }
    return n == 0 ? 0.0 : sum / n;
  }

  /** Correct pixels / counted pixels; 0 when nothing was counted. */
  public double pixelAccuracy() {
    long total = total();
    long correct = 0;
    for (int c = 0; c < numClasses; c++) {
      correct += counts[c][c];
    }
    return total == 0 ? 0.0 : (double) correct / total;
  }
}
