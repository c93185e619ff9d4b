package dev.deeplab.internal.caffe;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * The layers and weight blobs of a Caffe {@code .caffemodel}: a serialized {@code
 * caffe.NetParameter} (BVLC Caffe's {@code src/caffe/proto/caffe.proto}), read field by field
 * with protobuf's {@link CodedInputStream}, without Caffe or its generated classes.
 *
 * <p>Both layer formats are read: the current {@code layer} (field 100, {@code LayerParameter}:
 * name 1, type 2 as a string, blobs 7) and the deprecated {@code layers} (field 2, {@code
 * V1LayerParameter}: name 4, type 5 as an enum, blobs 6) that Caffe wrote before 2015 and the
 * DeepLab releases of that time use. A {@code BlobProto} gives its shape as {@code shape} (field
 * 7, {@code BlobShape.dim}) or the legacy {@code num, channels, height, width} (fields 1-4), its
 * values as {@code data} (5, float) or {@code double_data} (8); gradients ({@code diff}) are
 * skipped.
 *
 * <p>Memory: the file is streamed; only the values of the layers {@code keep} accepts are held
 * (as floats), every other blob is skipped after its shape is noted. A length beyond the end of
 * the file, or values that do not fill the blob's shape, are refused in one line.
 */
public final class CaffeNet {
  /** {@code V1LayerParameter.LayerType} numbers of the layers that carry weights. */
  private static final int V1_CONVOLUTION = 4;
  private static final int V1_INNER_PRODUCT = 14;
  private static final int V1_DECONVOLUTION = 39;

  /**
   * One weight blob.
   *
   * @param shape its dimensions as the file gives them (legacy blobs: 4, leading 1s kept)
   * @param data its values in Caffe's row-major order, {@code null} when its layer was not kept
   */
  public record Blob(long[] shape, float[] data) {
    /** The number of values its shape holds. */
    public long count() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }

    /** The shape without leading 1s (a legacy bias blob {@code [1,1,1,n]} is {@code [n]}). */
    public long[] squeezed() {
      int i = 0;
      while (i < shape.length - 1 && shape[i] == 1) {
        i++;
      }
      return Arrays.copyOfRange(shape, i, shape.length);
    }
  }

  /**
   * A layer with its weight blobs.
   *
   * @param name the layer's name
   * @param type its type, e.g. {@code Convolution} (a V1 enum named as the current string type)
   * @param blobs its blobs, in order (weights, then bias)
   */
  public record Layer(String name, String type, List<Blob> blobs) {
    /** Copies the list. */
    public Layer {
      blobs = List.copyOf(blobs);
    }
  }

  private final Path file;
  private final boolean v1;
  private final List<Layer> layers;

  private CaffeNet(Path file, boolean v1, List<Layer> layers) {
    this.file = file;
    this.v1 = v1;
    this.layers = List.copyOf(layers);
  }

  /** The file read. */
  public Path file() {
    return file;
  }

  /** {@code "V1 layers"} or {@code "layer"}: which of the two layer lists the file uses. */
  public String format() {
    return v1 ? "V1 layers" : "layer";
  }

  /** The layers that have weight blobs, in file order. */
  public List<Layer> layers() {
    return layers;
  }

  /**
   * Reads {@code file}, keeping the values of the layers whose name {@code keep} accepts.
   *
   * @throws CaffeFormatException if it is not a Caffe model, is truncated or a blob is malformed
   * @throws IOException if it cannot be read
   */
  public static CaffeNet read(Path file, Predicate<String> keep) throws IOException {
    long size = Files.size(file);
    if (size > Integer.MAX_VALUE) {
      throw new CaffeFormatException(file + " is " + size + " bytes: a Caffe model is a protobuf "
          + "message, at most 2 GB");
    }
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      return new Reader(file, size, CodedInputStream.newInstance(raw), keep).net();
    } catch (InvalidProtocolBufferException e) {
      throw new CaffeFormatException(file + " is not a Caffe model (a serialized NetParameter): "
          + e.getMessage().lines().findFirst().orElse("malformed protobuf"), e);
    }
  }

  /** One pass over the file. */
  private static final class Reader {
    private final Path file;
    private final long size;
    private final CodedInputStream in;
    private final Predicate<String> keep;

    Reader(Path file, long size, CodedInputStream in, Predicate<String> keep) {
      this.file = file;
      this.size = size;
      this.in = in;
      this.keep = keep;
      in.setSizeLimit(Integer.MAX_VALUE);
    }

    CaffeNet net() throws IOException {
      List<Layer> current = new ArrayList<>();
      List<Layer> old = new ArrayList<>();
      int tag;
      while ((tag = in.readTag()) != 0) {
        int field = WireFormat.getTagFieldNumber(tag);
        int wire = WireFormat.getTagWireType(tag);
        if (field == 100 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          addIfWeighted(current, message(false));
        } else if (field == 2 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          addIfWeighted(old, message(true));
        } else {
          skipNetField(tag);
        }
      }
      if (current.isEmpty() && old.isEmpty()) {
        throw new CaffeFormatException(file + " has no layer with weights: not a trained Caffe "
            + "model (a .prototxt or solver state?)");
      }
      if (!current.isEmpty() && !old.isEmpty()) {
        throw new CaffeFormatException(file + " mixes the two layer formats (layer and V1 "
            + "layers), as Caffe never writes");
      }
      return new CaffeNet(file, current.isEmpty(), current.isEmpty() ? old : current);
    }

    /**
     * NetParameter's other fields (name, inputs, state, ...): skipped when of their declared wire
     * type; anything else is not a NetParameter.
     */
    private void skipNetField(int tag) throws IOException {
      int field = WireFormat.getTagFieldNumber(tag);
      int wire = WireFormat.getTagWireType(tag);
      boolean known = switch (field) {
        case 1, 3, 6, 8 -> wire == WireFormat.WIRETYPE_LENGTH_DELIMITED;
        case 4 -> wire == WireFormat.WIRETYPE_VARINT
            || wire == WireFormat.WIRETYPE_LENGTH_DELIMITED;
        case 5, 7 -> wire == WireFormat.WIRETYPE_VARINT;
        default -> false;
      };
      if (!known) {
        throw new CaffeFormatException(file + " is not a Caffe model (a serialized NetParameter): "
            + "field " + field + " of wire type " + wire + " at byte " + in.getTotalBytesRead());
      }
      skip(tag);
    }

    private void skip(int tag) throws IOException {
      if (WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        in.skipRawBytes(length());
      } else if (!in.skipField(tag)) {
        throw new CaffeFormatException(file + ": unexpected end of group");
      }
    }

    private static void addIfWeighted(List<Layer> layers, Layer layer) {
      if (layer != null && !layer.blobs().isEmpty()) {
        layers.add(layer);
      }
    }

    /** A {@code LayerParameter} or, when {@code v1}, a {@code V1LayerParameter}. */
    private Layer message(boolean v1) throws IOException {
      int limit = in.pushLimit(length());
      String name = "";
      String type = "";
      List<Blob> blobs = new ArrayList<>();
      int nameField = v1 ? 4 : 1;
      int blobsField = v1 ? 6 : 7;
      int tag;
      while ((tag = in.readTag()) != 0) {
        int field = WireFormat.getTagFieldNumber(tag);
        int wire = WireFormat.getTagWireType(tag);
        if (field == nameField && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          name = in.readStringRequireUtf8();
        } else if (!v1 && field == 2 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          type = in.readStringRequireUtf8();
        } else if (v1 && field == 5 && wire == WireFormat.WIRETYPE_VARINT) {
          type = v1Type(in.readEnum());
        } else if (field == blobsField && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          // Caffe writes the name (field 1 or 4) before the blobs; a file that does not is kept.
          blobs.add(blob(name.isEmpty() || keep.test(name), name, blobs.size()));
        } else {
          skip(tag);
        }
      }
      in.popLimit(limit);
      if (!keep.test(name)) {
        blobs.replaceAll(b -> b.data() == null ? b : new Blob(b.shape(), null));
      }
      return new Layer(name, type, blobs);
    }

    /** A {@code BlobProto}; its values read when {@code values}, else skipped. */
    private Blob blob(boolean values, String layer, int index) throws IOException {
      int limit = in.pushLimit(length());
      long[] legacy = new long[4];
      boolean hasLegacy = false;
      long[] shape = null;
      float[] data = null;
      long count = 0;
      int tag;
      while ((tag = in.readTag()) != 0) {
        int field = WireFormat.getTagFieldNumber(tag);
        int wire = WireFormat.getTagWireType(tag);
        if (field >= 1 && field <= 4 && wire == WireFormat.WIRETYPE_VARINT) {
          legacy[field - 1] = in.readInt64();
          hasLegacy = true;
        } else if (field == 7 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          shape = blobShape();
        } else if (field == 5 || field == 8) {
          boolean doubles = field == 8;
          int width = doubles ? 8 : 4;
          if (wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
            int bytes = length();
            if (bytes % width != 0) {
              throw malformed(layer, index, (doubles ? "double_data" : "data") + " of " + bytes
                  + " bytes");
            }
            if (values) {
              data = append(data, decode(in.readRawBytes(bytes), doubles));
            } else {
              in.skipRawBytes(bytes);
            }
            count += bytes / width;
          } else if (wire
              == (doubles ? WireFormat.WIRETYPE_FIXED64 : WireFormat.WIRETYPE_FIXED32)) {
            float v = doubles ? (float) in.readDouble() : in.readFloat();
            if (values) {
              data = append(data, new float[] {v});
            }
            count++;
          } else {
            skip(tag);
          }
        } else {
          skip(tag);
        }
      }
      in.popLimit(limit);
      if (shape == null) {
        shape = hasLegacy ? legacy : new long[] {count};
      }
      Blob blob = new Blob(shape, data);
      for (long d : shape) {
        if (d < 0) {
          throw malformed(layer, index, "a negative dimension in " + Arrays.toString(shape));
        }
      }
      if (blob.count() != count) {
        throw malformed(layer, index, count + " values for its shape "
            + Arrays.toString(shape).replace(" ", ""));
      }
      if (values && data == null) {
        return new Blob(shape, new float[0]);
      }
      return blob;
    }

    private long[] blobShape() throws IOException {
      int limit = in.pushLimit(length());
      List<Long> dims = new ArrayList<>();
      int tag;
      while ((tag = in.readTag()) != 0) {
        int field = WireFormat.getTagFieldNumber(tag);
        int wire = WireFormat.getTagWireType(tag);
        if (field == 1 && wire == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          int packed = in.pushLimit(length());
          while (in.getBytesUntilLimit() > 0) {
            dims.add(in.readInt64());
          }
          in.popLimit(packed);
        } else if (field == 1 && wire == WireFormat.WIRETYPE_VARINT) {
          dims.add(in.readInt64());
        } else {
          skip(tag);
        }
      }
      in.popLimit(limit);
      return dims.stream().mapToLong(Long::longValue).toArray();
    }

    /** A length prefix, refused when it runs past the end of the file. */
    private int length() throws IOException {
      int n = in.readRawVarint32();
      long left = size - in.getTotalBytesRead();
      if (n < 0 || n > left) {
        throw new CaffeFormatException(file + " is truncated or not a Caffe model: a field of "
            + Integer.toUnsignedString(n) + " bytes at byte " + in.getTotalBytesRead() + " with "
            + left + " left");
      }
      return n;
    }

    private CaffeFormatException malformed(String layer, int index, String what) {
      return new CaffeFormatException(file + ": blob " + index + " of layer '" + layer + "' has "
          + what);
    }
  }

  private static float[] decode(byte[] bytes, boolean doubles) {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (!doubles) {
      float[] out = new float[bytes.length / 4];
      b.asFloatBuffer().get(out);
      return out;
    }
    float[] out = new float[bytes.length / 8];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) b.getDouble(i * 8);
    }
    return out;
  }

  private static float[] append(float[] a, float[] b) {
    if (a == null) {
      return b;
    }
    float[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** The current string type of a V1 enum type that carries weights, else {@code V1 type N}. */
  private static String v1Type(int type) {
    return switch (type) {
      case V1_CONVOLUTION -> "Convolution";
      case V1_INNER_PRODUCT -> "InnerProduct";
      case V1_DECONVOLUTION -> "Deconvolution";
      default -> "V1 type " + type;
    };
  }
}
