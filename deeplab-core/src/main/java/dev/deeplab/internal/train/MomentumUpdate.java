package dev.deeplab.internal.train;

import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The update of {@code tf.train.MomentumOptimizer} (non-Nesterov), as the official DeepLab trains
 * with: {@code accum = momentum * accum + grad; var -= lr * accum}, by the {@code ApplyMomentum}
 * kernel on a slot variable named {@code <var>/Momentum} as TF1's optimizer slots are, so that
 * checkpoints carry the official slot names.
 *
 * <p>TF Java's framework {@code Optimizer} is not used: it differentiates with respect to every
 * variable of the graph (failing on batch-norm moving averages) and bakes in a constant learning
 * rate; slot names would also differ ({@code <var>-momentum}).
 */
public final class MomentumUpdate {
  private MomentumUpdate() {}

  /** The slot name of a variable: {@code <var>/Momentum}. */
  public static String slotName(String variable) {
    return variable + "/Momentum";
  }

  /**
   * One momentum step of {@code variable} with a new zero slot, built with {@code gated} (whose
   * control dependencies hold the update back until every gradient is computed).
   */
  static Op apply(Graph graph, Ops tf, Ops gated, String name, long[] shape,
      Operand<TFloat32> variable, Operand<TFloat32> learningRate, Operand<TFloat32> gradient,
      float momentum) {
    Operand<TFloat32> slot = OptimizerVariables.create(graph, tf, slotName(name), shape, 0f);
    return gated.train.applyMomentum(variable, slot, learningRate, gradient,
        gated.constant(momentum));
  }
}
