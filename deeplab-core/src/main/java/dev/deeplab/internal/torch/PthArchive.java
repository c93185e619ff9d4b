package dev.deeplab.internal.torch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import net.razorvine.pickle.PickleException;

/**
 * A {@code torch.save} archive (PyTorch ≥ 1.6): a zip with {@code <name>/data.pkl}, the pickled
 * object whose tensors name their storages by persistent id, and {@code <name>/data/<key>}, each
 * storage's raw bytes ({@code torch/serialization.py}). The pickle is read with {@link
 * RestrictedUnpickler}; tensors become {@link TorchTensor}s over their storage entries, checked
 * against the entries' sizes.
 */
final class PthArchive {
  private PthArchive() {}

  /** The largest pickle we read (state dicts' pickles are a few hundred kB). */
  private static final long MAX_PICKLE = 256L << 20;

  /** Reads the pickled object with its tensors resolved (maps, lists and tuples kept as such). */
  static Object read(Path file) throws IOException {
    Map<String, ZipEntry> data = new HashMap<>();
    ZipEntry pickle = null;
    String prefix = null;
    String byteOrder = "little";
    try (ZipFile zip = new ZipFile(file.toFile())) {
      for (ZipEntry e : java.util.Collections.list(zip.entries())) {
        String name = e.getName();
        if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - 9) {
          pickle = e;
          prefix = name.substring(0, name.length() - "data.pkl".length());
        }
      }
      if (pickle == null) {
        throw new TorchFormatException(file + " is a zip without <archive>/data.pkl: not a "
            + "torch.save archive");
      }
      for (ZipEntry e : java.util.Collections.list(zip.entries())) {
        if (e.getName().startsWith(prefix + "data/")) {
          data.put(e.getName().substring(prefix.length() + 5), e);
        }
      }
      ZipEntry order = zip.getEntry(prefix + "byteorder");
      if (order != null) {
        try (InputStream in = zip.getInputStream(order)) {
          byteOrder = new String(in.readNBytes(16), StandardCharsets.US_ASCII).strip();
        }
      }
      if (!byteOrder.equals("little")) {
        throw new TorchFormatException(file + " was saved " + byteOrder + "-endian; only "
            + "little-endian archives are read");
      }
      if (pickle.getSize() > MAX_PICKLE) {
        throw new TorchFormatException(file + ": data.pkl of " + pickle.getSize() + " bytes");
      }
      Object root;
      try (InputStream in = zip.getInputStream(pickle)) {
        root = new RestrictedUnpickler().load(in);
      } catch (RestrictedUnpickler.RefusedGlobal e) {
        throw new TorchFormatException(file + " asks for " + e.getMessage() + ", which a state "
            + "dict does not need: refused (only tensors, storages and OrderedDict are accepted)");
      } catch (PickleException | ClassCastException | IllegalArgumentException e) {
        throw new TorchFormatException(file + ": malformed data.pkl (" + e.getMessage() + ")");
      }
      return resolve(file, root, data, new java.util.IdentityHashMap<>(), 0);
    }
  }

  /** Replaces every {@link RestrictedUnpickler.TensorRef} by a {@link TorchTensor}. */
  private static Object resolve(Path file, Object o, Map<String, ZipEntry> data,
      Map<Object, Object> done, int depth) throws TorchFormatException {
    if (depth > 64) {
      throw new TorchFormatException(file + ": data.pkl nests deeper than 64 levels");
    }
    if (o instanceof RestrictedUnpickler.TensorRef ref) {
      RestrictedUnpickler.StorageRef s = ref.storage();
      ZipEntry entry = data.get(s.key());
      if (entry == null) {
        throw new TorchFormatException(file + ": storage data/" + s.key() + " is missing");
      }
      if (s.elements() > (Integer.MAX_VALUE - 8L) / s.dtype().bytes()) {
        throw new TorchFormatException(file + ": storage data/" + s.key() + " of "
            + s.elements() + " elements is too large");
      }
      long need = s.elements() * s.dtype().bytes();
      if (entry.getSize() != need) {
        throw new TorchFormatException(file + ": storage data/" + s.key() + " has "
            + entry.getSize() + " bytes where " + s.elements() + " " + s.dtype() + " need "
            + need);
      }
      try {
        return new TorchTensor(s.dtype(), ref.shape(), ref.strides(), ref.offset(), s.elements(),
            () -> readEntry(file, entry.getName(), need));
      } catch (TorchFormatException e) {
        throw new TorchFormatException(file + ": " + e.getMessage());
      }
    }
    if (o instanceof Map<?, ?> m) {
      if (done.containsKey(m)) {
        return done.get(m);
      }
      Map<Object, Object> out = new java.util.LinkedHashMap<>();
      done.put(m, out);
      for (Map.Entry<?, ?> e : m.entrySet()) {
        out.put(e.getKey(), resolve(file, e.getValue(), data, done, depth + 1));
      }
      return out;
    }
    if (o instanceof List<?> l) {
      if (done.containsKey(l)) {
        return done.get(l);
      }
      List<Object> out = new ArrayList<>(l.size());
      done.put(l, out);
      for (Object x : l) {
        out.add(resolve(file, x, data, done, depth + 1));
      }
      return out;
    }
    if (o instanceof Object[] tuple) {
      List<Object> out = new ArrayList<>(tuple.length);
      for (Object x : tuple) {
        out.add(resolve(file, x, data, done, depth + 1));
      }
      return out;
    }
    return o;
  }

  private static ByteBuffer readEntry(Path file, String name, long size) throws IOException {
    try (ZipFile zip = new ZipFile(file.toFile())) {
      ZipEntry e = zip.getEntry(name);
      if (e == null) {
        throw new TorchFormatException(file + ": storage " + name + " disappeared");
      }
      try (InputStream in = zip.getInputStream(e)) {
        byte[] bytes = in.readNBytes((int) size);
        if (bytes.length != size) {
          throw new TorchFormatException(file + ": storage " + name + " is truncated");
        }
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
      }
    }
  }
}
