package dev.deeplab.internal.train;

import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.ApplyMomentum;
import org.tensorflow.proto.DataType;
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
   * Creates the zero-initialised {@code VariableV2} slot of {@code variable}. TF Java's name scopes
   * reject slashes and would uniquify the scope of an existing variable, so the op is created under
   * its exact name.
   */
  static Operand<TFloat32> slot(Graph graph, Ops tf, String variable, long[] shape) {
    Ops init = tf.withInitScope();
    GraphOperation op = graph.opBuilder("VariableV2", slotName(variable), init.scope())
        .setAttr("shape", Shape.of(shape))
        .setAttr("dtype", DataType.DT_FLOAT)
        .build();
    Operand<TFloat32> slot = op.output(0);
    init.assign(slot, init.fill(init.constant(shape), init.constant(0f)));
    return slot;
  }

  /** One momentum step of {@code variable} with its slot. */
  static ApplyMomentum<TFloat32> apply(Ops tf, Operand<TFloat32> variable, Operand<TFloat32> slot,
      Operand<TFloat32> learningRate, Operand<TFloat32> gradient, float momentum) {
    return tf.train.applyMomentum(variable, slot, learningRate, gradient, tf.constant(momentum));
  }
}
