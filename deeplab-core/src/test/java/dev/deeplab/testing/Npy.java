package dev.deeplab.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads the little-endian float32 / int32 / int64 {@code .npy} files the Python scripts write. */
public final class Npy {
  private Npy() {}

  /** An array read from a {@code .npy} file, values widened to double. */
  public record Array(long[] shape, double[] data) {}

  public static Array read(Path file) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    byte[] magic = new byte[6];
    buf.get(magic);
    int major = buf.get();
    buf.get();
    int headerLen = major == 1 ? Short.toUnsignedInt(buf.getShort()) : buf.getInt();
    byte[] header = new byte[headerLen];
    buf.get(header);
    String h = new String(header, StandardCharsets.US_ASCII);
    Matcher descr = Pattern.compile("'descr':\\s*'([^']+)'").matcher(h);
    Matcher shapeM = Pattern.compile("'shape':\\s*\\(([^)]*)\\)").matcher(h);
    if (!descr.find() || !shapeM.find() || h.contains("'fortran_order': True")) {
      throw new IOException("unsupported npy header: " + h);
    }
    String[] dims = shapeM.group(1).split(",");
    long[] shape = java.util.Arrays.stream(dims).map(String::trim).filter(s -> !s.isEmpty())
        .mapToLong(Long::parseLong).toArray();
    int n = 1;
    for (long d : shape) {
      n *= (int) d;
    }
    double[] data = new double[n];
    switch (descr.group(1)) {
      case "<f4" -> { for (int i = 0; i < n; i++) data[i] = buf.getFloat(); }
      case "<f8" -> { for (int i = 0; i < n; i++) data[i] = buf.getDouble(); }
      case "<i4" -> { for (int i = 0; i < n; i++) data[i] = buf.getInt(); }
      case "<i8" -> { for (int i = 0; i < n; i++) data[i] = buf.getLong(); }
      case "|u1" -> { for (int i = 0; i < n; i++) data[i] = Byte.toUnsignedInt(buf.get()); }
      default -> throw new IOException("unsupported npy dtype " + descr.group(1));
    }
    return new Array(shape, data);
  }
}
