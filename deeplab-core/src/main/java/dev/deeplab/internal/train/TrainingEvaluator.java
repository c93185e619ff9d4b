package dev.deeplab.internal.train;

import dev.deeplab.data.DatasetException;
import dev.deeplab.data.VocDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.image.ImageHeader;
import java.util.List;

/**
 * Evaluation during training, as the official {@code eval.py}: each image of a split is padded at
 * the bottom/right with the mean pixel to the evaluation size (no scaling, no crop), run through
 * the inference-mode network of the {@link TrainingGraph}, and its arg-max over the image region
 * counted in a {@link ConfusionMatrix} (ignore-label pixels skipped; mean IoU as {@code
 * tf.metrics.mean_iou}).
 */
public final class TrainingEvaluator {
  private final VocDataset dataset;
  private final List<VocDataset.Sample> samples;
  private final int numClasses;
  private final int ignoreLabel;

  /**
   * @param dataset the split to evaluate
   * @param numClasses class count
   * @param ignoreLabel label excluded from the metrics
   * @throws DatasetException if the split file cannot be read or is empty
   */
  public TrainingEvaluator(VocDataset dataset, int numClasses, int ignoreLabel) throws DatasetException {
    this.dataset = dataset;
    this.samples = dataset.samples();
    this.numClasses = numClasses;
    this.ignoreLabel = ignoreLabel;
  }

  /**
   * The evaluation input size for a split: the smallest {@code outputStride * k + 1} at least as
   * large as every image in both directions (the official advice for {@code eval_crop_size};
   * 513×513 for PASCAL VOC). Reads only the image headers.
   *
   * @return {@code {height, width}}
   */
  public int[] evalSize(int outputStride) throws DatasetException {
    ImageReader reader = new ImageReader();
    int h = 1;
    int w = 1;
    for (VocDataset.Sample s : samples) {
      try {
        ImageHeader header = ImageHeader.read(s.image(), reader.maxPixels());
        h = Math.max(h, header.height());
        w = Math.max(w, header.width());
      } catch (ImageFormatException e) {
        throw new DatasetException(e.getMessage(), e);
      }
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
    for (VocDataset.Sample s : samples) {
      VocDataset.LoadedSample loaded = dataset.load(s, numClasses, ignoreLabel);
      RgbImage image = loaded.image();
      int h = image.height();
      int w = image.width();
      if (h > eh || w > ew) {
        throw new DatasetException(s.image() + ": image is " + w + "x" + h
            + ", larger than the evaluation size " + ew + "x" + eh);
      }
      pad(image, mean, eh, ew, pixels);
      int[] predicted = graph.predict(pixels);
      int[] region = new int[h * w];
      for (int y = 0; y < h; y++) {
        System.arraycopy(predicted, y * ew, region, y * w, w);
      }
      cm.add(loaded.label().toIntArray(), region);
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
