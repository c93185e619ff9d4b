package dev.deeplab.internal.nn;

/**
 * What a model variable is for: decides trainability, weight decay and gradient multipliers as the
 * official training code does ({@code utils/train_utils.py}, slim arg scopes).
 */
public enum Role {
  /** Conv kernel {@code weights}: trained, L2-regularised. */
  WEIGHTS(true, true),
  /** Depthwise kernel {@code depthwise_weights}: trained, not regularised (regularize_depthwise=False). */
  DEPTHWISE_WEIGHTS(true, false),
  /** {@code biases}: trained (the official code doubles their gradient). */
  BIASES(true, false),
  /** Batch-norm {@code gamma}. */
  BN_GAMMA(true, false),
  /** Batch-norm {@code beta}. */
  BN_BETA(true, false),
  /** Batch-norm {@code moving_mean}: updated by assignment, not by gradients. */
  BN_MOVING_MEAN(false, false),
  /** Batch-norm {@code moving_variance}: updated by assignment, not by gradients. */
  BN_MOVING_VARIANCE(false, false);

  private final boolean trainable;
  private final boolean regularized;

  Role(boolean trainable, boolean regularized) {
    this.trainable = trainable;
    this.regularized = regularized;
  }

  public boolean trainable() {
    return trainable;
  }

  public boolean regularized() {
    return regularized;
  }
}
