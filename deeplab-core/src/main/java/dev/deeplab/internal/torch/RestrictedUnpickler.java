package dev.deeplab.internal.torch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.PickleException;
import net.razorvine.pickle.Unpickler;

/**
 * Reads the {@code data.pkl} of a {@code torch.save} archive with razorvine's unpickler, accepting
 * only the globals a state dict needs: {@code collections.OrderedDict}, the tensor rebuilders
 * {@code torch._utils._rebuild_tensor_v2} and {@code _rebuild_parameter}, the storage classes
 * ({@code torch.FloatStorage} ...), numpy's scalar and dtype and {@code _codecs.encode} of latin-1
 * text (VainF's checkpoints store their best score as a numpy scalar). Any other global ({@code os.system}, {@code builtins.eval}, a model class ...) is refused
 * with a {@link TorchFormatException} the moment the pickle names it; nothing is ever executed:
 * the accepted globals are Java constructors of plain data.
 *
 * <p>This is the allow-list of PyTorch's own {@code weights_only} unpickler ({@code
 * torch/_weights_only_unpickler.py}), narrowed to what state dicts hold.
 */
final class RestrictedUnpickler extends Unpickler {
  private static final short GLOBAL = 'c';
  private static final short STACK_GLOBAL = 0x93;
  private static final short INST = 'i';
  private static final short OBJ = 'o';
  private static final short BUILD = 'b';
  private static final short SETITEMS = 'u';
  private static final short EXT1 = 0x82;
  private static final short EXT2 = 0x83;
  private static final short EXT4 = 0x84;

  /** A tensor before its storage is attached: what {@code _rebuild_tensor_v2} received. */
  record TensorRef(StorageRef storage, long offset, long[] shape, long[] strides) {}

  /** A storage named by a persistent id: type, key of its archive entry, element count. */
  record StorageRef(TorchDtype dtype, String key, long elements) {}

  /** A numpy scalar: kept as an opaque value (never interpreted). */
  record NumpyScalar() {}

  /**
   * A storage class ({@code torch.FloatStorage}): the global itself appears in persistent ids;
   * never called.
   */
  record StorageClass(TorchDtype dtype) implements IObjectConstructor {
    @Override
    public Object construct(Object[] args) {
      throw new PickleException("a storage class called");
    }
  }

  /** {@code collections.OrderedDict}; BUILD's attributes (a state dict's {@code _metadata}) dropped. */
  static final class OrderedDict extends LinkedHashMap<Object, Object> {
    private static final long serialVersionUID = 1L;
  }

  private final Map<String, IObjectConstructor> allowed = new java.util.HashMap<>();

  RestrictedUnpickler() {
    allowed.put("collections.OrderedDict", args -> {
      OrderedDict d = new OrderedDict();
      if (args.length > 0 && args[0] instanceof List<?> items) {
        for (Object item : items) {
          if (item instanceof Object[] pair && pair.length == 2) {
            d.put(pair[0], pair[1]);
          }
        }
      }
      return d;
    });
    allowed.put("torch._utils._rebuild_tensor_v2", RestrictedUnpickler::rebuildTensor);
    allowed.put("torch._utils._rebuild_tensor", RestrictedUnpickler::rebuildTensor);
    allowed.put("torch._utils._rebuild_parameter", args -> {
      if (args.length < 1 || !(args[0] instanceof TensorRef)) {
        throw new PickleException("_rebuild_parameter without a tensor");
      }
      return args[0];
    });
    for (TorchDtype t : TorchDtype.values()) {
      allowed.put("torch." + storageClassName(t), new StorageClass(t));
    }
    // protocol 2 pickles bytes as _codecs.encode(str, 'latin1') (a numpy scalar's data)
    allowed.put("_codecs.encode", args -> {
      if (args.length != 2 || !(args[0] instanceof String text) || !"latin1".equals(args[1])) {
        throw new PickleException("_codecs.encode other than of a latin1 string");
      }
      return text.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
    });
    IObjectConstructor scalar = args -> new NumpyScalar();
    allowed.put("numpy.core.multiarray.scalar", scalar);
    allowed.put("numpy._core.multiarray.scalar", scalar);
    allowed.put("numpy.dtype", scalar);
  }

  private static String storageClassName(TorchDtype t) {
    for (String name : List.of("FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage",
        "LongStorage", "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage")) {
      if (TorchDtype.ofStorageClass(name) == t) {
        return name;
      }
    }
    throw new IllegalStateException("no storage class for " + t);
  }

  /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks, ...)}. */
  private static Object rebuildTensor(Object[] args) {
    if (args.length < 4 || !(args[0] instanceof StorageRef storage)) {
      throw new PickleException("tensor rebuilt without a storage");
    }
    return new TensorRef(storage, toLong(args[1]), longs(args[2]), longs(args[3]));
  }

  private static long toLong(Object o) {
    if (o instanceof Number n) {
      if (o instanceof java.math.BigInteger b && b.bitLength() > 63) {
        throw new PickleException("integer out of range: " + b);
      }
      return n.longValue();
    }
    throw new PickleException("expected an integer, got " + describe(o));
  }

  private static long[] longs(Object o) {
    if (!(o instanceof Object[] items)) {
      throw new PickleException("expected a tuple of integers, got " + describe(o));
    }
    long[] out = new long[items.length];
    for (int i = 0; i < items.length; i++) {
      out[i] = toLong(items[i]);
    }
    return out;
  }

  private static String describe(Object o) {
    return o == null ? "None" : o.getClass().getSimpleName();
  }

  @Override
  protected Object dispatch(short key) throws PickleException, IOException {
    switch (key) {
      case GLOBAL -> {
        String module = readLine();
        String name = readLine();
        stack.add(resolve(module, name));
        return NO_RETURN_VALUE;
      }
      case STACK_GLOBAL -> {
        Object name = stack.pop();
        Object module = stack.pop();
        if (!(module instanceof String m) || !(name instanceof String n)) {
          throw new RefusedGlobal("a global named by non-strings");
        }
        stack.add(resolve(m, n));
        return NO_RETURN_VALUE;
      }
      case BUILD -> {
        // Attributes of an OrderedDict (_metadata) or a numpy scalar's dtype: not kept. Anything
        // else is refused rather than handed to razorvine's reflective __setstate__.
        stack.pop();
        Object target = stack.peek();
        if (!(target instanceof OrderedDict) && !(target instanceof NumpyScalar)) {
          throw new RefusedGlobal("state set on a " + describe(target) + " (BUILD)");
        }
        return NO_RETURN_VALUE;
      }
      case SETITEMS -> {
        // razorvine collects the items in a HashMap first; a state dict keeps its order.
        List<Object> items = stack.pop_all_since_marker();
        if (!(stack.peek() instanceof Map<?, ?> target) || items.size() % 2 != 0) {
          throw new PickleException("SETITEMS without a dict");
        }
        @SuppressWarnings("unchecked")
        Map<Object, Object> dict = (Map<Object, Object>) target;
        for (int i = 0; i < items.size(); i += 2) {
          dict.put(items.get(i), items.get(i + 1));
        }
        return NO_RETURN_VALUE;
      }
      case INST, OBJ -> throw new RefusedGlobal("an old-style class instance (INST/OBJ)");
      case EXT1, EXT2, EXT4 -> throw new RefusedGlobal("an extension-registry global (EXT)");
      default -> {
        return super.dispatch(key);
      }
    }
  }

  private IObjectConstructor resolve(String module, String name) {
    IObjectConstructor c = allowed.get(module + "." + name);
    if (c == null) {
      throw new RefusedGlobal("global " + module + "." + name);
    }
    return c;
  }

  /** {@code ('storage', storage_type, key, location, numel)} of {@code torch.save}. */
  @Override
  protected Object persistentLoad(Object pid) {
    if (pid instanceof Object[] t && t.length == 5 && "storage".equals(t[0])
        && t[1] instanceof StorageClass type && t[2] instanceof String key) {
      long n = toLong(t[4]);
      if (n < 0) {
        throw new PickleException("storage " + key + " with " + n + " elements");
      }
      if (!key.matches("[A-Za-z0-9_]{1,64}")) {
        throw new PickleException("storage key '" + key + "' is not a plain name");
      }
      return new StorageRef(type.dtype(), key, n);
    }
    throw new PickleException("persistent id that is not a typed tensor storage");
  }

  private String readLine() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    for (int i = 0; i < 256; i++) {
      int b = input.read();
      if (b < 0) {
        throw new PickleException("pickle ends inside a global name");
      }
      if (b == '\n') {
        return line.toString(StandardCharsets.UTF_8);
      }
      line.write(b);
    }
    throw new PickleException("global name longer than 256 bytes");
  }

  /** A global outside the allow-list; the loader turns it into a one-line refusal. */
  static final class RefusedGlobal extends PickleException {
    private static final long serialVersionUID = 1L;

    RefusedGlobal(String what) {
      super(what);
    }
  }
}
