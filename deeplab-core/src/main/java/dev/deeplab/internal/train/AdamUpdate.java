package dev.deeplab.internal.train;

import dev.deeplab.train.Optimizer;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The update of TF1's {@code tf.train.AdamOptimizer} (Kingma &amp; Ba, "Adam", 2015), as the
 * official {@code train.py --optimizer=adam} runs it: per variable the {@code ApplyAdam} kernel
 * with slots {@code <var>/Adam} (first moment) and {@code <var>/Adam_1} (second moment), {@code
 * m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; var -= lr·sqrt(1-b2^t)/(1-b1^t) · m/(sqrt(v)+eps)},
 * where {@code b1^t}, {@code b2^t} are the variables {@code beta1_power}, {@code beta2_power}
 * (initialised to b1, b2), multiplied by b1, b2 once every variable is updated.
 */
final class AdamUpdate {
  private final Graph graph;
  private final Ops tf;
  private final Operand<TFloat32> beta1Power;
  private final Operand<TFloat32> beta2Power;
  private final Optimizer settings;

  AdamUpdate(Graph graph, Ops tf, Optimizer settings) {
    this.graph = graph;
    this.tf = tf;
    this.settings = settings;
    beta1Power = OptimizerVariables.create(graph, tf, "beta1_power", new long[0],
        (float) Optimizer.ADAM_BETA1);
    beta2Power = OptimizerVariables.create(graph, tf, "beta2_power", new long[0],
        (float) Optimizer.ADAM_BETA2);
  }

  /** One Adam step of {@code variable} with new zero slots, gated by {@code gated}'s controls. */
  Op apply(Ops gated, String name, long[] shape, Operand<TFloat32> variable,
      Operand<TFloat32> learningRate, Operand<TFloat32> gradient) {
    Operand<TFloat32> m = OptimizerVariables.create(graph, tf, name + "/Adam", shape, 0f);
    Operand<TFloat32> v = OptimizerVariables.create(graph, tf, name + "/Adam_1", shape, 0f);
    return gated.train.applyAdam(variable, m, v, beta1Power, beta2Power, learningRate,
        gated.constant((float) Optimizer.ADAM_BETA1), gated.constant((float) Optimizer.ADAM_BETA2),
        gated.constant((float) settings.adamEpsilon()), gradient);
  }

  /** Advances {@code beta1_power} and {@code beta2_power} after {@code applies}. */
  List<Op> finish(List<Op> applies) {
    Ops after = tf.withControlDependencies(applies);
    return List.of(
        after.assign(beta1Power, after.math.mul(beta1Power,
            after.constant((float) Optimizer.ADAM_BETA1))),
        after.assign(beta2Power, after.math.mul(beta2Power,
            after.constant((float) Optimizer.ADAM_BETA2))));
  }
}
