package dev.deeplab.train;

/**
 * The optimizer of the official {@code train.py} ({@code --optimizer momentum|adam}):
 *
 * <ul>
 *   <li>{@link Kind#MOMENTUM}: {@code tf.train.MomentumOptimizer(learning_rate, momentum)} with
 *       the {@link LearningRateSchedule}; slots {@code <var>/Momentum};
 *   <li>{@link Kind#ADAM}: {@code tf.train.AdamOptimizer(adam_learning_rate, beta1=0.9,
 *       beta2=0.999, epsilon=adam_epsilon)} (Kingma &amp; Ba, "Adam", 2015). As in the official
 *       code its rate is the constant {@code adamLearningRate}: the schedule does not apply.
 *       Slots {@code <var>/Adam}, {@code <var>/Adam_1} and the variables {@code beta1_power},
 *       {@code beta2_power}, as TF1 names them.
 * </ul>
 *
 * <p>Immutable and thread-safe.
 *
 * @param kind which optimizer
 * @param momentum {@code momentum} (0.9)
 * @param adamLearningRate {@code adam_learning_rate} (0.001)
 * @param adamEpsilon {@code adam_epsilon} (1e-8)
 */
public record Optimizer(Kind kind, double momentum, double adamLearningRate, double adamEpsilon) {

  /** Adam's first-moment decay, TF1's default. */
  public static final double ADAM_BETA1 = 0.9;
  /** Adam's second-moment decay, TF1's default. */
  public static final double ADAM_BETA2 = 0.999;

  /** The two optimizers of the official flags. */
  public enum Kind {
    /** Momentum SGD, the official default. */
    MOMENTUM,
    /** Adam with a constant rate. */
    ADAM
  }

  /** Validates the ranges. */
  public Optimizer {
    if (kind == null) {
      throw new IllegalArgumentException("an optimizer kind is required");
    }
    if (!(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
    }
    if (!(adamLearningRate > 0) || Double.isInfinite(adamLearningRate)) {
      throw new IllegalArgumentException("Adam learning rate must be positive, got "
          + adamLearningRate);
    }
    if (!(adamEpsilon > 0)) {
      throw new IllegalArgumentException("Adam epsilon must be positive, got " + adamEpsilon);
    }
  }

  /** Momentum 0.9, the official default. */
  public static Optimizer momentum(double momentum) {
    return new Optimizer(Kind.MOMENTUM, momentum, 0.001, 1e-8);
  }

  /** Adam with a constant rate and epsilon. */
  public static Optimizer adam(double learningRate, double epsilon) {
    return new Optimizer(Kind.ADAM, 0.9, learningRate, epsilon);
  }
}
