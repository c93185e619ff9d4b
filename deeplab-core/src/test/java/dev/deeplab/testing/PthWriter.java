package dev.deeplab.testing;

import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.model.ModelConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a float32 state dict as {@code torch.save} does (PyTorch ≥ 1.6): a zip of {@code
 * archive/data.pkl}, an {@code OrderedDict} of {@code torch._utils._rebuild_tensor_v2} calls
 * whose storages are persistent ids {@code ("storage", torch.FloatStorage, key, "cpu", numel)},
 * and {@code archive/data/<key>} with each storage's little-endian bytes (entries stored). For
 * tests that need a state dict of a whole network, too large to commit; the reader itself is
 * tested on files PyTorch wrote ({@code StateDictTest}).
 */
public final class PthWriter {
  private PthWriter() {}

  /** A tensor in PyTorch's layout (OIHW kernels), row-major. */
  public record Tensor(long[] shape, float[] data) {}

  /**
   * Seeded values for every tensor of {@code config}'s network in PyTorch's layout: kernels
   * {@code U(-1,1)·sqrt(3/fan-in)}, batch-norm weights and running variances {@code 1 + 0.25·U},
   * biases and running means {@code 0.1·U}.
   */
  public static Map<String, Tensor> seededStateDict(ModelConfig config, long seed) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    Random r = new Random(seed);
    try (ModelGraph g = ModelGraph.build(config.withCropSize(65, 65))) {
      for (ModelVariable v : g.variables().values()) {
        long[] s = v.shape();
        long[] shape = s.length == 4 ? new long[] {s[3], s[2], s[0], s[1]} : s;
        int n = 1;
        for (long d : shape) {
          n *= (int) d;
        }
        String leaf = v.name().substring(v.name().lastIndexOf('.') + 1);
        double fanIn = n / (double) shape[0];
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
          double u = 2 * r.nextDouble() - 1;
          d[i] = (float) (shape.length == 4 ? u * Math.sqrt(3 / fanIn)
              : leaf.equals("running_var") || leaf.equals("weight") ? 1 + 0.25 * u : 0.1 * u);
        }
        out.put(v.name(), new Tensor(shape, d));
      }
    }
    return out;
  }

  public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
    ByteArrayOutputStream pkl = new ByteArrayOutputStream();
    pkl.write(new byte[] {(byte) 0x80, 2});
    global(pkl, "collections", "OrderedDict");
    pkl.write(')');
    pkl.write('R');
    pkl.write('(');
    int key = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      Tensor t = e.getValue();
      unicode(pkl, e.getKey());
      global(pkl, "torch._utils", "_rebuild_tensor_v2");
      pkl.write('(');
      pkl.write('(');
      unicode(pkl, "storage");
      global(pkl, "torch", "FloatStorage");
      unicode(pkl, Integer.toString(key++));
      unicode(pkl, "cpu");
      binint(pkl, t.data().length);
      pkl.write('t');
      pkl.write('Q');
      binint(pkl, 0);
      pkl.write('(');
      for (long d : t.shape()) {
        binint(pkl, (int) d);
      }
      pkl.write('t');
      pkl.write('(');
      long stride = 1;
      long[] strides = new long[t.shape().length];
      for (int i = strides.length - 1; i >= 0; i--) {
        strides[i] = stride;
        stride *= t.shape()[i];
      }
      for (long s : strides) {
        binint(pkl, (int) s);
      }
      pkl.write('t');
      pkl.write(0x89);
      global(pkl, "collections", "OrderedDict");
      pkl.write(')');
      pkl.write('R');
      pkl.write('t');
      pkl.write('R');
    }
    pkl.write('u');
    pkl.write('.');
    try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(file))) {
      stored(zip, "archive/data.pkl", pkl.toByteArray());
      stored(zip, "archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
      key = 0;
      for (Tensor t : tensors.values()) {
        ByteBuffer b = ByteBuffer.allocate(4 * t.data().length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(t.data());
        stored(zip, "archive/data/" + key++, b.array());
      }
      stored(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    }
  }

  private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
    ZipEntry e = new ZipEntry(name);
    e.setMethod(ZipEntry.STORED);
    e.setSize(data.length);
    CRC32 crc = new CRC32();
    crc.update(data);
    e.setCrc(crc.getValue());
    zip.putNextEntry(e);
    zip.write(data);
    zip.closeEntry();
  }

  private static void global(OutputStream out, String module, String name) throws IOException {
    out.write('c');
    out.write((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
  }

  private static void unicode(OutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.write('X');
    out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
    out.write(b);
  }

  private static void binint(OutputStream out, int v) throws IOException {
    out.write('J');
    out.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
  }
}
