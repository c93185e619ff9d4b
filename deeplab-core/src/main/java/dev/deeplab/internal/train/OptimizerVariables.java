package dev.deeplab.internal.train;

import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;

/**
 * The optimizers' own variables (slots such as {@code <var>/Momentum}, Adam's {@code
 * beta1_power}) under the exact names TF1's optimizers give them, so that checkpoints carry the
 * official names.
 */
final class OptimizerVariables {
  private OptimizerVariables() {}

  /**
   * Creates a float {@code VariableV2} named exactly {@code name} holding {@code value} everywhere
   * after initialisation. TF Java's name scopes reject slashes and would uniquify the scope of an
   * existing variable, so the op is created under its exact name.
   */
  static Operand<TFloat32> create(Graph graph, Ops tf, String name, long[] shape, float value) {
    Ops init = tf.withInitScope();
    GraphOperation op = graph.opBuilder("VariableV2", name, init.scope())
        .setAttr("shape", Shape.of(shape))
        .setAttr("dtype", DataType.DT_FLOAT)
        .build();
    Operand<TFloat32> v = op.output(0);
    init.assign(v, init.fill(init.constant(shape), init.constant(value)));
    return v;
  }
}
