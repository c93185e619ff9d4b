package dev.deeplab.internal.checkpoint;

import dev.deeplab.internal.weights.Shapes;

/**
 * One tensor listed in a checkpoint.
 *
 * @param name the key, e.g. {@code logits/semantic/weights}
 * @param dtype TensorFlow's name of the element type, e.g. {@code DT_FLOAT}
 * @param shape the dimensions
 */
public record CheckpointEntry(String name, String dtype, long[] shape) {

  /** The shape as {@code [d0,d1,...]}. */
  public String shapeString() {
    return Shapes.format(shape);
  }
}
