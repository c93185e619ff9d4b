package dev.deeplab.internal.tflite;

import java.util.Arrays;

/**
 * One operator of a subgraph ({@code table Operator} in the TFLite schema), in execution order.
 *
 * @param index the operator's position in its subgraph
 * @param opcode the resolved operator code
 * @param inputs tensor indices of the inputs; -1 marks an omitted optional input (do not modify)
 * @param outputs tensor indices of the outputs (do not modify)
 * @param options the decoded builtin options, or null for operators whose options this reader does
 *     not decode
 */
public record TfliteOperator(
    int index, TfliteOperatorCode opcode, int[] inputs, int[] outputs, TfliteOptions options) {

  /** The operator name, e.g. {@code CONV_2D}. */
  public String name() {
    return opcode.name();
  }

  /** A one-line description: index, name, inputs, outputs and options. */
  @Override
  public String toString() {
    return "op "
        + index
        + " "
        + name()
        + " in="
        + Arrays.toString(inputs)
        + " out="
        + Arrays.toString(outputs)
        + (options == null ? "" : " " + options);
  }
}
