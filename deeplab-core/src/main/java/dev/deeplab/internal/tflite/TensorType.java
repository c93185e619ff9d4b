package dev.deeplab.internal.tflite;

/**
 * Element types of TFLite tensors, with the codes of {@code enum TensorType} in the TFLite
 * flatbuffer schema ({@code schema.fbs}).
 */
public enum TensorType {
  /** 32-bit IEEE float. */
  FLOAT32(0, 4),
  /** 16-bit IEEE float. */
  FLOAT16(1, 2),
  /** Signed 32-bit integer (e.g. quantised biases). */
  INT32(2, 4),
  /** Unsigned 8-bit integer (asymmetric quantisation, as in the DeepLab files). */
  UINT8(3, 1),
  /** Signed 64-bit integer (e.g. ARG_MAX output). */
  INT64(4, 8),
  /** Variable-length strings. */
  STRING(5, 0),
  /** Boolean, one byte each. */
  BOOL(6, 1),
  /** Signed 16-bit integer. */
  INT16(7, 2),
  /** Complex of two float32. */
  COMPLEX64(8, 8),
  /** Signed 8-bit integer (symmetric / per-axis quantisation). */
  INT8(9, 1),
  /** 64-bit IEEE float. */
  FLOAT64(10, 8),
  /** Complex of two float64. */
  COMPLEX128(11, 16),
  /** Unsigned 64-bit integer. */
  UINT64(12, 8),
  /** Resource handle. */
  RESOURCE(13, 0),
  /** Variant. */
  VARIANT(14, 0),
  /** Unsigned 32-bit integer. */
  UINT32(15, 4),
  /** Unsigned 16-bit integer. */
  UINT16(16, 2),
  /** Packed signed 4-bit integer. */
  INT4(17, 0),
  /** bfloat16. */
  BFLOAT16(18, 2),
  /** Packed signed 2-bit integer. */
  INT2(19, 0),
  /** Packed unsigned 4-bit integer. */
  UINT4(20, 0),
  /** 8-bit float, e4m3fn. */
  FLOAT8_E4M3FN(21, 1),
  /** 8-bit float, e5m2. */
  FLOAT8_E5M2(22, 1);

  private static final TensorType[] BY_CODE = values();

  private final int code;
  private final int byteSize;

  TensorType(int code, int byteSize) {
    this.code = code;
    this.byteSize = byteSize;
  }

  /** The schema code of this type. */
  public int code() {
    return code;
  }

  /** Bytes per element, or 0 for types that are packed or variable-length. */
  public int byteSize() {
    return byteSize;
  }

  /**
   * The type with schema code {@code code}.
   *
   * @throws TfliteFormatException if the code is not in the schema
   */
  public static TensorType fromCode(int code) throws TfliteFormatException {
    if (code < 0 || code >= BY_CODE.length) {
      throw new TfliteFormatException("corrupt TFLite file: unknown tensor type code " + code);
    }
    return BY_CODE[code];
  }
}
