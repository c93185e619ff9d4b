package dev.deeplab.internal.train;

import dev.deeplab.internal.nn.Role;
import dev.deeplab.train.TrainConfig;

/**
 * The gradient multipliers of the official {@code train_utils.get_model_gradient_multipliers}:
 * biases ×2; a variable whose name contains one of the last-layer scopes ({@link
 * TrainConfig#lastLayers}) ×{@code last_layer_gradient_multiplier}, its biases ×2 that. The
 * official code tests {@code layer in var.op.name}, a substring match, reproduced here. The
 * multiplier applies to the whole gradient, weight decay included.
 */
public final class GradientMultipliers {
  private GradientMultipliers() {}

  /** The multiplier of variable {@code name}. */
  public static float of(String name, Role role, TrainConfig config) {
    boolean bias = role == Role.BIASES;
    for (String layer : config.lastLayers()) {
      if (name.contains(layer)) {
        double m = config.lastLayerGradientMultiplier();
        return (float) (bias ? 2 * m : m);
      }
    }
    return bias ? 2f : 1f;
  }
}
