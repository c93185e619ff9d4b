package dev.deeplab.internal.tflite;

import java.util.List;

/**
 * One subgraph ({@code table SubGraph} in the TFLite schema): tensors, operators in execution
 * order, and the tensor indices of the graph inputs and outputs.
 *
 * @param name the subgraph name (often empty)
 * @param tensors all tensors, indexed by {@link TfliteTensor#index()}
 * @param operators the operators in execution order
 * @param inputs tensor indices of the graph inputs (do not modify)
 * @param outputs tensor indices of the graph outputs (do not modify)
 */
public record TfliteSubGraph(
    String name,
    List<TfliteTensor> tensors,
    List<TfliteOperator> operators,
    int[] inputs,
    int[] outputs) {

  /** Copies the lists so the subgraph is immutable. */
  public TfliteSubGraph {
    tensors = List.copyOf(tensors);
    operators = List.copyOf(operators);
  }

  /** The tensor at index {@code i}. */
  public TfliteTensor tensor(int i) {
    return tensors.get(i);
  }
}
