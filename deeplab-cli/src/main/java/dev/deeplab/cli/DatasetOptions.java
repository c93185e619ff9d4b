package dev.deeplab.cli;

import dev.deeplab.data.Ade20kDataset;
import dev.deeplab.data.CityscapesDataset;
import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.data.TfRecordDataset;
import dev.deeplab.data.VocDataset;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.model.LabelSet;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * {@code --dataset} and the {@code resize_to_range} options shared by {@code train}, {@code eval}
 * and {@code segment}: the dataset names the layout of {@code --data}, the classes, ignore label
 * and palette, and the official crop and resize defaults ({@code research/deeplab/
 * datasets/data_generator.py}, {@code g3doc/cityscapes.md}, {@code g3doc/ade20k.md},
 * {@code g3doc/faq.md} in tensorflow/models); each resize option given overrides its default.
 */
final class DatasetOptions {
  /** The datasets of the official code and their recipes. */
  enum Kind {
    PASCAL_VOC_SEG(LabelSet.PASCAL_VOC, 513, 513, 513, 513, ResizeToRange.none()),
    CITYSCAPES(LabelSet.CITYSCAPES, 769, 769, 1025, 2049, ResizeToRange.none()),
    ADE20K(LabelSet.ADE20K, 513, 513, 513, 513, new ResizeToRange(513, 513, 16));

    final LabelSet labels;
    final int trainCropHeight;
    final int trainCropWidth;
    final int evalCropHeight;
    final int evalCropWidth;
    final ResizeToRange resize;

    Kind(LabelSet labels, int trainCropHeight, int trainCropWidth, int evalCropHeight,
        int evalCropWidth, ResizeToRange resize) {
      this.labels = labels;
      this.trainCropHeight = trainCropHeight;
      this.trainCropWidth = trainCropWidth;
      this.evalCropHeight = evalCropHeight;
      this.evalCropWidth = evalCropWidth;
      this.resize = resize;
    }

    static Kind of(String name) {
      return switch (name.strip().toLowerCase(Locale.ROOT).replace('-', '_')) {
        case "pascal_voc_seg", "pascal_voc", "voc" -> PASCAL_VOC_SEG;
        case "cityscapes" -> CITYSCAPES;
        case "ade20k" -> ADE20K;
        default -> throw new UsageError("--dataset " + name
            + ": expected pascal_voc_seg, cityscapes or ade20k");
      };
    }
  }

  @Option(names = "--dataset", paramLabel = "NAME", description = "pascal_voc_seg (default), "
      + "cityscapes or ade20k: the layout of --data (VOC: JPEGImages, SegmentationClass, "
      + "ImageSets; Cityscapes: leftImg8bit, gtFine; ADE20K: ADEChallengeData2016 images, "
      + "annotations), the classes, ignore label and colours, and the official crop and resize "
      + "defaults. A --data glob such as 'dir/train-*.tfrecord' reads TFRecord shards of any "
      + "dataset.")
  String dataset;

  @Option(names = "--min-resize-value", paramLabel = "N",
      description = "resize_to_range: scale the shorter side to N (default: 513 for ade20k).")
  Integer minResize;

  @Option(names = "--max-resize-value", paramLabel = "N",
      description = "resize_to_range: longest side at most N (default: 513 for ade20k).")
  Integer maxResize;

  @Option(names = "--resize-factor", paramLabel = "N",
      description = "resize_to_range: sides a multiple of N plus 1 (default: 16 for ade20k).")
  Integer resizeFactor;

  /** The named dataset, or null when --dataset is not given. */
  Kind kind() {
    return dataset == null ? null : Kind.of(dataset);
  }

  /** The named dataset, or PASCAL VOC. */
  Kind kindOrVoc() {
    Kind k = kind();
    return k == null ? Kind.PASCAL_VOC_SEG : k;
  }

  /** The dataset's label set, or null when --dataset is not given. */
  LabelSet labels() {
    Kind k = kind();
    return k == null ? null : k.labels;
  }

  /** The resize: the options given, else the dataset's defaults. */
  ResizeToRange resize() {
    ResizeToRange d = kindOrVoc().resize;
    try {
      return new ResizeToRange(minResize != null ? minResize : d.minSize(),
          maxResize != null ? maxResize : d.maxSize(),
          resizeFactor != null ? resizeFactor : d.factor());
    } catch (IllegalArgumentException e) {
      throw new UsageError("--min-resize-value/--max-resize-value/--resize-factor: "
          + e.getMessage());
    }
  }

  /** The split of {@code data}: TFRecord shards for a glob, else the dataset's own layout. */
  SegmentationDataset open(Path data, String split) {
    String d = data.toString();
    if (TfRecordDataset.isPattern(d)) {
      try {
        return new TfRecordDataset(d);
      } catch (IllegalArgumentException e) {
        throw new UsageError(e.getMessage());
      }
    }
    try {
      return switch (kindOrVoc()) {
        case PASCAL_VOC_SEG -> new VocDataset(data, split);
        case CITYSCAPES -> new CityscapesDataset(data, split);
        case ADE20K -> new Ade20kDataset(data, split);
      };
    } catch (IllegalArgumentException e) {
      throw new UsageError(e.getMessage());
    }
  }
}
