package dev.deeplab.internal.weights;

import java.util.Arrays;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * A dense float32 array with a shape, in row-major (C) order: the plain-Java form in which weights
 * travel between readers (TFLite files, checkpoints) and writers (checkpoints, graphs).
 *
 * @param shape the dimensions, outermost first
 * @param data the values, {@code product(shape)} of them, row-major
 */
public record FloatTensor(long[] shape, float[] data) {

  /** Checks that {@code data} holds exactly {@code product(shape)} values. */
  public FloatTensor {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      n *= d;
    }
    if (n != data.length) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " needs " + n + " values, got " + data.length);
    }
  }

  /** Copies a TF tensor's values out (the tensor stays open; its owner closes it). */
  public static FloatTensor copyOf(TFloat32 t) {
    float[] data = new float[(int) t.shape().size()];
    t.copyTo(DataBuffers.of(data, false, false));
    return new FloatTensor(t.shape().asArray(), data);
  }

  /** The number of values. */
  public int size() {
    return data.length;
  }

  /** The shape as {@code [d0,d1,...]}, the form {@code deeplab inspect} prints. */
  public String shapeString() {
    return Shapes.format(shape);
  }
}
