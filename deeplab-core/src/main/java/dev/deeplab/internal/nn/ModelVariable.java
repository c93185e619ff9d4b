package dev.deeplab.internal.nn;

import dev.deeplab.internal.weights.Shapes;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * One variable of a network, under its official checkpoint name.
 *
 * @param name full name, e.g. {@code xception_65/entry_flow/conv1_1/weights}
 * @param variable the graph's {@code VariableV2}
 * @param shape static shape
 * @param role what it is for
 */
public record ModelVariable(String name, Variable<TFloat32> variable, long[] shape, Role role) {

  /** Number of scalars. */
  public long size() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** The shape as {@code [d0,d1,...]}. */
  public String shapeString() {
    return Shapes.format(shape);
  }
}
