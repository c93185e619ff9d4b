package dev.deeplab.train;

import java.util.List;

/**
 * The learning rate over a run, as the official {@code train_utils.get_model_learning_rate}
 * computes it from {@code global_step} (before its increment) with {@code s = max(step -
 * slowStartSteps, 0)}:
 *
 * <ul>
 *   <li>{@link Policy#POLY}: {@code tf.train.polynomial_decay}, {@code (base - end) * (1 -
 *       min(s, d) / d)^power + end} with {@code d = totalSteps - slowStartSteps} (Liu et al.,
 *       "ParseNet", 2015; the DeepLab default);
 *   <li>{@link Policy#STEP}: {@code tf.train.exponential_decay(staircase=True)}, {@code base *
 *       decayFactor^floor(s / decayStep)};
 *   <li>{@link Policy#COSINE}: {@code tf.train.cosine_decay}, {@code base * (1 + cos(pi * min(s,
 *       d) / d)) / 2};
 *   <li>{@link Policy#MULTI_STEPS}: {@code tf.train.piecewise_constant_decay}: {@code
 *       boundaryRates[i]} for the first {@code i} with {@code s <= boundaries[i]}, the last rate
 *       after the last boundary;
 * </ul>
 *
 * and, before {@code slowStartSteps}, {@code slowStartRate} ({@code slow_start_learning_rate}),
 * or with {@code linearBurnIn} ({@code slow_start_burnin_type='linear'}) a rate rising linearly
 * from it to {@code baseRate}.
 *
 * <p>Immutable and thread-safe.
 *
 * @param policy the decay policy ({@code learning_policy})
 * @param baseRate {@code base_learning_rate}
 * @param power {@code learning_power} (poly)
 * @param endRate {@code end_learning_rate} (poly)
 * @param decayStep {@code learning_rate_decay_step} (step)
 * @param decayFactor {@code learning_rate_decay_factor} (step)
 * @param boundaries steps where the rate changes, strictly increasing (multi_steps)
 * @param boundaryRates one more rate than boundaries (multi_steps)
 * @param slowStartSteps {@code slow_start_step}, 0 for none
 * @param slowStartRate {@code slow_start_learning_rate}
 * @param linearBurnIn whether the slow-start rate rises linearly to the base rate
 */
public record LearningRateSchedule(Policy policy, double baseRate, double power, double endRate,
    long decayStep, double decayFactor, List<Long> boundaries, List<Double> boundaryRates,
    long slowStartSteps, double slowStartRate, boolean linearBurnIn) {

  /** The official learning policies. */
  public enum Policy {
    /** Polynomial decay to {@code endRate} at the last step. */
    POLY,
    /** Exponential staircase decay. */
    STEP,
    /** Cosine decay to 0 at the last step. */
    COSINE,
    /** Piecewise-constant rates. */
    MULTI_STEPS
  }

  /** Validates the ranges; messages name the offending setting. */
  public LearningRateSchedule {
    boundaries = List.copyOf(boundaries);
    boundaryRates = List.copyOf(boundaryRates);
    if (policy == null) {
      throw new IllegalArgumentException("a learning policy is required");
    }
    if (policy != Policy.MULTI_STEPS && !(baseRate > 0 && baseRate < Double.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException("base learning rate must be positive, got " + baseRate);
    }
    if (!(power >= 0) || !(endRate >= 0) || !(decayFactor > 0) || !(slowStartRate >= 0)) {
      throw new IllegalArgumentException("learning power, end rate, decay factor and slow-start "
          + "rate must be non-negative (decay factor positive)");
    }
    if (policy == Policy.STEP && decayStep < 1) {
      throw new IllegalArgumentException("the step policy needs a decay step >= 1, got "
          + decayStep);
    }
    if (policy == Policy.MULTI_STEPS) {
      if (boundaries.isEmpty() || boundaryRates.size() != boundaries.size() + 1) {
        throw new IllegalArgumentException("multi_steps needs boundaries and one more rate than "
            + "boundaries, got " + boundaries + " and " + boundaryRates);
      }
      for (int i = 1; i < boundaries.size(); i++) {
        if (boundaries.get(i) <= boundaries.get(i - 1)) {
          throw new IllegalArgumentException("boundaries must increase: " + boundaries);
        }
      }
      if (boundaryRates.stream().anyMatch(r -> !(r >= 0) || r.isInfinite())) {
        throw new IllegalArgumentException("boundary rates must be >= 0: " + boundaryRates);
      }
    }
    if (slowStartSteps < 0) {
      throw new IllegalArgumentException("slow start steps must be >= 0, got " + slowStartSteps);
    }
  }

  /** The official default: poly, power 0.9, end rate 0, no slow start. */
  public static LearningRateSchedule poly(double baseRate) {
    return new LearningRateSchedule(Policy.POLY, baseRate, 0.9, 0, 2000, 0.1, List.of(),
        List.of(), 0, 1e-4, false);
  }

  /** A copy with another policy (its own parameters keep their values). */
  public LearningRateSchedule withPolicy(Policy p) {
    return new LearningRateSchedule(p, baseRate, power, endRate, decayStep, decayFactor,
        boundaries, boundaryRates, slowStartSteps, slowStartRate, linearBurnIn);
  }

  /** A copy with another base rate. */
  public LearningRateSchedule withBaseRate(double rate) {
    return new LearningRateSchedule(policy, rate, power, endRate, decayStep, decayFactor,
        boundaries, boundaryRates, slowStartSteps, slowStartRate, linearBurnIn);
  }

  /** A copy with the poly power and end rate. */
  public LearningRateSchedule withPoly(double p, double end) {
    return new LearningRateSchedule(policy, baseRate, p, end, decayStep, decayFactor,
        boundaries, boundaryRates, slowStartSteps, slowStartRate, linearBurnIn);
  }

  /** A copy with the step policy's decay step and factor. */
  public LearningRateSchedule withStepDecay(long step, double factor) {
    return new LearningRateSchedule(policy, baseRate, power, endRate, step, factor, boundaries,
        boundaryRates, slowStartSteps, slowStartRate, linearBurnIn);
  }

  /** A copy with multi_steps boundaries and rates. */
  public LearningRateSchedule withBoundaries(List<Long> steps, List<Double> rates) {
    return new LearningRateSchedule(policy, baseRate, power, endRate, decayStep, decayFactor,
        steps, rates, slowStartSteps, slowStartRate, linearBurnIn);
  }

  /** A copy with a slow start. */
  public LearningRateSchedule withSlowStart(long steps, double rate, boolean linear) {
    return new LearningRateSchedule(policy, baseRate, power, endRate, decayStep, decayFactor,
        boundaries, boundaryRates, steps, rate, linear);
  }

  /**
   * The rate at {@code step} of a run of {@code totalSteps}, in double precision (the training
   * graph computes the same in float32).
   */
  public double at(long step, long totalSteps) {
    if (step < slowStartSteps) {
      return linearBurnIn
          ? slowStartRate + (baseRate - slowStartRate) * step / slowStartSteps
          : slowStartRate;
    }
    double s = Math.max(step - slowStartSteps, 0);
    double d = totalSteps - slowStartSteps;
    return switch (policy) {
      case POLY -> (baseRate - endRate) * Math.pow(1 - Math.min(s, d) / d, power) + endRate;
      case STEP -> baseRate * Math.pow(decayFactor, Math.floor(s / decayStep));
      case COSINE -> baseRate * 0.5 * (1 + Math.cos(Math.PI * Math.min(s, d) / d));
      case MULTI_STEPS -> {
        int i = 0;
        while (i < boundaries.size() && s > boundaries.get(i)) {
          i++;
        }
        yield boundaryRates.get(i);
      }
    };
  }

  /** Checks the schedule against a run length: the slow start must end before the last step. */
  void checkFor(long totalSteps) {
    if (slowStartSteps >= totalSteps) {
      throw new IllegalArgumentException(
          "slow start steps must be in [0, " + totalSteps + "), got " + slowStartSteps);
    }
  }
}
