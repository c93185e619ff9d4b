package dev.deeplab.internal.tflite;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes a TFLite flatbuffer into {@link TfliteModel} records, eagerly and with every offset and
 * index checked. Field numbers below are the declaration order of each table in the TFLite schema
 * ({@code schema.fbs}); a union takes two numbers (its type, then its value).
 */
final class ModelParser {

  /** The {@code file_identifier} declared by the TFLite schema. */
  static final String FILE_IDENTIFIER = "TFL3";

  // table Model
  private static final int MODEL_VERSION = 0;
  private static final int MODEL_OPERATOR_CODES = 1;
  private static final int MODEL_SUBGRAPHS = 2;
  private static final int MODEL_DESCRIPTION = 3;
  private static final int MODEL_BUFFERS = 4;
  // table OperatorCode
  private static final int OPCODE_DEPRECATED_BUILTIN = 0;
  private static final int OPCODE_CUSTOM = 1;
  private static final int OPCODE_VERSION = 2;
  private static final int OPCODE_BUILTIN = 3;
  // table SubGraph
  private static final int SUBGRAPH_TENSORS = 0;
  private static final int SUBGRAPH_INPUTS = 1;
  private static final int SUBGRAPH_OUTPUTS = 2;
  private static final int SUBGRAPH_OPERATORS = 3;
  private static final int SUBGRAPH_NAME = 4;
  // table Tensor
  private static final int TENSOR_SHAPE = 0;
  private static final int TENSOR_TYPE = 1;
  private static final int TENSOR_BUFFER = 2;
  private static final int TENSOR_NAME = 3;
  private static final int TENSOR_QUANTIZATION = 4;
  private static final int TENSOR_SPARSITY = 6;
  // table QuantizationParameters
  private static final int QUANT_MIN = 0;
  private static final int QUANT_MAX = 1;
  private static final int QUANT_SCALE = 2;
  private static final int QUANT_ZERO_POINT = 3;
  private static final int QUANT_DETAILS_TYPE = 4;
  private static final int QUANT_DIMENSION = 6;
  // table Operator
  private static final int OP_OPCODE_INDEX = 0;
  private static final int OP_INPUTS = 1;
  private static final int OP_OUTPUTS = 2;
  private static final int OP_OPTIONS_TYPE = 3;
  private static final int OP_OPTIONS = 4;
  // table Buffer
  private static final int BUFFER_DATA = 0;
  private static final int BUFFER_OFFSET = 1;
  private static final int BUFFER_SIZE = 2;

  private final ByteBuffer bb;

  private ModelParser(ByteBuffer bb) {
    this.bb = bb;
  }

  /** Parses the whole file held in {@code bb} (position 0 = file start, little-endian). */
  static TfliteModel parse(ByteBuffer bb) throws TfliteFormatException {
    checkHeader(bb);
    return new ModelParser(bb).model();
  }

  private static void checkHeader(ByteBuffer bb) throws TfliteFormatException {
    int n = bb.limit();
    if (n == 0) {
      throw new TfliteFormatException("not a TFLite file: the file is empty (0 bytes)");
    }
    if (n < 8) {
      throw new TfliteFormatException(
          "not a TFLite file: " + n + " bytes is too short for a flatbuffer header");
    }
    byte[] id = new byte[4];
    bb.get(4, id);
    if (!FILE_IDENTIFIER.equals(new String(id, StandardCharsets.ISO_8859_1))) {
      throw new TfliteFormatException(
          "not a TFLite file: file identifier is '"
              + printable(id)
              + "', expected '"
              + FILE_IDENTIFIER
              + "'");
    }
  }

  private TfliteModel model() throws TfliteFormatException {
    CheckedTable m = CheckedTable.root(bb, "model");
    long version = m.getUint(MODEL_VERSION, 0);
    String description = m.string(MODEL_DESCRIPTION);

    List<TfliteBuffer> buffers = new ArrayList<>();
    int[] bv = m.vector(MODEL_BUFFERS, 4);
    for (int i = 0; bv != null && i < bv[1]; i++) {
      buffers.add(buffer(m.tableAt(bv[0], i, "buffer " + i), i));
    }

    List<TfliteOperatorCode> codes = new ArrayList<>();
    int[] cv = m.vector(MODEL_OPERATOR_CODES, 4);
    for (int i = 0; cv != null && i < cv[1]; i++) {
      codes.add(operatorCode(m.tableAt(cv[0], i, "operator code " + i)));
    }

    List<TfliteSubGraph> subgraphs = new ArrayList<>();
    int[] sv = m.vector(MODEL_SUBGRAPHS, 4);
    if (sv == null || sv[1] == 0) {
      throw new TfliteFormatException("corrupt TFLite file: the model has no subgraph");
    }
    for (int i = 0; i < sv[1]; i++) {
      String what = "subgraph " + i;
      subgraphs.add(subgraph(m.tableAt(sv[0], i, what), what, codes, buffers.size()));
    }
    return new TfliteModel(bb, version, description, codes, subgraphs, buffers);
  }

  private TfliteBuffer buffer(CheckedTable t, int index) throws TfliteFormatException {
    long offset = t.getLong(BUFFER_OFFSET, 0);
    if (offset > 1) { // data stored outside the flatbuffer (models over 2 GB)
      long size = t.getLong(BUFFER_SIZE, 0);
      CheckedTable.requireRange(bb, offset, size, "buffer " + index + " data");
      return new TfliteBuffer(index, (int) offset, (int) size);
    }
    int[] v = t.vector(BUFFER_DATA, 1);
    return v == null ? new TfliteBuffer(index, 0, 0) : new TfliteBuffer(index, v[0], v[1]);
  }

  private static TfliteOperatorCode operatorCode(CheckedTable t) throws TfliteFormatException {
    int deprecated = t.getByte(OPCODE_DEPRECATED_BUILTIN, (byte) 0);
    int builtin = t.getInt(OPCODE_BUILTIN, 0);
    return new TfliteOperatorCode(
        Math.max(deprecated, builtin), t.string(OPCODE_CUSTOM), t.getInt(OPCODE_VERSION, 1));
  }

  private TfliteSubGraph subgraph(
      CheckedTable g, String what, List<TfliteOperatorCode> codes, int bufferCount)
      throws TfliteFormatException {
    List<TfliteTensor> tensors = new ArrayList<>();
    int[] tv = g.vector(SUBGRAPH_TENSORS, 4);
    for (int i = 0; tv != null && i < tv[1]; i++) {
      String tw = what + " tensor " + i;
      tensors.add(tensor(g.tableAt(tv[0], i, tw), i, tw, bufferCount));
    }
    int n = tensors.size();
    List<TfliteOperator> ops = new ArrayList<>();
    int[] ov = g.vector(SUBGRAPH_OPERATORS, 4);
    for (int i = 0; ov != null && i < ov[1]; i++) {
      String ow = what + " operator " + i;
      ops.add(operator(g.tableAt(ov[0], i, ow), i, ow, codes, n));
    }
    int[] inputs = tensorIndices(g.intVector(SUBGRAPH_INPUTS), n, what + " inputs", false);
    int[] outputs = tensorIndices(g.intVector(SUBGRAPH_OUTPUTS), n, what + " outputs", false);
    return new TfliteSubGraph(g.string(SUBGRAPH_NAME), tensors, ops, inputs, outputs);
  }

  private static TfliteTensor tensor(CheckedTable t, int index, String what, int bufferCount)
      throws TfliteFormatException {
    int[] shape = t.intVector(TENSOR_SHAPE);
    for (int d : shape) {
      if (d < 0) {
        throw new TfliteFormatException(
            "corrupt TFLite file: " + what + " has a negative dimension " + d);
      }
    }
    TensorType type = TensorType.fromCode(t.getByte(TENSOR_TYPE, (byte) 0));
    long buffer = t.getUint(TENSOR_BUFFER, 0);
    if (buffer >= bufferCount) {
      throw new TfliteFormatException(
          "corrupt TFLite file: "
              + what
              + " refers to buffer "
              + buffer
              + " but the model has "
              + bufferCount);
    }
    if (t.has(TENSOR_SPARSITY)) {
      throw new TfliteFormatException("unsupported TFLite file: " + what + " is sparse");
    }
    CheckedTable q = t.table(TENSOR_QUANTIZATION, what + " quantization");
    return new TfliteTensor(
        index, t.string(TENSOR_NAME), type, shape, (int) buffer, quantization(q, what));
  }

  private static TfliteQuantization quantization(CheckedTable q, String what)
      throws TfliteFormatException {
    if (q == null) {
      return TfliteQuantization.NONE;
    }
    if (q.getByte(QUANT_DETAILS_TYPE, (byte) 0) != 0) {
      throw new TfliteFormatException(
          "unsupported TFLite file: " + what + " uses custom quantization details");
    }
    float[] scale = q.floatVector(QUANT_SCALE);
    long[] zeroPoint = q.longVector(QUANT_ZERO_POINT);
    if (zeroPoint.length != 0 && zeroPoint.length != scale.length) {
      throw new TfliteFormatException(
          "corrupt TFLite file: "
              + what
              + " has "
              + scale.length
              + " quantization scales but "
              + zeroPoint.length
              + " zero points");
    }
    return new TfliteQuantization(
        q.floatVector(QUANT_MIN),
        q.floatVector(QUANT_MAX),
        scale,
        zeroPoint,
        q.getInt(QUANT_DIMENSION, 0));
  }

  private static TfliteOperator operator(
      CheckedTable o, int index, String what, List<TfliteOperatorCode> codes, int tensorCount)
      throws TfliteFormatException {
    long code = o.getUint(OP_OPCODE_INDEX, 0);
    if (code >= codes.size()) {
      throw new TfliteFormatException(
          "corrupt TFLite file: "
              + what
              + " has opcode index "
              + code
              + " but the model has "
              + codes.size()
              + " operator codes");
    }
    int[] inputs = tensorIndices(o.intVector(OP_INPUTS), tensorCount, what + " inputs", true);
    int[] outputs = tensorIndices(o.intVector(OP_OUTPUTS), tensorCount, what + " outputs", false);
    int optionsType = Byte.toUnsignedInt(o.getByte(OP_OPTIONS_TYPE, (byte) 0));
    CheckedTable opts = o.table(OP_OPTIONS, what + " options");
    TfliteOptions options = opts == null ? null : OptionsParser.parse(optionsType, opts);
    return new TfliteOperator(index, codes.get((int) code), inputs, outputs, options);
  }

  private static int[] tensorIndices(int[] indices, int tensorCount, String what, boolean optional)
      throws TfliteFormatException {
    for (int i : indices) {
      if (i >= tensorCount || i < (optional ? -1 : 0)) {
        throw new TfliteFormatException(
            "corrupt TFLite file: "
                + what
                + " refer to tensor "
                + i
                + " but the subgraph has "
                + tensorCount);
      }
    }
    return indices;
  }

  private static String printable(byte[] bytes) {
    StringBuilder sb = new StringBuilder();
    for (byte b : bytes) {
      int c = b & 0xFF;
      if (c >= 0x20 && c < 0x7F && c != '\'' && c != '\\') {
        sb.append((char) c);
      } else {
        sb.append(String.format("\\x%02X", c));
      }
    }
    return sb.toString();
  }
}
