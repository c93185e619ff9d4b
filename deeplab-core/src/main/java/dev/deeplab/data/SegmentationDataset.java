package dev.deeplab.data;

import dev.deeplab.image.LabelMap;
import dev.deeplab.image.RgbImage;
import java.util.List;

/**
 * One split of a semantic-segmentation dataset: a fixed list of samples, each a photo with its
 * per-pixel class ids. It plays the part of the official {@code
 * research/deeplab/datasets/data_generator.py} {@code Dataset} (tensorflow/models) for training,
 * evaluation during training and {@code deeplab eval}; the implementations read the layouts users
 * have: {@link VocDataset} (PASCAL VOC), {@link CityscapesDataset}, {@link Ade20kDataset} and
 * {@link TfRecordDataset} (the official converters' TFRecord shards).
 *
 * <p>{@link #load} returns labels as training class ids (Cityscapes label ids already mapped to
 * train ids) and checks them: same size as the photo, every value in {@code [0, numClasses)} or
 * the ignore label. Every problem is a {@link DatasetException} with a one-line message naming the
 * file (and record), so a training loop can report or skip it.
 *
 * <p>Implementations are immutable and thread-safe: samples load concurrently.
 */
public interface SegmentationDataset {

  /** One sample of a dataset; only the dataset that listed it can {@link #load} it. */
  interface Sample {
    /** An id unique within the dataset, e.g. {@code 2007_000033} or a file name. */
    String id();

    /** Where the sample is, for messages: a file, or a file and record index. */
    String location();
  }

  /**
   * A decoded sample whose label matches its image in size and holds only valid values.
   *
   * @param sample where it came from
   * @param image the photo
   * @param label the training class ids, same size as {@code image}
   */
  record LoadedSample(Sample sample, RgbImage image, LabelMap label) {}

  /**
   * An image size read from the file header, without decoding.
   *
   * @param width width in pixels
   * @param height height in pixels
   */
  record ImageSize(int width, int height) {}

  /** What the dataset is, for messages and logs, e.g. {@code cityscapes split 'val' of /data}. */
  String description();

  /**
   * The samples in a fixed order. Only listings (split files, directories, record framing) are
   * read; photos and labels are checked when {@link #load loaded}.
   *
   * @throws DatasetException if the listing is missing, unreadable or empty
   */
  List<? extends Sample> samples() throws DatasetException;

  /**
   * Decodes a sample and checks it: the label the same size as the image, label values in {@code
   * [0, numClasses)} or equal to {@code ignoreLabel}.
   *
   * @param sample one of {@link #samples()}
   * @throws DatasetException with a one-line message naming the offending file
   * @throws IllegalArgumentException if {@code sample} is not from this dataset, or the class
   *     count or ignore label is out of range
   */
  LoadedSample load(Sample sample, int numClasses, int ignoreLabel) throws DatasetException;

  /**
   * The size of a sample's photo from its header (the pixel limit applied), without decoding.
   *
   * @throws DatasetException with a one-line message naming the file if it cannot be read
   */
  ImageSize imageSize(Sample sample) throws DatasetException;
}
