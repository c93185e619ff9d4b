package dev.deeplab.internal.train;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * The official "poly" learning-rate policy ({@code train_utils.get_model_learning_rate} with
 * {@code learning_policy='poly'}; Liu et al., "ParseNet", 2015): {@code base * (1 - s / d)^power}
 * with {@code s = min(max(step - slowStart, 0), d)} and {@code d = totalSteps - slowStart},
 * {@code tf.train.polynomial_decay} with end rate 0. Before {@code slowStartSteps} the rate is
 * {@code slowStartRate}.
 *
 * @param baseRate {@code base_learning_rate}
 * @param totalSteps {@code training_number_of_steps}
 * @param power {@code learning_power} (0.9)
 * @param slowStartSteps {@code slow_start_step} (0 for none)
 * @param slowStartRate {@code slow_start_learning_rate}
 */
public record PolyLearningRate(
    double baseRate, long totalSteps, double power, long slowStartSteps, double slowStartRate) {

  /** Validates the ranges. */
  public PolyLearningRate {
    if (!(baseRate > 0) || Double.isInfinite(baseRate)) {
      throw new IllegalArgumentException("base learning rate must be positive, got " + baseRate);
    }
    if (totalSteps < 1) {
      throw new IllegalArgumentException("total steps must be positive, got " + totalSteps);
    }
    if (!(power >= 0)) {
      throw new IllegalArgumentException("learning power must be >= 0, got " + power);
    }
    if (slowStartSteps < 0 || slowStartSteps >= totalSteps) {
      throw new IllegalArgumentException(
          "slow start steps must be in [0, " + totalSteps + "), got " + slowStartSteps);
    }
    if (!(slowStartRate >= 0)) {
      throw new IllegalArgumentException("slow start rate must be >= 0, got " + slowStartRate);
    }
  }

  /** The schedule of a training configuration. */
  public static PolyLearningRate of(dev.deeplab.train.TrainConfig c) {
    return new PolyLearningRate(c.baseLearningRate(), c.steps(), c.learningPower(),
        c.slowStartSteps(), c.slowStartLearningRate());
  }

  /** The rate at {@code step}, computed in Java (for logs and tests). */
  public double at(long step) {
    if (step < slowStartSteps) {
      return slowStartRate;
    }
    double decaySteps = totalSteps - slowStartSteps;
    double s = Math.min(Math.max(step - slowStartSteps, 0), decaySteps);
    return baseRate * Math.pow(1 - s / decaySteps, power);
  }

  /** The rate at the current value of {@code globalStep}, as a graph scalar. */
  public Operand<TFloat32> build(Ops tf, Operand<TInt64> globalStep) {
    Operand<TFloat32> step = tf.dtypes.cast(globalStep, TFloat32.class);
    float decaySteps = totalSteps - slowStartSteps;
    Operand<TFloat32> s = tf.math.minimum(
        tf.math.maximum(tf.math.sub(step, tf.constant((float) slowStartSteps)), tf.constant(0f)),
        tf.constant(decaySteps));
    Operand<TFloat32> poly = tf.math.mul(tf.constant((float) baseRate),
        tf.math.pow(tf.math.sub(tf.constant(1f), tf.math.div(s, tf.constant(decaySteps))),
            tf.constant((float) power)));
    if (slowStartSteps == 0) {
      return poly;
    }
    return tf.select(tf.math.less(step, tf.constant((float) slowStartSteps)),
        tf.constant((float) slowStartRate), poly);
  }
}
