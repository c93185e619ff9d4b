package dev.deeplab.internal.torch;

import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.Role;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * Weights as variables of the graph, named exactly as the PyTorch state dict names them (dots
 * are valid in TensorFlow names): {@code backbone.conv1.weight}, {@code classifier.4.bias}. A
 * {@link NetScope} of a reusing state takes the variables made by the first network of the graph.
 */
public final class VariableWeights implements Weights {
  private final NetScope root;

  public VariableWeights(NetScope root) {
    this.root = root;
  }

  @Override
  public Operand<TFloat32> get(String name, long[] shape, Role role) {
    return root.variable(name, shape, initializer(role), role);
  }

  /** PyTorch's defaults for a fresh layer: 1 and 0 for batch norm, 0 for biases. */
  private static Initializer initializer(Role role) {
    return switch (role) {
      case BN_GAMMA, BN_MOVING_VARIANCE -> Initializer.constant(1f);
      case BN_BETA, BN_MOVING_MEAN, BIASES -> Initializer.constant(0f);
      case WEIGHTS, DEPTHWISE_WEIGHTS -> Initializer.varianceScaling();
    };
  }
}
