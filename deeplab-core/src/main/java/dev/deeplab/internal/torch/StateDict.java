package dev.deeplab.internal.torch;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensors of a PyTorch weight file by state-dict name: a {@code torch.save} archive ({@code
 * .pth}/{@code .pt}, a zip of {@code data.pkl} and raw storages) holding a state dict or a
 * checkpoint that wraps one ({@code {"model_state": ...}} as VainF's DeepLabV3Plus-Pytorch saves,
 * {@code "state_dict"}, {@code "model"}), or a {@code .safetensors} file. A uniform {@code
 * module.} prefix (DataParallel) is removed. Values are read only when asked for.
 */
public final class StateDict {
  private static final String[] WRAPPER_KEYS = {"model_state", "state_dict", "model"};

  private final Path file;
  private final String format;
  private final Map<String, TorchTensor> tensors;

  private StateDict(Path file, String format, Map<String, TorchTensor> tensors) {
    this.file = file;
    this.format = format;
    this.tensors = Collections.unmodifiableMap(tensors);
  }

  /**
   * Reads the names, types and shapes of the tensors of {@code file} (the values stay on disk).
   *
   * @throws TorchFormatException if it is none of the formats, is malformed, asks for a global
   *     other than the tensor-rebuilding ones, or holds no state dict (one line saying which)
   */
  public static StateDict read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new java.io.FileNotFoundException("no weight file " + file);
    }
    byte[] head = new byte[8];
    int n;
    try (InputStream in = Files.newInputStream(file)) {
      n = in.readNBytes(head, 0, head.length);
    }
    if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
      return unwrap(file, "torch.save zip", PthArchive.read(file));
    }
    if (n >= 2 && (head[0] & 0xff) == 0x80 && head[1] <= 5) {
      throw new TorchFormatException(file + " is a pickle without the zip container (the legacy "
          + "torch.save format of PyTorch < 1.6, or a plain pickle): load it in PyTorch and "
          + "save it again with torch.save, or as .safetensors");
    }
    if (n == 8) {
      return new StateDict(file, "safetensors", stripModulePrefix(Safetensors.read(file)));
    }
    throw new TorchFormatException(file + " is neither a torch.save archive nor a safetensors file");
  }

  private static StateDict unwrap(Path file, String format, Object root) throws IOException {
    Object dict = root;
    if (dict instanceof Map<?, ?> m && !holdsTensors(m)) {
      for (String key : WRAPPER_KEYS) {
        if (m.get(key) instanceof Map<?, ?> inner && holdsTensors(inner)) {
          dict = inner;
          format = format + ", checkpoint['" + key + "']";
          break;
        }
      }
    }
    if (!(dict instanceof Map<?, ?> m) || !holdsTensors(m)) {
      String keys = root instanceof Map<?, ?> r ? " (keys: " + String.join(", ",
          r.keySet().stream().limit(8).map(String::valueOf).toList()) + ")" : "";
      throw new TorchFormatException(file + " holds no state dict of tensors" + keys);
    }
    Map<String, TorchTensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      if (e.getValue() instanceof TorchTensor t) {
        tensors.put(String.valueOf(e.getKey()), t);
      }
    }
    return new StateDict(file, format, stripModulePrefix(tensors));
  }

  private static boolean holdsTensors(Map<?, ?> m) {
    return !m.isEmpty() && m.values().stream().anyMatch(v -> v instanceof TorchTensor);
  }

  private static Map<String, TorchTensor> stripModulePrefix(Map<String, TorchTensor> tensors) {
    if (tensors.isEmpty() || !tensors.keySet().stream().allMatch(k -> k.startsWith("module."))) {
      return tensors;
    }
    Map<String, TorchTensor> out = new LinkedHashMap<>();
    tensors.forEach((k, v) -> out.put(k.substring("module.".length()), v));
    return out;
  }

  /** The file read. */
  public Path file() {
    return file;
  }

  /** How it was read, e.g. {@code torch.save zip, checkpoint['model_state']} or {@code safetensors}. */
  public String format() {
    return format;
  }

  /** The tensors by state-dict name, in file order. */
  public Map<String, TorchTensor> tensors() {
    return tensors;
  }
}
