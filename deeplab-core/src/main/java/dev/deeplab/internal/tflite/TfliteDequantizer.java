package dev.deeplab.internal.tflite;

import dev.deeplab.internal.weights.FloatTensor;
import java.nio.ByteBuffer;

/**
 * Turns the stored values of a constant TFLite tensor into floats: {@code w = scale * (q -
 * zero_point)}, the rule documented on {@code table QuantizationParameters} in the TFLite schema.
 * One scale applies to the whole tensor; several scales apply per slice along {@code
 * quantized_dimension} (per-axis). The product is formed in double and rounded once to float, as
 * TFLite's reference {@code Dequantize} kernel does. FLOAT32 tensors are returned as stored.
 */
public final class TfliteDequantizer {

  private TfliteDequantizer() {}

  /**
   * Dequantises a UINT8, INT8, INT16 or INT32 tensor (or copies a FLOAT32 one).
   *
   * @param tensor the tensor (its type, shape and quantisation are used)
   * @param data its buffer, little-endian, exactly {@code elementCount * byteSize} bytes
   * @return the values in the tensor's own shape and layout, row-major
   * @throws TfliteFormatException if the data size, type or quantisation do not fit the tensor
   */
  public static FloatTensor dequantize(TfliteTensor tensor, ByteBuffer data)
      throws TfliteFormatException {
    TensorType type = tensor.type();
    if (type != TensorType.FLOAT32
        && type != TensorType.UINT8
        && type != TensorType.INT8
        && type != TensorType.INT16
        && type != TensorType.INT32) {
      throw new TfliteFormatException(
          "cannot dequantize tensor '" + tensor.name() + "' of type " + type);
    }
    long count = tensor.elementCount();
    long expectedBytes = count > Integer.MAX_VALUE ? Long.MAX_VALUE : count * type.byteSize();
    if (data.remaining() != expectedBytes) {
      throw new TfliteFormatException(
          "tensor '"
              + tensor.name()
              + "' "
              + type
              + tensor.shapeString()
              + " needs "
              + expectedBytes
              + " bytes of data but its buffer "
              + tensor.buffer()
              + " holds "
              + data.remaining());
    }
    long[] shape = new long[tensor.shape().length];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = tensor.shape()[i];
    }
    float[] out = new float[(int) count];
    if (type == TensorType.FLOAT32) {
      data.asFloatBuffer().get(out);
      return new FloatTensor(shape, out);
    }
    TfliteQuantization q = tensor.quantization();
    int inner = checkQuantization(tensor, q);
    int slices = q.scale().length;
    for (int i = 0; i < out.length; i++) {
      int slice = slices == 1 ? 0 : (i / inner) % slices;
      long raw = raw(type, data, i);
      out[i] = (float) ((double) q.scaleAt(slice) * (raw - q.zeroPointAt(slice)));
    }
    return new FloatTensor(shape, out);
  }

  /**
   * Checks that the quantisation fits the tensor and returns the number of elements per contiguous
   * run of one slice (the product of the dimensions after the quantised axis).
   */
  private static int checkQuantization(TfliteTensor t, TfliteQuantization q)
      throws TfliteFormatException {
    if (!q.isQuantized()) {
      throw new TfliteFormatException(
          "tensor '" + t.name() + "' of type " + t.type() + " has no quantization scale");
    }
    if (!q.isPerAxis()) {
      return 1;
    }
    int axis = q.quantizedDimension();
    int[] shape = t.shape();
    if (axis < 0 || axis >= shape.length || shape[axis] != q.scale().length) {
      throw new TfliteFormatException(
          "tensor '"
              + t.name()
              + "' "
              + t.shapeString()
              + " has "
              + q.scale().length
              + " per-axis scales along dimension "
              + axis);
    }
    int inner = 1;
    for (int i = axis + 1; i < shape.length; i++) {
      inner *= shape[i];
    }
    return inner;
  }

  private static long raw(TensorType type, ByteBuffer data, int i) {
    switch (type) {
      case UINT8:
        return Byte.toUnsignedInt(data.get(i));
      case INT8:
        return data.get(i);
      case INT16:
        return data.getShort(2 * i);
      default: // INT32
        return data.getInt(4 * i);
    }
  }
}
