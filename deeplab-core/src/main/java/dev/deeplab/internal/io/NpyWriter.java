package dev.deeplab.internal.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Writes float32 arrays as NumPy {@code .npy} files (format version 1.0, little-endian, C order),
 * so Python users and tools read our soft outputs with {@code numpy.load}. Writes are atomic.
 */
public final class NpyWriter {
  private NpyWriter() {}

  /** Writes {@code data} with {@code shape} to {@code file}. */
  public static void write(Path file, long[] shape, float[] data) throws IOException {
    StringBuilder dims = new StringBuilder();
    for (long d : shape) {
      dims.append(d).append(shape.length == 1 ? "," : ", ");
    }
    String shapeText = shape.length == 1 ? dims.toString() : dims.toString().replaceAll(", $", "");
    StringBuilder header = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': (")
        .append(shapeText).append("), }");
    int total = 10 + header.length() + 1;
    header.append(" ".repeat((64 - total % 64) % 64)).append('\n');
    byte[] h = header.toString().getBytes(StandardCharsets.US_ASCII);
    ByteBuffer buf = ByteBuffer.allocate(10 + h.length + 4 * data.length)
        .order(ByteOrder.LITTLE_ENDIAN);
    buf.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1)
        .put((byte) 0).putShort((short) h.length).put(h);
    buf.asFloatBuffer().put(data);
    AtomicFiles.write(file, buf.array());
  }
}
