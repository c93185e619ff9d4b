package dev.deeplab.data;

import dev.deeplab.data.SegmentationDataset.ImageSize;
import dev.deeplab.data.SegmentationDataset.LoadedSample;
import dev.deeplab.data.SegmentationDataset.Sample;
import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.image.ImageHeader;
import dev.deeplab.internal.image.LabelReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * Loading and checking of a photo with its label PNG, shared by the layouts that keep them as
 * files ({@link VocDataset}, {@link CityscapesDataset}, {@link Ade20kDataset}), and the checks
 * every dataset applies to a decoded pair ({@link TfRecordDataset} too).
 */
final class LabeledFiles {
  private final ImageReader imageReader;
  private final LabelReader labelReader;

  LabeledFiles(long maxPixels) {
    this.imageReader = new ImageReader(maxPixels);
    this.labelReader = new LabelReader(maxPixels);
  }

  long maxPixels() {
    return imageReader.maxPixels();
  }

  /**
   * Decodes {@code image} and {@code label}, maps the label's values with {@code toTrainIds}
   * (identity for most layouts), and checks the pair.
   *
   * @param toTrainIds maps the decoded label (file values) to training class ids; may throw a
   *     {@link DatasetException}-worthy {@link IllegalArgumentException} with a one-line message
   */
  LoadedSample load(Sample sample, Path image, Path label, UnaryOperator<LabelMap> toTrainIds,
      int numClasses, int ignoreLabel) throws DatasetException {
    checkRange(numClasses, ignoreLabel);
    if (!Files.exists(image)) {
      throw new DatasetException(image + ": image not found (sample " + sample.id() + ")");
    }
    if (!Files.exists(label)) {
      throw new DatasetException(label + ": label not found (sample " + sample.id() + ")");
    }
    RgbImage rgb;
    LabelMap ids;
    try {
      rgb = imageReader.read(image);
      ids = labelReader.read(label);
    } catch (ImageFormatException e) {
      throw new DatasetException(e.getMessage(), e);
    }
    try {
      ids = toTrainIds.apply(ids);
    } catch (IllegalArgumentException e) {
      throw new DatasetException(label + ": " + e.getMessage(), e);
    }
    return checked(sample, label.toString(), image.getFileName().toString(), rgb, ids,
        numClasses, ignoreLabel);
  }

  /** The size of a photo file from its header. */
  ImageSize imageSize(Path image) throws DatasetException {
    try {
      ImageHeader header = ImageHeader.read(image, imageReader.maxPixels());
      return new ImageSize(header.width(), header.height());
    } catch (ImageFormatException e) {
      throw new DatasetException(e.getMessage(), e);
    }
  }

  /**
   * Checks a decoded pair: same size, values in {@code [0, numClasses)} or the ignore label.
   *
   * @param labelName names the label in messages
   * @param imageName names the photo in messages
   */
  static LoadedSample checked(Sample sample, String labelName, String imageName, RgbImage image,
      LabelMap label, int numClasses, int ignoreLabel) throws DatasetException {
    String problem = sizeProblem(labelName, imageName, image.width(), image.height(), label);
    if (problem == null) {
      problem = valueProblem(labelName, label, numClasses, ignoreLabel);
    }
    if (problem != null) {
      throw new DatasetException(problem);
    }
    return new LoadedSample(sample, image, label);
  }

  static void checkRange(int numClasses, int ignoreLabel) {
    if (numClasses < 1 || numClasses > 256) {
      throw new IllegalArgumentException("numClasses must be 1..256, got " + numClasses);
    }
    if (ignoreLabel < 0 || ignoreLabel > 255) {
      throw new IllegalArgumentException("ignoreLabel must be 0..255, got " + ignoreLabel);
    }
  }

  /** Describes a label whose size differs from the image's, or returns {@code null}. */
  static String sizeProblem(String labelName, String imageName, int width, int height,
      LabelMap label) {
    if (label.width() == width && label.height() == height) {
      return null;
    }
    return labelName + ": label is " + label.width() + "x" + label.height() + " but image "
        + imageName + " is " + width + "x" + height;
  }

  /** Describes out-of-range label values, or returns {@code null} if all are valid. */
  static String valueProblem(String labelName, LabelMap label, int numClasses, int ignoreLabel) {
    long[] histogram = label.histogram();
    StringBuilder bad = new StringBuilder();
    int badValues = 0;
    for (int v = numClasses; v < histogram.length; v++) {
      if (histogram[v] == 0 || v == ignoreLabel) {
        continue;
      }
      if (badValues < 5) {
        bad.append(badValues == 0 ? "" : ", ").append(v).append(" (").append(histogram[v]).append(" px)");
      }
      badValues++;
    }
    if (badValues == 0) {
      return null;
    }
    if (badValues > 5) {
      bad.append(", and ").append(badValues - 5).append(" more");
    }
    return labelName + ": label values " + bad + " outside 0.." + (numClasses - 1)
        + " and not the ignore label " + ignoreLabel;
  }
}
