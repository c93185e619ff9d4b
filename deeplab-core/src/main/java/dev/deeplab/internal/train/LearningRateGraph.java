package dev.deeplab.internal.train;

import dev.deeplab.train.LearningRateSchedule;
import dev.deeplab.train.Optimizer;
import dev.deeplab.train.TrainConfig;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * The learning rate of a run as a graph scalar of {@code global_step}, in float32 as the official
 * {@code train_utils.get_model_learning_rate} computes it: the formulas of {@link
 * LearningRateSchedule}, or Adam's constant rate.
 */
public final class LearningRateGraph {
  private LearningRateGraph() {}

  /** The rate at the current value of {@code globalStep}. */
  public static Operand<TFloat32> build(Ops tf, TrainConfig config, Operand<TInt64> globalStep) {
    if (config.optimizer().kind() == Optimizer.Kind.ADAM) {
      return tf.constant((float) config.optimizer().adamLearningRate());
    }
    LearningRateSchedule r = config.learningRate();
    Operand<TFloat32> step = tf.dtypes.cast(globalStep, TFloat32.class);
    Operand<TFloat32> s = tf.math.maximum(
        tf.math.sub(step, tf.constant((float) r.slowStartSteps())), tf.constant(0f));
    Operand<TFloat32> d = tf.constant((float) (config.steps() - r.slowStartSteps()));
    Operand<TFloat32> base = tf.constant((float) r.baseRate());
    Operand<TFloat32> rate = switch (r.policy()) {
      case POLY -> tf.math.add(tf.math.mul(tf.constant((float) (r.baseRate() - r.endRate())),
          tf.math.pow(tf.math.sub(tf.constant(1f), tf.math.div(tf.math.minimum(s, d), d)),
              tf.constant((float) r.power()))), tf.constant((float) r.endRate()));
      case STEP -> tf.math.mul(base, tf.math.pow(tf.constant((float) r.decayFactor()),
          tf.math.floor(tf.math.div(s, tf.constant((float) r.decayStep())))));
      case COSINE -> tf.math.mul(base, tf.math.mul(tf.constant(0.5f), tf.math.add(
          tf.constant(1f), tf.math.cos(tf.math.mul(tf.constant((float) Math.PI),
              tf.math.div(tf.math.minimum(s, d), d))))));
      case MULTI_STEPS -> piecewise(tf, s, r.boundaries(), r.boundaryRates());
    };
    if (r.slowStartSteps() == 0) {
      return rate;
    }
    Operand<TFloat32> slow = tf.constant((float) r.slowStartRate());
    if (r.linearBurnIn()) {
      slow = tf.math.add(slow, tf.math.mul(tf.constant((float) (r.baseRate() - r.slowStartRate())),
          tf.math.div(step, tf.constant((float) r.slowStartSteps()))));
    }
    return tf.select(tf.math.less(step, tf.constant((float) r.slowStartSteps())), slow, rate);
  }

  /** {@code rates[i]} for the first boundary with {@code s <= boundaries[i]}, else the last. */
  private static Operand<TFloat32> piecewise(Ops tf, Operand<TFloat32> s, List<Long> boundaries,
      List<Double> rates) {
    Operand<TFloat32> rate = tf.constant(rates.get(rates.size() - 1).floatValue());
    for (int i = boundaries.size() - 1; i >= 0; i--) {
      rate = tf.select(tf.math.lessEqual(s, tf.constant((float) boundaries.get(i))),
          tf.constant(rates.get(i).floatValue()), rate);
    }
    return rate;
  }
}
