package dev.deeplab.bench;

import dev.deeplab.data.DatasetException;
import dev.deeplab.data.VocDataset;
import dev.deeplab.eval.ConfusionMatrix;
import java.util.ArrayList;
import java.util.List;

/**
 * Single-scale accuracy of an {@link InferenceTarget} on a VOC-layout split (mean IoU and pixel
 * accuracy), and how far two targets' predictions agree: what a faster setting (bf16, another
 * atrous form) costs in quality.
 *
 * @param meanIou mean intersection over union
 * @param pixelAccuracy fraction of non-ignored pixels predicted right
 * @param predictions class ids per image, in split order
 */
public record AccuracyCheck(double meanIou, double pixelAccuracy, List<int[]> predictions) {

  /** Predicts every image of {@code dataset} with {@code target} and scores it. */
  public static AccuracyCheck run(InferenceTarget target, VocDataset dataset)
      throws DatasetException {
    int classes = target.config().numClasses();
    ConfusionMatrix cm = new ConfusionMatrix(classes, VocDataset.VOC_IGNORE_LABEL);
    List<int[]> predictions = new ArrayList<>();
    for (VocDataset.Sample s : dataset.samples()) {
      VocDataset.LoadedSample l = dataset.load(s, classes, VocDataset.VOC_IGNORE_LABEL);
      int[] ids = target.segment(l.image().rgb(), l.image().width(), l.image().height(), 1);
      cm.add(l.label().toIntArray(), ids);
      predictions.add(ids);
    }
    return new AccuracyCheck(cm.meanIou(), cm.pixelAccuracy(), predictions);
  }

  /** The fraction of pixels on which this and {@code other} (same images) predict the same class. */
  public double agreementWith(AccuracyCheck other) {
    long same = 0;
    long total = 0;
    for (int i = 0; i < predictions.size(); i++) {
      int[] a = predictions.get(i);
      int[] b = other.predictions.get(i);
      for (int p = 0; p < a.length; p++) {
        if (a[p] == b[p]) {
          same++;
        }
      }
      total += a.length;
    }
    return total == 0 ? 1 : (double) same / total;
  }
}
