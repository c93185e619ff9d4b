package dev.deeplab.internal.serving;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import dev.deeplab.internal.io.TfRecords;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * TF Serving's SavedModel warmup file, {@value #FILE}: requests the server replays when it loads a
 * version ({@code --enable_model_warmup}, on by default), so that the first real request does not
 * pay for graph optimisation and kernel set-up. One predict request per signature, with small
 * synthetic images (two of different sizes for the encoded-image signature, to run its loops).
 *
 * <p>The file is a TFRecord file of {@code tensorflow.serving.PredictionLog} protos. TF Serving's
 * protos are not a dependency here, so the few fields needed are written by number, as declared in
 * {@code tensorflow_serving/apis/prediction_log.proto} ({@code PredictionLog.predict_log = 6}),
 * {@code predict.proto} ({@code PredictLog.request = 1}; {@code PredictRequest.model_spec = 1},
 * {@code inputs = 2}, a map of string to {@code tensorflow.TensorProto}) and {@code model.proto}
 * ({@code ModelSpec.name = 1}, {@code signature_name = 3}). TFRecord framing: little-endian
 * uint64 length, masked CRC-32C of the length, data, masked CRC-32C of the data.
 */
final class WarmupRequests {
  /** Where TF Serving looks for the file, relative to the version directory. */
  static final String FILE = "assets.extra/tf_serving_warmup_requests";

  private static final int PREDICTION_LOG_PREDICT_LOG = 6;
  private static final int PREDICT_LOG_REQUEST = 1;
  private static final int REQUEST_MODEL_SPEC = 1;
  private static final int REQUEST_INPUTS = 2;
  private static final int MODEL_SPEC_NAME = 1;
  private static final int MODEL_SPEC_SIGNATURE_NAME = 3;
  private static final int MAP_KEY = 1;
  private static final int MAP_VALUE = 2;

  private WarmupRequests() {}

  /**
   * Writes the warmup file into the version directory {@code dir}; {@code batched} says whether
   * the signatures take batches (wrapped frozen graphs take one image).
   */
  static void write(Path dir, boolean batched, boolean probabilities) throws IOException {
    List<byte[]> records = new ArrayList<>();
    List<byte[]> encoded = new ArrayList<>();
    encoded.add(png(48, 64));
    if (batched) {
      encoded.add(png(37, 29));
    }
    records.add(predictLog(ServingGraph.DEFAULT_SIGNATURE, ServingGraph.IMAGE_BYTES,
        strings(encoded)));
    TensorProto images = uint8Images(1, 64, 48);
    records.add(predictLog(ServingGraph.IMAGES_SIGNATURE, ServingGraph.IMAGES, images));
    if (probabilities) {
      records.add(predictLog(ServingGraph.PROBABILITIES_SIGNATURE, ServingGraph.IMAGES, images));
    }
    Path file = dir.resolve(FILE);
    Files.createDirectories(file.getParent());
    try (OutputStream out = Files.newOutputStream(file)) {
      for (byte[] r : records) {
        TfRecords.write(out, r);
      }
    }
  }

  /** A PredictionLog holding a PredictLog whose request feeds {@code tensor} to {@code input}. */
  static byte[] predictLog(String signature, String input, TensorProto tensor)
      throws IOException {
    byte[] spec = message(o -> {
      o.writeString(MODEL_SPEC_NAME, "deeplab");
      o.writeString(MODEL_SPEC_SIGNATURE_NAME, signature);
    });
    byte[] entry = message(o -> {
      o.writeString(MAP_KEY, input);
      o.writeByteArray(MAP_VALUE, tensor.toByteArray());
    });
    byte[] request = message(o -> {
      o.writeByteArray(REQUEST_MODEL_SPEC, spec);
      o.writeByteArray(REQUEST_INPUTS, entry);
    });
    byte[] predictLog = message(o -> o.writeByteArray(PREDICT_LOG_REQUEST, request));
    return message(o -> o.writeByteArray(PREDICTION_LOG_PREDICT_LOG, predictLog));
  }

  @FunctionalInterface
  private interface Fields {
    void write(CodedOutputStream out) throws IOException;
  }

  private static byte[] message(Fields fields) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    fields.write(out);
    out.flush();
    return bytes.toByteArray();
  }

  private static TensorProto strings(List<byte[]> values) {
    TensorProto.Builder t = TensorProto.newBuilder().setDtype(DataType.DT_STRING)
        .setTensorShape(TensorShapeProto.newBuilder()
            .addDim(TensorShapeProto.Dim.newBuilder().setSize(values.size())));
    values.forEach(v -> t.addStringVal(ByteString.copyFrom(v)));
    return t.build();
  }

  private static TensorProto uint8Images(int n, int height, int width) {
    byte[] pixels = new byte[n * height * width * 3];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = (byte) (i * 7 % 251);
    }
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (long d : new long[] {n, height, width, 3}) {
      shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
    }
    return TensorProto.newBuilder().setDtype(DataType.DT_UINT8).setTensorShape(shape)
        .setTensorContent(ByteString.copyFrom(pixels)).build();
  }

  /** A small PNG with a colour gradient. */
  private static byte[] png(int width, int height) throws IOException {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        image.setRGB(x, y, (x * 255 / width) << 16 | (y * 255 / height) << 8 | 128);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }
}
