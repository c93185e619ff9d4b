package dev.deeplab.train;

import java.util.ArrayList;
import java.util.List;

/**
 * The random training augmentation of the official {@code input_preprocess.preprocess_image_and_label}:
 * a random scale from a discrete set, padding to the crop size (mean pixel / ignore label), a
 * random crop and a random left-right flip.
 *
 * <p>Immutable and thread-safe.
 *
 * @param minScale smallest scale ({@code min_scale_factor}, 0.5)
 * @param maxScale largest scale ({@code max_scale_factor}, 2.0)
 * @param scaleStep spacing of the scales ({@code scale_factor_step_size}, 0.25); 0 for a
 *     continuous uniform scale
 * @param flip random left-right flip with probability 0.5
 */
public record Augmentation(double minScale, double maxScale, double scaleStep, boolean flip) {

  /** Validates the ranges. */
  public Augmentation {
    if (!(minScale > 0) || !(maxScale >= minScale) || Double.isInfinite(maxScale)) {
      throw new IllegalArgumentException(
          "scales must satisfy 0 < min <= max, got " + minScale + ".." + maxScale);
    }
    if (!(scaleStep >= 0)) {
      throw new IllegalArgumentException("scale step must be >= 0, got " + scaleStep);
    }
  }

  /** The official training augmentation: scales 0.5..2.0 in steps of 0.25, flips. */
  public static Augmentation official() {
    return new Augmentation(0.5, 2.0, 0.25, true);
  }

  /** No augmentation: scale 1, no flip (only padding and the crop). */
  public static Augmentation none() {
    return new Augmentation(1.0, 1.0, 0, false);
  }

  /**
   * The discrete scales, as {@code preprocess_utils.get_random_scale}: {@code linspace(min, max,
   * int((max - min) / step + 1))}; a single value when min equals max; empty when the scale is
   * continuous (step 0).
   */
  public List<Double> scales() {
    List<Double> out = new ArrayList<>();
    if (minScale == maxScale) {
      out.add(minScale);
      return out;
    }
    if (scaleStep == 0) {
      return out;
    }
    int n = (int) ((maxScale - minScale) / scaleStep + 1);
    for (int i = 0; i < n; i++) {
      out.add(n == 1 ? minScale : minScale + (maxScale - minScale) * i / (n - 1));
    }
    return out;
  }
}
