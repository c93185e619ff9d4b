package dev.deeplab.internal.onnx;

import dev.deeplab.export.OnnxExporter.CalibrationListener;
import dev.deeplab.image.ImageReader;
import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.io.AtomicFiles;
import dev.deeplab.internal.io.FileChecksum;
import dev.deeplab.internal.onnx.OnnxModelWriter.Outputs;
import dev.deeplab.internal.onnx.proto.Onnx.ModelProto;
import dev.deeplab.internal.onnx.proto.Onnx.StringStringEntryProto;
import dev.deeplab.internal.serving.FrozenGraphWrapper;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/**
 * ONNX files of our SavedModels: writing one ({@link #write}), and the cached conversion the ONNX
 * Runtime engine loads ({@link #cached}), named after the checksums of the model's files and of
 * {@link #FORMAT}, written under a temporary name and renamed (processes starting together are
 * safe).
 */
public final class OnnxFiles {
  /** Changes whenever the ONNX written for the same model changes, invalidating cached files. */
  static final String FORMAT = "deeplab-onnx-8";
  /** The metadata key describing an int8 model's quantisation (absent in fp32 models). */
  public static final String QUANTIZATION_KEY = "deeplab_quantization";

  private OnnxFiles() {}

  /** Writes {@code model}'s ONNX form to {@code target}; returns the batch norms folded. */
  public static int write(Path model, Path target, Outputs outputs) throws IOException {
    Path dir = SavedModels.resolve(model);
    OnnxModelWriter.Written w = build(dir, checkedInfo(dir), outputs);
    AtomicFiles.write(target, out -> w.model().writeTo(out));
    return w.foldedBatchNorms();
  }

  /** The model info of {@code dir}, if it is a single-scale SavedModel of ours with weights. */
  private static ModelInfo checkedInfo(Path dir) throws IOException {
    ModelInfo info = SavedModels.readInfo(dir);
    String unsupported = unsupported(info);
    if (unsupported != null) {
      throw new IOException(dir + " " + unsupported);
    }
    return info;
  }

  /** Why the model of {@code info} cannot be written as ONNX, or null if it can. */
  private static String unsupported(ModelInfo info) {
    if (FrozenGraphWrapper.isWrapped(info)) {
      return "wraps a frozen graph: it has no weights of ours to write as ONNX (import the "
          + "checkpoint instead)";
    }
    if (info.config().variant().family() == ModelVariant.Family.PYTORCH) {
      return "holds a PyTorch network, which the ONNX export does not write (export the "
          + "PyTorch model with torch.onnx.export instead)";
    }
    if (!info.serving().singleScale()) {
      return "runs multi-scale inference, which the ONNX export does not write: re-export it "
          + "with one scale first (deeplab export --model ... --inference-scales 1.0)";
    }
    return null;
  }

  /**
   * Whether {@code model} (a SavedModel directory of ours, version or base) can be written as
   * ONNX; false also when it cannot be read (loading it reports why).
   */
  public static boolean supports(Path model) {
    try {
      return supports(SavedModels.readInfo(SavedModels.resolve(model)));
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Whether the model {@code info} describes can be written as ONNX. */
  public static boolean supports(ModelInfo info) {
    return unsupported(info) == null;
  }

  private static OnnxModelWriter.Written build(Path dir, ModelInfo info, Outputs outputs)
      throws IOException {
    Path prefix = dir.resolve("variables").resolve("variables");
    try {
      return OnnxModelWriter.build(info, Checkpoints.modelWeights(prefix), outputs,
          libraryVersion());
    } catch (CheckpointException e) {
      throw new IOException(dir + ": " + e.getMessage(), e);
    }
  }

  /** What {@link #writeInt8} wrote. */
  public record Int8Written(int convolutions, int activations, int images) {}

  /**
   * Writes {@code model}'s ONNX form quantised to int8 ({@link Int8Quantizer}) to {@code target},
   * its activations calibrated on {@code images} (image files, or directories whose image files
   * are taken); {@code listener} is told after each calibration image.
   *
   * @throws IOException as {@link #write}, if there is no calibration image, or one cannot be read
   */
  public static Int8Written writeInt8(Path model, Path target, List<Path> images,
      Outputs outputs, CalibrationListener listener) throws IOException {
    List<Path> files = CalibrationImages.files(images);
    Path dir = SavedModels.resolve(model);
    ModelInfo info = checkedInfo(dir);
    OnnxModelWriter.Written w = build(dir, info, outputs);
    ImageReader reader = new ImageReader();
    int[] done = {0};
    Int8Quantizer.Quantized q = Int8Quantizer.quantize(w.model(), Calibration.statistics(
        w.model(), i -> reader.read(files.get(i)), files.size(),
        () -> listener.calibrated(++done[0], files.size())));
    ModelProto quantized = q.model().toBuilder().addMetadataProps(StringStringEntryProto
        .newBuilder().setKey(QUANTIZATION_KEY).setValue("int8 static QDQ: uint8 activations "
            + "(min-max over " + files.size() + " calibration images), int8 per-channel "
            + "weights with bias correction, " + q.convolutions() + " convolutions")).build();
    AtomicFiles.write(target, out -> quantized.writeTo(out));
    return new Int8Written(q.convolutions(), q.activations(), files.size());
  }

  /**
   * The int8 ONNX form of {@code dir} calibrated on {@code images}, in {@code cacheRoot/onnx/},
   * named after the model's files and the calibration images' contents; written there first if
   * it is not.
   */
  public static Path cachedInt8(Path dir, Path cacheRoot, List<Path> images,
      Outputs outputs, CalibrationListener listener) throws IOException {
    List<Path> files = CalibrationImages.files(images);
    MessageDigest sha = sha256();
    sha.update(hash(dir).getBytes(StandardCharsets.UTF_8));
    for (Path f : files) {
      sha.update(FileChecksum.of(f).bytes());
    }
    Path file = cacheRoot.resolve("onnx").resolve(HexFormat.of().formatHex(sha.digest())
        .substring(0, 32) + "-int8" + suffix(outputs) + ".onnx");
    if (!Files.isRegularFile(file)) {
      Files.createDirectories(file.getParent());
      writeInt8(dir, file, files, outputs, listener);
    }
    return file;
  }

  /**
   * The ONNX form of the SavedModel version directory {@code dir} with {@code outputs} (ONNX
   * Runtime computes every output of a model, so each set is a separate file), in {@code
   * cacheRoot/onnx/}, written there first if it is not.
   */
  public static Path cached(Path dir, Path cacheRoot, Outputs outputs) throws IOException {
    Path file = cacheRoot.resolve("onnx").resolve(hash(dir) + suffix(outputs) + ".onnx");
    if (!Files.isRegularFile(file)) {
      LoggerFactory.getLogger(OnnxFiles.class).info("writing {} as ONNX for ONNX Runtime into {} "
          + "(once)", dir, file.getParent());
      Files.createDirectories(file.getParent());
      write(dir, file, outputs);
    }
    return file;
  }

  private static String suffix(Outputs outputs) {
    return "-" + outputs.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }

  /**
   * SHA-256 of {@link #FORMAT} and of every file of the SavedModel (its path, size and checksums),
   * in path order.
   */
  static String hash(Path dir) throws IOException {
    MessageDigest sha = sha256();
    sha.update(FORMAT.getBytes(StandardCharsets.UTF_8));
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(Files::isRegularFile).sorted().toList();
    }
    for (Path f : files) {
      sha.update(dir.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
      sha.update(FileChecksum.of(f).bytes());
    }
    return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String libraryVersion() {
    String v = OnnxFiles.class.getPackage().getImplementationVersion();
    return v != null ? v : "development";
  }
}
