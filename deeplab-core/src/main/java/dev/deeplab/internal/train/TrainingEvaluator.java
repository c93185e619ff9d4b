package dev.deeplab.internal.train;

import dev.deeplab.data.DatasetException;
import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.image.RgbImage;
import java.util.List;

/**
 * Evaluation during training, as the official {@code eval.py}: each image of a split is resized
 * when a {@link ResizeToRange} is set, padded at the bottom/right with the mean pixel to the evaluation size (no scaling, no crop), run through
 * the inference-mode network of the {@link TrainingGraph}, and its arg-max over the image region
 * (mapped back to the original size by nearest neighbour after a resize, as the official {@code
 * export_model.py} does) counted in a {@link ConfusionMatrix} (ignore-label pixels skipped; mean IoU as {@code
 * tf.metrics.mean_iou}).
 */
public final class TrainingEvaluator {
  private final SegmentationDataset dataset;
  private final List<? extends SegmentationDataset.Sample> samples;
  private final int numClasses;
  private final int ignoreLabel;
  private final ResizeToRange resize;

  /**
   * @param dataset the split to evaluate
   * @param numClasses class count
   * @param ignoreLabel label excluded from the metrics
   * @param resize the resize applied to each image before prediction
   * @throws DatasetException if the split's listing cannot be read or is empty
   */
  public TrainingEvaluator(SegmentationDataset dataset, int numClasses, int ignoreLabel,
      ResizeToRange resize) throws DatasetException {
    this.dataset = dataset;
    this.samples = dataset.samples();
    this.numClasses = numClasses;
    this.ignoreLabel = ignoreLabel;
    this.resize = resize;
  }

  /**
   * The evaluation input size for a split: the smallest {@code outputStride * k + 1} at least as
   * large as every (resized) image in both directions (the official advice for {@code
   * eval_crop_size}; 513×513 for PASCAL VOC). Reads only the image headers.
   *
   * @return {@code {height, width}}
   */
  public int[] evalSize(int outputStride) throws DatasetException {
    int h = 1;
    int w = 1;
    for (SegmentationDataset.Sample s : samples) {
      SegmentationDataset.ImageSize size = dataset.imageSize(s);
      int[] resized = resize.outputSize(size.height(), size.width());
      h = Math.max(h, resized[0]);
      w = Math.max(w, resized[1]);
    }
    return new int[] {roundUp(h, outputStride), roundUp(w, outputStride)};
  }

  private static int roundUp(int size, int stride) {
    return (size - 1 + stride - 1) / stride * stride + 1;
  }

  /** Number of images evaluated. */
  public int size() {
    return samples.size();
  }

  /** Evaluates the current weights of {@code graph} over the whole split. */
  public ConfusionMatrix evaluate(TrainingGraph graph) throws DatasetException {
    int eh = graph.evalHeight();
    int ew = graph.evalWidth();
    float[] mean = graph.config().model().variant().meanPixel();
    ConfusionMatrix cm = new ConfusionMatrix(numClasses, ignoreLabel);
    float[] pixels = new float[eh * ew * 3];
    for (SegmentationDataset.Sample s : samples) {
      SegmentationDataset.LoadedSample loaded = dataset.load(s, numClasses, ignoreLabel);
      RgbImage image = resize.resize(loaded.image());
      int h = image.height();
      int w = image.width();
      if (h > eh || w > ew) {
        throw new DatasetException(s.location() + ": image is " + w + "x" + h
            + ", larger than the evaluation size " + ew + "x" + eh);
      }
      pad(image, mean, eh, ew, pixels);
      int[] predicted = graph.predict(pixels);
      int[] region = new int[h * w];
      for (int y = 0; y < h; y++) {
        System.arraycopy(predicted, y * ew, region, y * w, w);
      }
      LabelMap label = loaded.label();
      LabelMap prediction = ResizeToRange.resizeNearest(LabelMap.ofInts(w, h, region),
          label.width(), label.height());
      cm.add(label.toIntArray(), prediction.toIntArray());
    }
    return cm;
  }

  /** Writes the image at the top-left of an {@code eh x ew} canvas of the mean pixel. */
  static void pad(RgbImage image, float[] mean, int eh, int ew, float[] out) {
    byte[] rgb = image.rgb();
    int h = image.height();
    int w = image.width();
    int p = 0;
    for (int y = 0; y < eh; y++) {
      for (int x = 0; x < ew; x++) {
        if (y < h && x < w) {
          int i = (y * w + x) * 3;
          out[p++] = rgb[i] & 0xFF;
          out[p++] = rgb[i + 1] & 0xFF;
          out[p++] = rgb[i + 2] & 0xFF;
        } else {
          out[p++] = mean[0];
          out[p++] = mean[1];
          out[p++] = mean[2];
        }
      }
    }
  }
}
