package dev.deeplab.internal.tflite;

import java.util.Arrays;

/**
 * One tensor of a subgraph ({@code table Tensor} in the TFLite schema). Constant tensors (weights,
 * biases) point at a non-empty {@link TfliteBuffer}; activations point at buffer 0, which is always
 * empty by convention.
 *
 * @param index the position of the tensor in its subgraph, as used by operator inputs/outputs
 * @param name the tensor name; TF converters keep the TF-slim scope, e.g. {@code
 *     MobilenetV2/Conv/weights_quant/FakeQuantWithMinMaxVars}
 * @param type the element type
 * @param shape the dimensions, outermost first (do not modify)
 * @param buffer the index of the buffer that holds the data
 * @param quantization the quantisation parameters, {@link TfliteQuantization#NONE} if absent
 */
public record TfliteTensor(
    int index,
    String name,
    TensorType type,
    int[] shape,
    int buffer,
    TfliteQuantization quantization) {

  /**
   * The number of elements ({@code product(shape)}); {@link Long#MAX_VALUE} if that overflows a
   * long (only a corrupt shape can).
   */
  public long elementCount() {
    long n = 1;
    try {
      for (int d : shape) {
        n = Math.multiplyExact(n, (long) d);
      }
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
    return n;
  }

  /** The shape as {@code [d0,d1,...]}. */
  public String shapeString() {
    return Arrays.toString(shape).replace(" ", "");
  }

  /** A one-line description: index, name, type, shape, buffer and quantisation. */
  @Override
  public String toString() {
    return "#"
        + index
        + " "
        + name
        + " "
        + type
        + shapeString()
        + " buf="
        + buffer
        + " q("
        + quantization
        + ")";
  }
}
