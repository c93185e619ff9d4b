package dev.deeplab.model;

import java.util.List;

/**
 * How an exported model runs inference, baked into its serving graph: the official export's
 * multi-scale and flipped inference ({@code export_model.py --inference_scales
 * --add_flipped_images}, {@code model.py predict_labels_multi_scale}: the softmax is averaged over
 * every scale and flip before the argmax), and the largest encoded image the serving signature
 * decodes. Immutable and thread-safe.
 *
 * @param inferenceScales image scales, each in (0, 4]; {@code [1.0]} is single-scale inference
 * @param flip also average the prediction on the left-right flipped image
 * @param maxPixels the largest {@code width * height} of an encoded image the {@code
 *     serving_default} signature accepts, read from its header before decoding
 */
public record ServingOptions(List<Double> inferenceScales, boolean flip, long maxPixels) {
  /** The default pixel limit: 8192 &times; 8192 (about 190 MB of decoded RGB). */
  public static final long DEFAULT_MAX_PIXELS = 8192L * 8192L;

  /** Validates the values and copies the list. */
  public ServingOptions {
    inferenceScales = List.copyOf(inferenceScales);
    if (inferenceScales.isEmpty()
        || inferenceScales.stream().anyMatch(s -> !(s > 0 && s <= 4))) {
      throw new IllegalArgumentException("inference scales must be in (0, 4], got "
          + inferenceScales);
    }
    if (maxPixels < 1) {
      throw new IllegalArgumentException("the pixel limit must be positive, got " + maxPixels);
    }
  }

  /** Single-scale inference without flipping, the default pixel limit. */
  public static ServingOptions defaults() {
    return new ServingOptions(List.of(1.0), false, DEFAULT_MAX_PIXELS);
  }

  /** True for plain single-scale inference (scale 1, no flip), the official export's default. */
  public boolean singleScale() {
    return inferenceScales.equals(List.of(1.0)) && !flip;
  }

  /** The same options with other scales and flipping. */
  public ServingOptions withScales(List<Double> scales, boolean flipped) {
    return new ServingOptions(scales, flipped, maxPixels);
  }

  /** The same options with another pixel limit. */
  public ServingOptions withMaxPixels(long limit) {
    return new ServingOptions(inferenceScales, flip, limit);
  }
}
