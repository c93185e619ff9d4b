package dev.deeplab.internal.tflite;

import dev.deeplab.internal.weights.FloatTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A TFLite model read from its flatbuffer ({@code root_type Model} of the TFLite schema,
 * tensorflow/compiler/mlir/lite/schema/schema.fbs): operator codes, subgraphs (tensors and
 * operators) and constant buffers. Parsing is eager and validates every offset and index, so a
 * model that parses can be walked without further bounds checks.
 *
 * <p>This is a small hand-written reader over {@link com.google.flatbuffers.Table}; it decodes only
 * what is needed to list a graph and extract its weights.
 */
public final class TfliteModel {

  private final ByteBuffer file;
  private final long version;
  private final String description;
  private final List<TfliteOperatorCode> operatorCodes;
  private final List<TfliteSubGraph> subgraphs;
  private final List<TfliteBuffer> buffers;

  TfliteModel(
      ByteBuffer file,
      long version,
      String description,
      List<TfliteOperatorCode> operatorCodes,
      List<TfliteSubGraph> subgraphs,
      List<TfliteBuffer> buffers) {
    this.file = file;
    this.version = version;
    this.description = description;
    this.operatorCodes = List.copyOf(operatorCodes);
    this.subgraphs = List.copyOf(subgraphs);
    this.buffers = List.copyOf(buffers);
  }

  /**
   * Reads and parses a {@code .tflite} file.
   *
   * @throws IOException if the file cannot be read
   * @throws TfliteFormatException if it is not a well-formed TFLite flatbuffer
   */
  public static TfliteModel read(Path path) throws IOException, TfliteFormatException {
    return parse(Files.readAllBytes(path));
  }

  /**
   * Parses the bytes of a {@code .tflite} file. The array is not copied; do not modify it while the
   * model is in use.
   *
   * @throws TfliteFormatException if the bytes are not a well-formed TFLite flatbuffer
   */
  public static TfliteModel parse(byte[] bytes) throws TfliteFormatException {
    ByteBuffer bb = ByteBuffer.wrap(bytes).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    try {
      return ModelParser.parse(bb);
    } catch (RuntimeException e) {
      // Every offset is checked before use, so this is a reader bug; still report it as a
      // format problem rather than let it escape. The cause marks it as unexpected.
      throw new TfliteFormatException("malformed TFLite file (unexpected " + e + ")", e);
    }
  }

  /** The schema version stored in the file (3 for current files). */
  public long version() {
    return version;
  }

  /** The model description, e.g. the converter name ({@code ""} if absent). */
  public String description() {
    return description;
  }

  /** The operator-code table that operators index into. */
  public List<TfliteOperatorCode> operatorCodes() {
    return operatorCodes;
  }

  /** All subgraphs; subgraph 0 is the main graph. */
  public List<TfliteSubGraph> subgraphs() {
    return subgraphs;
  }

  /** The main (first) subgraph. */
  public TfliteSubGraph mainSubGraph() {
    return subgraphs.get(0);
  }

  /** All buffers; buffer 0 is the empty sentinel by convention. */
  public List<TfliteBuffer> buffers() {
    return buffers;
  }

  /** The bytes of buffer {@code index} as a read-only little-endian view (position 0). */
  public ByteBuffer bufferData(int index) {
    TfliteBuffer b = buffers.get(index);
    return file.duplicate()
        .position(b.offset())
        .limit(b.offset() + b.length())
        .slice()
        .order(ByteOrder.LITTLE_ENDIAN);
  }

  /** The constant data of {@code tensor} (empty for activations). */
  public ByteBuffer tensorData(TfliteTensor tensor) {
    return bufferData(tensor.buffer());
  }

  /**
   * The real values of a constant tensor; see {@link TfliteDequantizer#dequantize}.
   *
   * @throws TfliteFormatException if the tensor has no data, or its data or quantisation parameters
   *     do not fit its type and shape
   */
  public FloatTensor dequantize(TfliteTensor tensor) throws TfliteFormatException {
    return TfliteDequantizer.dequantize(tensor, tensorData(tensor));
  }
}
