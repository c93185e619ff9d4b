package dev.deeplab.internal.torch;

import java.nio.ByteBuffer;

/**
 * The element types of PyTorch tensors as their files name them: the storage classes of {@code
 * torch.save} ({@code torch.FloatStorage} ...) and the dtype strings of safetensors ({@code F32}
 * ...). Floating types convert to float32; integer and boolean tensors (such as batch norm's
 * {@code num_batches_tracked}) are listed but never read as weights.
 */
public enum TorchDtype {
  FLOAT32("FloatStorage", "F32", 4),
  FLOAT64("DoubleStorage", "F64", 8),
  FLOAT16("HalfStorage", "F16", 2),
  BFLOAT16("BFloat16Storage", "BF16", 2),
  INT64("LongStorage", "I64", 8),
  INT32("IntStorage", "I32", 4),
  INT16("ShortStorage", "I16", 2),
  INT8("CharStorage", "I8", 1),
  UINT8("ByteStorage", "U8", 1),
  BOOL("BoolStorage", "BOOL", 1);

  private final String storageClass;
  private final String safetensorsName;
  private final int bytes;

  TorchDtype(String storageClass, String safetensorsName, int bytes) {
    this.storageClass = storageClass;
    this.safetensorsName = safetensorsName;
    this.bytes = bytes;
  }

  /** Bytes per element. */
  public int bytes() {
    return bytes;
  }

  /** True for the types read as float32 weights. */
  public boolean isFloating() {
    return this == FLOAT32 || this == FLOAT64 || this == FLOAT16 || this == BFLOAT16;
  }

  /** The type of a {@code torch.<name>} storage class, or null for any other name. */
  static TorchDtype ofStorageClass(String name) {
    for (TorchDtype t : values()) {
      if (t.storageClass.equals(name)) {
        return t;
      }
    }
    return null;
  }

  /** The type of a safetensors dtype string, or null. */
  static TorchDtype ofSafetensors(String name) {
    for (TorchDtype t : values()) {
      if (t.safetensorsName.equals(name)) {
        return t;
      }
    }
    return null;
  }

  /** Reads element {@code index} of {@code data} (little-endian) as a float. */
  float read(ByteBuffer data, long index) {
    int at = Math.toIntExact(index * bytes);
    return switch (this) {
      case FLOAT32 -> data.getFloat(at);
      case FLOAT64 -> (float) data.getDouble(at);
      case FLOAT16 -> halfToFloat(data.getShort(at));
      case BFLOAT16 -> Float.intBitsToFloat((data.getShort(at) & 0xffff) << 16);
      case INT64 -> data.getLong(at);
      case INT32 -> data.getInt(at);
      case INT16 -> data.getShort(at);
      case INT8 -> data.get(at);
      case UINT8 -> data.get(at) & 0xff;
      case BOOL -> data.get(at) != 0 ? 1f : 0f;
    };
  }

  /** IEEE 754 binary16 to float (exact: every half is a float). */
  static float halfToFloat(short h) {
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }
}
