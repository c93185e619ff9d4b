package dev.deeplab.internal.torch;

import dev.deeplab.internal.nn.Role;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * Where a PyTorch-form network takes its weights from, by state-dict name ({@code
 * backbone.layer1.0.conv1.weight}): the graph's variables ({@link VariableWeights}), or the same
 * values carried into a loop body, which cannot see the graph's variables.
 */
@FunctionalInterface
public interface Weights {
  /**
   * The weight {@code name} of shape {@code shape} (conv kernels in TensorFlow's HWIO layout).
   *
   * @param role what it is for (trainability, weight decay)
   */
  Operand<TFloat32> get(String name, long[] shape, Role role);
}
