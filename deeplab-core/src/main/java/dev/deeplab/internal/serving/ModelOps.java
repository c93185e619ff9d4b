package dev.deeplab.internal.serving;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.deeplab.internal.io.AtomicFiles;
import dev.deeplab.internal.io.FileChecksum;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.TreeSet;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;

/**
 * The operations a SavedModel's graphs hold, checked against the ones our own graphs use before
 * TensorFlow loads the model. A SavedModel is a program: TensorFlow runs its graph, and a graph
 * can read and write files ({@code ReadFile}, {@code WriteFile}, {@code MatchingFiles}), run
 * Python ({@code PyFunc}) or reach the network, so loading an untrusted model is running
 * untrusted code (TensorFlow's {@code SECURITY.md}, "Running untrusted models"). A model whose
 * graphs hold any operation outside {@code allowed_ops.txt} (the operations of every graph we
 * export, including the variables' save and restore operations TensorFlow adds) is refused
 * unless the caller explicitly allows foreign models.
 *
 * <p>{@code saved_model.pb} is parsed in Java with protobuf's recursion limit (100 nested
 * messages) and a size limit, so a file nested deeply enough to overflow a parser's stack is
 * refused here, before TensorFlow's C++ parser sees it.
 */
public final class ModelOps {
  /** The largest {@code saved_model.pb} read (ours are under 1 MB; frozen graphs hold weights). */
  static final int MAX_BYTES = 1 << 30;

  private static final Set<String> ALLOWED = readAllowed();

  private ModelOps() {}

  /** The operations our exported graphs may hold. */
  public static Set<String> allowed() {
    return ALLOWED;
  }

  /**
   * Refuses the SavedModel in {@code dir} if its {@code saved_model.pb} cannot be parsed, or
   * (unless {@code allowForeign}) its graphs and their function libraries hold an operation
   * outside {@link #allowed()}.
   *
   * @throws IOException with a one-line message naming the operations
   */
  public static void check(Path dir, boolean allowForeign) throws IOException {
    refuse(dir, foreign(dir), allowForeign);
  }

  /**
   * As {@link #check(Path, boolean)}, remembering under {@code cacheRoot/checked/} each {@code
   * saved_model.pb} (by its size, CRC-32 and CRC-32C, with the allowed operations) found to hold
   * only allowed operations, so that it is not parsed again at the next start: 0.13-0.34 s of
   * {@code deeplab segment}'s start on ONNX Runtime, which never has TensorFlow read the graph
   * (BENCHMARKS.md §9b). A model with foreign operations is parsed every time.
   */
  public static void check(Path dir, boolean allowForeign, Path cacheRoot) throws IOException {
    Path verdict;
    try {
      verdict = cacheRoot.resolve("checked").resolve(fingerprint(dir.resolve("saved_model.pb")));
    } catch (IOException e) {
      check(dir, allowForeign); // says why the file cannot be read
      return;
    }
    if (Files.isRegularFile(verdict)) {
      return;
    }
    Set<String> foreign = foreign(dir);
    if (foreign.isEmpty()) {
      try {
        Files.createDirectories(verdict.getParent());
        AtomicFiles.write(verdict, new byte[0]);
      } catch (IOException e) {
        // checked again at the next start
      }
    }
    refuse(dir, foreign, allowForeign);
  }

  /** SHA-256 of the file's size, CRC-32 and CRC-32C, and of the allowed operations, in hex. */
  static String fingerprint(Path file) throws IOException {
    byte[] checksum = FileChecksum.of(file).bytes();
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(checksum);
      sha.update(String.join("\n", new TreeSet<>(ALLOWED)).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha.digest()).substring(0, 32);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java platform", e);
    }
  }

  /** The operations of the model in {@code dir} outside {@link #allowed()}. */
  private static Set<String> foreign(Path dir) throws IOException {
    Set<String> foreign;
    try {
      foreign = new TreeSet<>(ops(dir.resolve("saved_model.pb")));
    } catch (IOException e) {
      throw new IOException("cannot load model " + dir + ": " + e.getMessage(), e);
    }
    foreign.removeAll(ALLOWED);
    return foreign;
  }

  private static void refuse(Path dir, Set<String> foreign, boolean allowForeign)
      throws IOException {
    if (!foreign.isEmpty() && !allowForeign) {
      throw new IOException("model " + dir + " holds operations our graphs never use ("
          + String.join(", ", foreign) + "): a model is a program, and this one is not one we"
          + " exported; load it only if you trust it, with --allow-foreign-model"
          + " (Segmenter.Builder.allowForeignModel)");
    }
  }

  /** Every operation type in a SavedModel's meta graphs and their function libraries. */
  public static Set<String> ops(Path savedModelPb) throws IOException {
    long size = Files.size(savedModelPb);
    if (size > MAX_BYTES) {
      throw new IOException(savedModelPb + ": " + size + " bytes, over the limit of " + MAX_BYTES);
    }
    SavedModel model;
    try (InputStream in = Files.newInputStream(savedModelPb)) {
      CodedInputStream coded = CodedInputStream.newInstance(in);
      coded.setSizeLimit(MAX_BYTES);
      model = SavedModel.parseFrom(coded);
    } catch (InvalidProtocolBufferException e) {
      // protobuf's messages run on with advice after the first sentence
      throw new IOException(savedModelPb + ": not a valid SavedModel ("
          + String.valueOf(e.getMessage()).strip().split("\\R|\\.  ", 2)[0] + ")", e);
    }
    Set<String> ops = new TreeSet<>();
    for (MetaGraphDef meta : model.getMetaGraphsList()) {
      GraphDef graph = meta.getGraphDef();
      graph.getNodeList().forEach(n -> ops.add(n.getOp()));
      for (FunctionDef f : graph.getLibrary().getFunctionList()) {
        for (NodeDef n : f.getNodeDefList()) {
          ops.add(n.getOp());
        }
      }
    }
    return ops;
  }

  private static Set<String> readAllowed() {
    try (InputStream in = ModelOps.class.getResourceAsStream("allowed_ops.txt")) {
      if (in == null) {
        throw new IllegalStateException("allowed_ops.txt is missing from the jar");
      }
      Set<String> ops = new TreeSet<>();
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\\R")) {
        String op = line.strip();
        if (!op.isEmpty() && !op.startsWith("#")) {
          ops.add(op);
        }
      }
      return Set.copyOf(ops);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
