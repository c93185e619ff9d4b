package dev.deeplab.internal.nn;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** Activation after a conv (and its batch norm). */
public enum Activation {
  NONE,
  RELU,
  RELU6;

  /** Applies this activation. */
  public Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x) {
    return switch (this) {
      case NONE -> x;
      case RELU -> tf.nn.relu(x);
      case RELU6 -> tf.nn.relu6(x);
    };
  }
}
