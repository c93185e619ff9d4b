package dev.deeplab.internal.torch;

import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.internal.weights.Shapes;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One tensor of a PyTorch weight file: element type, shape and strides over a storage whose bytes
 * are read only when the values are asked for. Shapes, strides and offsets are checked against the
 * storage's size when the tensor is made, so a malformed file is refused before anything is read.
 */
public final class TorchTensor {
  /** The longest array the JVM reliably allocates. */
  static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

  /** Where the bytes of a storage come from. */
  @FunctionalInterface
  interface Storage {
    /** The storage's bytes, little-endian, position 0. */
    ByteBuffer bytes() throws IOException;
  }

  private final TorchDtype dtype;
  private final long[] shape;
  private final long[] strides;
  private final long offset;
  private final Storage storage;

  /**
   * @param storageElements the number of elements the storage holds
   * @param offset the first element of the tensor in the storage
   * @throws TorchFormatException if the tensor does not lie inside the storage, a dimension or
   *     stride is negative, or it has more elements than a Java array holds
   */
  TorchTensor(TorchDtype dtype, long[] shape, long[] strides, long offset, long storageElements,
      Storage storage) throws TorchFormatException {
    if (shape.length != strides.length) {
      throw new TorchFormatException("tensor of shape " + Shapes.format(shape) + " has "
          + strides.length + " strides");
    }
    long n = elements(shape);
    if (offset < 0 || storageElements < 0) {
      throw new TorchFormatException("tensor at negative offset " + offset);
    }
    long last = offset;
    for (int i = 0; i < shape.length; i++) {
      if (strides[i] < 0) {
        throw new TorchFormatException("tensor with negative stride " + strides[i]);
      }
      if (shape[i] > 0) {
        last = addExact(last, multiplyExact(shape[i] - 1, strides[i]));
      }
    }
    if (n > 0 && last >= storageElements) {
      throw new TorchFormatException("tensor of shape " + Shapes.format(shape) + " at offset "
          + offset + " reaches element " + last + " of a storage of " + storageElements);
    }
    this.dtype = dtype;
    this.shape = shape.clone();
    this.strides = strides.clone();
    this.offset = offset;
    this.storage = storage;
  }

  /** The number of elements of {@code shape}; refuses negative dimensions and huge tensors. */
  static long elements(long[] shape) throws TorchFormatException {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new TorchFormatException("negative dimension in shape " + Shapes.format(shape));
      }
      n = multiplyExact(n, d);
    }
    if (n > MAX_ELEMENTS) {
      throw new TorchFormatException("tensor of shape " + Shapes.format(shape) + " has " + n
          + " elements, more than " + MAX_ELEMENTS);
    }
    return n;
  }

  /** Row-major strides of a contiguous tensor of {@code shape}. */
  static long[] contiguousStrides(long[] shape) {
    long[] s = new long[shape.length];
    long step = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      s[i] = step;
      step *= Math.max(shape[i], 1);
    }
    return s;
  }

  public TorchDtype dtype() {
    return dtype;
  }

  public long[] shape() {
    return shape.clone();
  }

  /** The values as float32 in row-major order (floating and integer types alike). */
  public FloatTensor toFloats() throws IOException {
    int n = (int) elements(shape);
    float[] out = new float[n];
    ByteBuffer data = storage.bytes();
    if (java.util.Arrays.equals(strides, contiguousStrides(shape))) {
      if ((offset + n) * dtype.bytes() > data.limit()) {
        throw new TorchFormatException("tensor data past the end of its storage ("
            + data.limit() + " bytes)");
      }
      for (int k = 0; k < n; k++) {
        out[k] = dtype.read(data, offset + k);
      }
      return new FloatTensor(shape.clone(), out);
    }
    long[] index = new long[shape.length];
    for (int k = 0; k < n; k++) {
      long at = offset;
      for (int i = 0; i < shape.length; i++) {
        at += index[i] * strides[i];
      }
      if ((at + 1) * dtype.bytes() > data.limit()) {
        throw new TorchFormatException("tensor data past the end of its storage ("
            + data.limit() + " bytes)");
      }
      out[k] = dtype.read(data, at);
      for (int i = shape.length - 1; i >= 0; i--) {
        if (++index[i] < shape[i]) {
          break;
        }
        index[i] = 0;
      }
    }
    return new FloatTensor(shape.clone(), out);
  }

  private static long multiplyExact(long a, long b) throws TorchFormatException {
    try {
      return Math.multiplyExact(a, b);
    } catch (ArithmeticException e) {
      throw new TorchFormatException("tensor size overflows: " + a + " x " + b);
    }
  }

  private static long addExact(long a, long b) throws TorchFormatException {
    try {
      return Math.addExact(a, b);
    } catch (ArithmeticException e) {
      throw new TorchFormatException("tensor extent overflows");
    }
  }

  @Override
  public String toString() {
    return dtype + Shapes.format(shape);
  }
}
