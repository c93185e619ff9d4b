package dev.deeplab.internal.onnx;

import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.io.AtomicFiles;
import dev.deeplab.internal.serving.FrozenGraphWrapper;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.ModelInfo;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * ONNX files of our SavedModels: writing one ({@link #write}), and the cached conversion the ONNX
 * Runtime engine loads ({@link #cached}), named after the SHA-256 of the model's files and of
 * {@link #FORMAT}, written under a temporary name and renamed (processes starting together are
 * safe).
 */
public final class OnnxFiles {
  /** Changes whenever the ONNX written for the same model changes, invalidating cached files. */
  static final String FORMAT = "deeplab-onnx-3";

  private OnnxFiles() {}

  /** Writes {@code model}'s ONNX form to {@code target}; returns the batch norms folded. */
  public static int write(Path model, Path target, boolean probabilities) throws IOException {
    Path dir = SavedModels.resolve(model);
    ModelInfo info = SavedModels.readInfo(dir);
    if (FrozenGraphWrapper.isWrapped(info)) {
      throw new IOException(dir + " wraps a frozen graph: it has no weights of ours to write as "
          + "ONNX (import the checkpoint instead)");
    }
    if (!info.serving().singleScale()) {
      throw new IOException(dir + " runs multi-scale inference, which the ONNX export does not "
          + "write: re-export it with one scale first (deeplab export --model ... "
          + "--inference-scales 1.0)");
    }
    Path prefix = dir.resolve("variables").resolve("variables");
    OnnxModelWriter.Written w;
    try {
      w = OnnxModelWriter.build(info, Checkpoints.modelWeights(prefix), probabilities,
          libraryVersion());
    } catch (CheckpointException e) {
      throw new IOException(dir + ": " + e.getMessage(), e);
    }
    AtomicFiles.write(target, out -> w.model().writeTo(out));
    return w.foldedBatchNorms();
  }

  /**
   * The ONNX form of the SavedModel version directory {@code dir} (class ids only, or also
   * probabilities: ONNX Runtime computes every output of a model, so the two are separate
   * files), in {@code cacheRoot/onnx/}, written there first if it is not.
   */
  public static Path cached(Path dir, Path cacheRoot, boolean probabilities) throws IOException {
    Path file = cacheRoot.resolve("onnx")
        .resolve(hash(dir) + (probabilities ? "-probabilities" : "") + ".onnx");
    if (!Files.isRegularFile(file)) {
      Files.createDirectories(file.getParent());
      write(dir, file, probabilities);
    }
    return file;
  }

  /** SHA-256 of {@link #FORMAT} and of every file of the SavedModel, in path order. */
  private static String hash(Path dir) throws IOException {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    sha.update(FORMAT.getBytes(StandardCharsets.UTF_8));
    List<Path> files;
    try (Stream<Path> walk = Files.walk(dir)) {
      files = walk.filter(Files::isRegularFile).sorted().toList();
    }
    byte[] buffer = new byte[1 << 16];
    for (Path f : files) {
      sha.update(dir.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
      try (InputStream in = Files.newInputStream(f)) {
        for (int n; (n = in.read(buffer)) > 0; ) {
          sha.update(buffer, 0, n);
        }
      }
    }
    return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
  }

  private static String libraryVersion() {
    String v = OnnxFiles.class.getPackage().getImplementationVersion();
    return v != null ? v : "development";
  }
}
