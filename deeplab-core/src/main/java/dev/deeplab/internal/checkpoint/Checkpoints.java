package dev.deeplab.internal.checkpoint;

import static org.tensorflow.internal.c_api.global.tensorflow.TF_CheckpointReaderGetVariable;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_CheckpointReaderGetVariableDataType;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_CheckpointReaderGetVariableNumDims;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_CheckpointReaderGetVariableShape;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_CheckpointReaderSize;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteCheckpointReader;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteStatus;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_GetCode;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_Message;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewCheckpointReader;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewStatus;

import dev.deeplab.internal.io.AtomicFiles;
import dev.deeplab.internal.weights.FloatTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.internal.c_api.TF_CheckpointReader;
import org.tensorflow.internal.c_api.TF_Status;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.train.Restore;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * Reads and writes TensorFlow checkpoints (tensor-bundle V2: {@code prefix.index} + {@code
 * prefix.data-*}; V1 single files are read too) by tensor name, outside any model graph: listing
 * uses TF's C {@code CheckpointReader}, values travel through small {@code RestoreV2} / {@code
 * SaveV2} graphs. This is how official TF1 checkpoints (which TF Java cannot otherwise read by
 * name, tensorflow/java#396) and weights from other sources reach our graphs. A checkpoint's
 * metadata is checked in Java first ({@link CheckpointIndex}): TensorFlow's reader trusts it.
 */
public final class Checkpoints {
  private Checkpoints() {}

  /**
   * Checks the metadata of the checkpoint at {@code prefix} (V2 or V1) before TensorFlow reads
   * it ({@link CheckpointIndex}); prefixes of no checkpoint file are left to TensorFlow's error.
   *
   * @throws CheckpointException with a one-line message for a malformed or malicious index
   */
  public static void checkIndex(String prefix) throws CheckpointException {
    CheckpointIndex.check(prefix);
  }

  /** Lists every tensor of the checkpoint at {@code prefix}, sorted by name. */
  public static Map<String, CheckpointEntry> list(String prefix) throws CheckpointException {
    CheckpointIndex.check(prefix);
    TF_Status status = TF_NewStatus();
    TF_CheckpointReader reader = TF_NewCheckpointReader(prefix, status);
    try {
      if (TF_GetCode(status) != 0) {
        throw new CheckpointException(
            "cannot read checkpoint " + prefix + ": " + firstLine(TF_Message(status).getString()));
      }
      Map<String, CheckpointEntry> entries = new TreeMap<>();
      int n = TF_CheckpointReaderSize(reader);
      for (int i = 0; i < n; i++) {
        String name = TF_CheckpointReaderGetVariable(reader, i).getString();
        int dims = TF_CheckpointReaderGetVariableNumDims(reader, name);
        long[] shape = new long[dims];
        TF_CheckpointReaderGetVariableShape(reader, name, shape, dims, status);
        DataType type = DataType.forNumber(TF_CheckpointReaderGetVariableDataType(reader, name));
        entries.put(name, new CheckpointEntry(name, type == null ? "DT_UNKNOWN" : type.name(), shape));
      }
      return entries;
    } finally {
      if (reader != null && !reader.isNull()) {
        TF_DeleteCheckpointReader(reader);
      }
      TF_DeleteStatus(status);
    }
  }

  /** Reads float tensors by name. */
  public static Map<String, FloatTensor> readFloats(String prefix, List<String> names)
      throws CheckpointException {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    if (names.isEmpty()) {
      return out;
    }
    CheckpointIndex.check(prefix);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      List<Class<? extends TType>> types = new ArrayList<>();
      names.forEach(n -> types.add(TFloat32.class));
      Restore restore =
          tf.train.restore(
              tf.constant(prefix),
              tf.constant(NdArrays.vectorOfObjects(names.toArray(new String[0]))),
              tf.constant(NdArrays.vectorOfObjects(emptySlices(names.size()))),
              types);
      try (Session s = new Session(g)) {
        Session.Runner runner = s.runner();
        restore.tensors().forEach(runner::fetch);
        try (Result r = runner.run()) {
          for (int i = 0; i < names.size(); i++) {
            out.put(names.get(i), FloatTensor.copyOf((TFloat32) r.get(i)));
          }
        }
      }
    } catch (TensorFlowException e) {
      throw new CheckpointException(
          "cannot read checkpoint " + prefix + ": " + firstLine(e.getMessage()), e);
    }
    return out;
  }

  /**
   * Writes float tensors under their names as a V2 checkpoint at {@code prefix}. Files are written
   * under a temporary prefix and moved into place, so a failure leaves no partial checkpoint.
   */
  public static void writeFloats(Path prefix, Map<String, FloatTensor> tensors)
      throws CheckpointException {
    Map<String, TFloat32> ts = new LinkedHashMap<>();
    try {
      for (Map.Entry<String, FloatTensor> e : tensors.entrySet()) {
        FloatTensor f = e.getValue();
        ts.put(e.getKey(),
            TFloat32.tensorOf(Shape.of(f.shape()), DataBuffers.of(f.data(), true, false)));
      }
      write(prefix, ts);
    } finally {
      ts.values().forEach(Tensor::close);
    }
  }

  /** Writes tensors of any type under their names as a V2 checkpoint, atomically. */
  public static void write(Path prefix, Map<String, ? extends TType> tensors)
      throws CheckpointException {
    Path dir = prefix.toAbsolutePath().getParent();
    String base = prefix.getFileName().toString();
    try {
      Files.createDirectories(dir);
      Path tmp = dir.resolve(".tmp-" + base + "-" + ProcessHandle.current().pid());
      try (Graph g = new Graph(); Session s = new Session(g)) {
        Ops tf = Ops.create(g);
        List<String> names = new ArrayList<>(tensors.keySet());
        List<Operand<?>> values = new ArrayList<>();
        Session.Runner runner = s.runner();
        for (String name : names) {
          TType t = tensors.get(name);
          Placeholder<?> p = tf.placeholder(t.type());
          values.add(p);
          runner.feed(p, t);
        }
        runner.addTarget(
            tf.train.save(
                tf.constant(tmp.toString()),
                tf.constant(NdArrays.vectorOfObjects(names.toArray(new String[0]))),
                tf.constant(NdArrays.vectorOfObjects(emptySlices(names.size()))),
                values));
        runner.run();
      }
      List<Path> written;
      try (var files = Files.list(dir)) {
        written = files.filter(p -> p.getFileName().toString().startsWith(tmp.getFileName() + "."))
            .toList();
      }
      for (Path p : written) {
        String suffix = p.getFileName().toString().substring(tmp.getFileName().toString().length());
        if (!suffix.equals(".index")) {
          Files.move(p, dir.resolve(base + suffix), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
      }
      // The index goes last: a checkpoint is complete once its index exists.
      Files.move(dir.resolve(tmp.getFileName() + ".index"), dir.resolve(base + ".index"),
          java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException | TensorFlowException e) {
      throw new CheckpointException(
          "cannot write checkpoint " + prefix + ": " + firstLine(e.getMessage()), e);
    }
  }

  /**
   * Sets every variable of {@code session}'s graph from {@code values} (which must name them all)
   * through a temporary checkpoint and {@link Session#restore}, so the graph gains no assign ops.
   */
  public static void restore(Session session, Map<String, FloatTensor> values)
      throws CheckpointException {
    Path dir = null;
    try {
      dir = Files.createTempDirectory("deeplab-weights");
      Path prefix = dir.resolve("weights");
      writeFloats(prefix, values);
      session.restore(prefix.toString());
    } catch (IOException | TensorFlowException e) {
      throw new CheckpointException("cannot load weights: " + firstLine(e.getMessage()), e);
    } finally {
      AtomicFiles.deleteTreeQuietly(dir);
    }
  }

  private static String[] emptySlices(int n) {
    String[] s = new String[n];
    java.util.Arrays.fill(s, "");
    return s;
  }

  static String firstLine(String message) {
    if (message == null) {
      return "unknown error";
    }
    String line = message.strip().split("\\R", 2)[0];
    return line.length() > 300 ? line.substring(0, 300) + "..." : line;
  }

  /**
   * The model weights of a training checkpoint: its float tensors without the optimizer's slots
   * and counters ({@link dev.deeplab.internal.serving.WeightCheck#isTrainingState}).
   */
  public static java.util.Map<String, dev.deeplab.internal.weights.FloatTensor> modelWeights(
      java.nio.file.Path checkpointPrefix) throws java.io.IOException {
    try {
      List<String> names = list(checkpointPrefix.toString()).values().stream()
          .filter(e -> e.dtype().equals("DT_FLOAT")
              && !dev.deeplab.internal.serving.WeightCheck.isTrainingState(e.name()))
          .map(CheckpointEntry::name).toList();
      return readFloats(checkpointPrefix.toString(), names);
    } catch (CheckpointException e) {
      throw new java.io.IOException(e.getMessage(), e);
    }
  }
}
