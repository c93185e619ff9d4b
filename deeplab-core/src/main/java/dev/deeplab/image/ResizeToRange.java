package dev.deeplab.image;

import dev.deeplab.internal.infer.Resampling;

/**
 * The optional resize of the official input preprocessing, {@code preprocess_utils.resize_to_range}
 * as {@code input_preprocess.preprocess_image_and_label} calls it with the {@code
 * min_resize_value}, {@code max_resize_value} and {@code resize_factor} flags (tensorflow/models
 * {@code research/deeplab/core/preprocess_utils.py}): the image is scaled so that its shorter side
 * becomes {@code minSize}, unless the longer side would then exceed {@code maxSize}, in which case
 * the longer side becomes {@code maxSize}; with a {@code factor}, both sides are then rounded up to
 * a multiple of {@code factor} plus one (and {@code maxSize} is first lowered so that the rounded
 * sides stay within it). Photos are resized bilinearly and labels by nearest neighbour, both with
 * {@code align_corners=True}. The official ADE20K setup uses {@code 513, 513, 16}.
 *
 * <p>Training resizes the photo and label before the random scaling; evaluation and {@code
 * segment} resize the photo, predict, and map the prediction back to the original size by nearest
 * neighbour, as the official {@code export_model.py} does.
 *
 * <p>Photos are rounded to 8 bits after resizing (TF keeps floats), so pixels may differ from the
 * official pipeline by up to half a level.
 *
 * @param minSize the shorter side after resizing ({@code min_resize_value}); 0 for no resize
 * @param maxSize the longest allowed side ({@code max_resize_value}); 0 for no limit
 * @param factor sides become multiples of this plus one ({@code resize_factor}); 0 for none
 */
public record ResizeToRange(int minSize, int maxSize, int factor) {

  /** Validates: non-negative values; a limit or factor needs {@code minSize}, as in TF. */
  public ResizeToRange {
    if (minSize < 0 || maxSize < 0 || factor < 0) {
      throw new IllegalArgumentException("resize values must be >= 0, got min " + minSize
          + ", max " + maxSize + ", factor " + factor);
    }
    if (minSize == 0 && (maxSize > 0 || factor > 0)) {
      throw new IllegalArgumentException(
          "a maximum resize value or resize factor needs a minimum resize value");
    }
    if (maxSize > 0 && maxSize < minSize) {
      throw new IllegalArgumentException(
          "maximum resize value " + maxSize + " is below the minimum " + minSize);
    }
  }

  /** No resize. */
  public static ResizeToRange none() {
    return new ResizeToRange(0, 0, 0);
  }

  /** Whether this resizes at all. */
  public boolean resizes() {
    return minSize > 0;
  }

  /**
   * The size an image of {@code height x width} is resized to, computed in float32 as TF does.
   *
   * @return {@code {height, width}}; the input size when this does not resize
   */
  public int[] outputSize(int height, int width) {
    if (!resizes()) {
      return new int[] {height, width};
    }
    float h = height;
    float w = width;
    float max = maxSize;
    if (maxSize > 0 && factor > 0) {
      max = max + (factor - (max - 1) % factor) % factor - factor;
    }
    float large = (float) minSize / Math.min(h, w);
    int[] size = {ceil(h * large), ceil(w * large)};
    if (maxSize > 0 && Math.max(size[0], size[1]) > max) {
      float small = max / Math.max(h, w);
      size = new int[] {ceil(h * small), ceil(w * small)};
    }
    if (factor > 0) {
      for (int i = 0; i < 2; i++) {
        size[i] += (factor - (size[i] - 1) % factor) % factor;
      }
    }
    return size;
  }

  private static int ceil(float v) {
    return (int) Math.ceil(v);
  }

  /** The photo resized bilinearly with aligned corners; the same instance when no resize. */
  public RgbImage resize(RgbImage image) {
    int[] hw = outputSize(image.height(), image.width());
    if (hw[0] == image.height() && hw[1] == image.width()) {
      return image;
    }
    return new RgbImage(hw[1], hw[0],
        Resampling.bilinearRgb(image.rgb(), image.width(), image.height(), hw[1], hw[0]));
  }

  /** The label resized by nearest neighbour with aligned corners; the same when no resize. */
  public LabelMap resize(LabelMap label) {
    int[] hw = outputSize(label.height(), label.width());
    return resizeNearest(label, hw[1], hw[0]);
  }

  /**
   * Class ids resized by nearest neighbour with aligned corners ({@code
   * resize_nearest_neighbor(align_corners=True)}), e.g. a prediction made on a resized photo mapped
   * back to the photo's original size.
   */
  public static LabelMap resizeNearest(LabelMap ids, int width, int height) {
    if (ids.width() == width && ids.height() == height) {
      return ids;
    }
    return LabelMap.ofInts(width, height,
        Resampling.nearest(ids.toIntArray(), ids.width(), ids.height(), width, height));
  }
}
