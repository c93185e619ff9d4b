package dev.deeplab.train;

import java.util.List;

/**
 * How the per-pixel loss is weighted, as the official {@code
 * train_utils.add_softmax_cross_entropy_loss_for_each_scale} does it.
 *
 * <p>Immutable and thread-safe.
 *
 * @param ignoreLabel label value whose pixels get weight 0 ({@code ignore_label}, 255 for VOC)
 * @param classWeights per-class loss weights indexed by class id ({@code loss_weight} as a list);
 *     empty for weight 1 everywhere
 * @param topKPercentPixels fraction of the hardest pixels kept ({@code top_k_percent_pixels}); 1
 *     keeps all
 * @param hardExampleMiningStep steps over which the kept fraction ramps linearly from 1 down to
 *     {@code topKPercentPixels} ({@code hard_example_mining_step}); 0 applies it from the start
 */
public record LossConfig(
    int ignoreLabel, List<Double> classWeights, double topKPercentPixels, int hardExampleMiningStep) {

  /** Validates the ranges. */
  public LossConfig {
    if (ignoreLabel < 0 || ignoreLabel > 255) {
      throw new IllegalArgumentException("ignore label must be 0..255, got " + ignoreLabel);
    }
    classWeights = List.copyOf(classWeights);
    if (classWeights.stream().anyMatch(w -> !(w >= 0) || Double.isInfinite(w))) {
      throw new IllegalArgumentException("class weights must be finite and non-negative: " + classWeights);
    }
    if (!(topKPercentPixels > 0 && topKPercentPixels <= 1)) {
      throw new IllegalArgumentException(
          "top-k percent pixels must be in (0, 1], got " + topKPercentPixels);
    }
    if (hardExampleMiningStep < 0) {
      throw new IllegalArgumentException(
          "hard example mining step must be >= 0, got " + hardExampleMiningStep);
    }
  }

  /** The official defaults: ignore 255, uniform weights, no hard-pixel mining. */
  public static LossConfig defaults() {
    return new LossConfig(255, List.of(), 1.0, 0);
  }

  /** A copy with another ignore label. */
  public LossConfig withIgnoreLabel(int label) {
    return new LossConfig(label, classWeights, topKPercentPixels, hardExampleMiningStep);
  }

  /** A copy with per-class weights. */
  public LossConfig withClassWeights(List<Double> weights) {
    return new LossConfig(ignoreLabel, weights, topKPercentPixels, hardExampleMiningStep);
  }

  /** A copy with hard-pixel mining. */
  public LossConfig withHardPixelMining(double topK, int rampSteps) {
    return new LossConfig(ignoreLabel, classWeights, topK, rampSteps);
  }

  /** True when only the hardest pixels count. */
  public boolean minesHardPixels() {
    return topKPercentPixels < 1.0;
  }
}
