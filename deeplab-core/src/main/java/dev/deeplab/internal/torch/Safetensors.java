package dev.deeplab.internal.torch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@code .safetensors} file (Hugging Face's format): an unsigned 64-bit little-endian header
 * length, a JSON header mapping each name to {@code {"dtype", "shape", "data_offsets": [begin,
 * end]}} (offsets into the data after the header; an optional {@code __metadata__}), then the raw
 * little-endian data. Every entry's offsets are checked to lie in the file and to span exactly
 * its shape's bytes before any value is read.
 */
final class Safetensors {
  private Safetensors() {}

  /** The largest header we read (real ones are well under 1 MB). */
  private static final long MAX_HEADER = 100L << 20;

  static Map<String, TorchTensor> read(Path file) throws IOException {
    long size;
    JsonNode header;
    long dataStart;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      size = ch.size();
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      while (len.hasRemaining() && ch.read(len) >= 0) {
        // fill
      }
      if (len.hasRemaining()) {
        throw new TorchFormatException(file + " is too short for a safetensors header");
      }
      long n = len.flip().getLong();
      if (n < 2 || n > MAX_HEADER || n > size - 8) {
        throw new TorchFormatException(file + " is not a safetensors file (header length " + n
            + " in a file of " + size + " bytes)");
      }
      ByteBuffer json = ByteBuffer.allocate((int) n);
      while (json.hasRemaining() && ch.read(json) >= 0) {
        // fill
      }
      try {
        header = new ObjectMapper().readTree(new String(json.array(), StandardCharsets.UTF_8));
      } catch (JsonProcessingException e) {
        throw new TorchFormatException(file + ": safetensors header is not JSON");
      }
      dataStart = 8 + n;
    }
    if (header == null || !header.isObject()) {
      throw new TorchFormatException(file + ": safetensors header is not a JSON object");
    }
    long dataSize = size - dataStart;
    Map<String, TorchTensor> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      out.put(e.getKey(), tensor(file, e.getKey(), e.getValue(), dataStart, dataSize));
    }
    return out;
  }

  private static TorchTensor tensor(Path file, String name, JsonNode info, long dataStart,
      long dataSize) throws TorchFormatException {
    String where = file + ": tensor " + name;
    JsonNode dtypeNode = info.get("dtype");
    JsonNode shapeNode = info.get("shape");
    JsonNode offsets = info.get("data_offsets");
    if (dtypeNode == null || !dtypeNode.isTextual() || shapeNode == null || !shapeNode.isArray()
        || offsets == null || !offsets.isArray() || offsets.size() != 2) {
      throw new TorchFormatException(where + " lacks dtype, shape or data_offsets");
    }
    TorchDtype dtype = TorchDtype.ofSafetensors(dtypeNode.asText());
    if (dtype == null) {
      throw new TorchFormatException(where + " has unsupported dtype " + dtypeNode.asText());
    }
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.canConvertToLong()) {
        throw new TorchFormatException(where + " has a non-integer dimension " + d);
      }
      shape[i] = d.asLong();
    }
    long n;
    try {
      n = TorchTensor.elements(shape);
    } catch (TorchFormatException e) {
      throw new TorchFormatException(where + ": " + e.getMessage());
    }
    if (!offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
      throw new TorchFormatException(where + " has non-integer data offsets");
    }
    long begin = offsets.get(0).asLong();
    long end = offsets.get(1).asLong();
    if (begin < 0 || end < begin || end > dataSize) {
      throw new TorchFormatException(where + " has data offsets [" + begin + ", " + end
          + "] outside the " + dataSize + " data bytes");
    }
    if (end - begin != n * dtype.bytes()) {
      throw new TorchFormatException(where + " spans " + (end - begin) + " bytes where its shape "
          + dev.deeplab.internal.weights.Shapes.format(shape) + " of " + dtype + " needs "
          + n * dtype.bytes());
    }
    long from = dataStart + begin;
    return new TorchTensor(dtype, shape, TorchTensor.contiguousStrides(shape), 0, n,
        () -> {
          try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
            long at = from;
            while (b.hasRemaining()) {
              int r = ch.read(b, at);
              if (r < 0) {
                throw new TorchFormatException(file + " is truncated");
              }
              at += r;
            }
            return b.flip();
          }
        });
  }
}
