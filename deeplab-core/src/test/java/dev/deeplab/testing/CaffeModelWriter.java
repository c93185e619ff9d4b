package dev.deeplab.testing;

import dev.deeplab.internal.weights.FloatTensor;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes small {@code .caffemodel} files for tests, by hand-encoding protobuf (varints and
 * length-delimited fields) from Caffe's {@code caffe.proto} field numbers, independently of the
 * reader under test: {@code NetParameter} (name 1, input_dim 4, {@code layers} 2 for V1 layers,
 * {@code layer} 100), {@code LayerParameter} (name 1, type 2, bottom 3, top 4, blobs 7), {@code
 * V1LayerParameter} (bottom 2, top 3, name 4, type 5 enum with CONVOLUTION = 4 and RELU = 18,
 * blobs 6) and {@code BlobProto} (num/channels/height/width 1-4, packed data 5, shape 7 with
 * packed dims 1, packed double_data 8).
 */
public final class CaffeModelWriter implements Closeable {
  private final OutputStream out;
  private final boolean v1;
  private final boolean legacyDims;

  /**
   * Starts a file of V1 {@code layers} with legacy 4-D blob dims (as Caffe wrote in 2014-15,
   * biases {@code 1x1x1xN}) when {@code v1}, else of {@code layer} messages with {@code shape}.
   */
  public CaffeModelWriter(Path file, boolean v1) throws IOException {
    this.out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16);
    this.v1 = v1;
    this.legacyDims = v1;
    out.write(field(1, "DeepLab-LargeFOV".getBytes(StandardCharsets.UTF_8)));
    for (int d : new int[] {1, 3, 513, 513}) {
      tag(out, 4, 0);
      varint(out, d);
    }
  }

  /** A layer without weights (a ReLU), as the released models have between the convs. */
  public CaffeModelWriter relu(String name) throws IOException {
    return layer(name, false, new FloatTensor[0], false);
  }

  /** A convolution layer of these blobs (Caffe's shapes: {@code [out,in,kh,kw]}, {@code [out]}). */
  public CaffeModelWriter conv(String name, FloatTensor... blobs) throws IOException {
    return layer(name, true, blobs, false);
  }

  /** As {@link #conv}, the values as {@code double_data}. */
  public CaffeModelWriter convDoubles(String name, FloatTensor... blobs) throws IOException {
    return layer(name, true, blobs, true);
  }

  /** Raw bytes appended as they are (for broken files). */
  public CaffeModelWriter raw(byte[] bytes) throws IOException {
    out.write(bytes);
    return this;
  }

  private CaffeModelWriter layer(String name, boolean conv, FloatTensor[] blobs, boolean doubles)
      throws IOException {
    ByteArrayOutputStream m = new ByteArrayOutputStream();
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    byte[] io = "x".getBytes(StandardCharsets.UTF_8);
    if (v1) {
      m.write(field(2, io));
      m.write(field(3, io));
      m.write(field(4, nameBytes));
      tag(m, 5, 0);
      varint(m, conv ? 4 : 18);
      for (FloatTensor b : blobs) {
        m.write(field(6, blob(b, doubles)));
      }
    } else {
      m.write(field(1, nameBytes));
      m.write(field(2, (conv ? "Convolution" : "ReLU").getBytes(StandardCharsets.UTF_8)));
      m.write(field(3, io));
      m.write(field(4, io));
      for (FloatTensor b : blobs) {
        m.write(field(7, blob(b, doubles)));
      }
    }
    out.write(field(v1 ? 2 : 100, m.toByteArray()));
    return this;
  }

  private byte[] blob(FloatTensor t, boolean doubles) throws IOException {
    ByteArrayOutputStream m = new ByteArrayOutputStream();
    long[] s = t.shape();
    if (legacyDims) {
      long[] four = {1, 1, 1, 1};
      System.arraycopy(s, 0, four, 4 - s.length, s.length);
      for (int i = 0; i < 4; i++) {
        tag(m, i + 1, 0);
        varint(m, four[i]);
      }
    }
    float[] v = t.data();
    ByteBuffer values = ByteBuffer.allocate(v.length * (doubles ? 8 : 4))
        .order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      if (doubles) {
        values.putDouble(x);
      } else {
        values.putFloat(x);
      }
    }
    m.write(field(doubles ? 8 : 5, values.array()));
    if (!legacyDims) {
      ByteArrayOutputStream dims = new ByteArrayOutputStream();
      for (long d : s) {
        varint(dims, d);
      }
      m.write(field(7, field(1, dims.toByteArray())));
    }
    return m.toByteArray();
  }

  @Override
  public void close() throws IOException {
    out.close();
  }

  private static byte[] field(int number, byte[] payload) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream(payload.length + 10);
    tag(b, number, 2);
    varint(b, payload.length);
    b.write(payload);
    return b.toByteArray();
  }

  private static void tag(OutputStream o, int number, int wireType) throws IOException {
    varint(o, ((long) number << 3) | wireType);
  }

  private static void varint(OutputStream o, long v) throws IOException {
    while ((v & ~0x7fL) != 0) {
      o.write((int) ((v & 0x7f) | 0x80));
      v >>>= 7;
    }
    o.write((int) v);
  }

  /**
   * TF-layout weights ({@code [kh,kw,in,out]}, slim's VGG-16 names) as the Caffe blobs of the
   * released DeepLab-LargeFOV: layer name → {weights {@code [out,in,kh,kw]}, biases}, conv1_1's
   * inputs in BGR order, {@code logits/semantic} as {@code classifier}.
   */
  public static Map<String, FloatTensor[]> largeFovBlobs(Map<String, FloatTensor> tf,
      String classifier) {
    Map<String, FloatTensor[]> out = new LinkedHashMap<>();
    for (Map.Entry<String, FloatTensor> e : tf.entrySet()) {
      String name = e.getKey();
      if (!name.endsWith("/weights")) {
        continue;
      }
      String scope = name.substring(0, name.length() - "/weights".length());
      String layer = scope.equals("logits/semantic") ? classifier
          : scope.substring(scope.lastIndexOf('/') + 1);
      out.put(layer, new FloatTensor[] {
          caffeKernel(e.getValue(), layer.equals("conv1_1")), tf.get(scope + "/biases")});
    }
    return out;
  }

  /** {@code [kh,kw,in,out]} → {@code [out,in,kh,kw]}, the inputs reversed when {@code bgr}. */
  static FloatTensor caffeKernel(FloatTensor t, boolean bgr) {
    long[] s = t.shape();
    int kh = (int) s[0];
    int kw = (int) s[1];
    int in = (int) s[2];
    int o = (int) s[3];
    float[] src = t.data();
    float[] dst = new float[src.length];
    int k = 0;
    for (int y = 0; y < kh; y++) {
      for (int x = 0; x < kw; x++) {
        for (int c = 0; c < in; c++) {
          int caffeIn = bgr ? in - 1 - c : c;
          for (int a = 0; a < o; a++) {
            dst[((a * in + caffeIn) * kh + y) * kw + x] = src[k++];
          }
        }
      }
    }
    return new FloatTensor(new long[] {o, in, kh, kw}, dst);
  }
}
