package dev.deeplab.internal.train;

import dev.deeplab.internal.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The training checkpoints of one run in a directory, as TF1's {@code tf.train.Saver} lays them
 * out: {@code model.ckpt-<step>.index} + {@code .data-00000-of-00001}, and a {@code checkpoint}
 * state file naming the newest ({@code model_checkpoint_path: "model.ckpt-<step>"}), which
 * Python's {@code tf.train.latest_checkpoint} reads.
 *
 * <p>Writes are atomic: the variables are saved under a hidden temporary prefix, the data files are
 * renamed into place first and the index last, then the state file is replaced by write-temp-and-
 * rename. A checkpoint counts only once its index and all its data shards exist, so a process
 * killed during a write leaves the previous checkpoint as the newest complete one. Only the newest
 * {@code keep} checkpoints are kept (index deleted first).
 */
public final class CheckpointManager {
  /** The state file name, as TF's. */
  public static final String STATE_FILE = "checkpoint";
  /** The file-name stem of the checkpoints, as the official training writes them. */
  public static final String STEM = "model.ckpt";
  private static final Pattern INDEX = Pattern.compile(Pattern.quote(STEM) + "-(\\d+)\\.index");
  private static final Pattern SHARD = Pattern.compile("\\.data-(\\d{5})-of-(\\d{5})");
  private static final String TMP = ".tmp-";

  private final Path dir;
  private final int keep;

  /**
   * @param dir the checkpoint directory
   * @param keep how many of the newest checkpoints to keep, at least 1
   */
  public CheckpointManager(Path dir, int keep) {
    if (keep < 1) {
      throw new IllegalArgumentException("must keep at least one checkpoint, got " + keep);
    }
    this.dir = dir;
    this.keep = keep;
  }

  public Path directory() {
    return dir;
  }

  /**
   * Creates the directory if needed and checks that files can be created in it, so that a bad
   * directory fails before training starts; removes leftovers of interrupted writes.
   *
   * @throws IOException with a one-line message naming the directory
   */
  public void prepare() throws IOException {
    try {
      Files.createDirectories(dir);
      Path probe = Files.createTempFile(dir, ".write-test", "");
      Files.delete(probe);
    } catch (FileSystemException e) {
      throw new IOException("checkpoint directory " + dir + " is not writable ("
          + (e.getReason() != null ? e.getReason() : e.getClass().getSimpleName()) + ")", e);
    } catch (IOException | SecurityException e) {
      throw new IOException("checkpoint directory " + dir + " is not writable (" + e + ")", e);
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(p -> p.getFileName().toString().startsWith(TMP + STEM)).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The prefix of the checkpoint of {@code step}: {@code dir/model.ckpt-<step>}. */
  public Path prefix(long step) {
    return dir.resolve(STEM + "-" + step);
  }

  /** The steps of the complete checkpoints, ascending. */
  public List<Long> steps() throws IOException {
    List<Long> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Matcher m = INDEX.matcher(p.getFileName().toString());
        if (m.matches() && complete(prefix(Long.parseLong(m.group(1))))) {
          out.add(Long.parseLong(m.group(1)));
        }
      }
    }
    out.sort(null);
    return out;
  }

  /** The newest complete checkpoint's prefix, if any. */
  public Optional<Path> latest() throws IOException {
    OptionalLong step = latestStep();
    return step.isPresent() ? Optional.of(prefix(step.getAsLong())) : Optional.empty();
  }

  /** The step of the newest complete checkpoint, if any. */
  public OptionalLong latestStep() throws IOException {
    List<Long> steps = steps();
    return steps.isEmpty() ? OptionalLong.empty() : OptionalLong.of(steps.get(steps.size() - 1));
  }

  /** Whether {@code prefix.index} exists with every data shard it names. */
  static boolean complete(Path prefix) throws IOException {
    Path dir = prefix.toAbsolutePath().getParent();
    String base = prefix.getFileName().toString();
    if (!Files.isRegularFile(dir.resolve(base + ".index"))) {
      return false;
    }
    int shards = -1;
    int found = 0;
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.toList()) {
        String n = p.getFileName().toString();
        if (n.startsWith(base + ".data-")) {
          Matcher m = SHARD.matcher(n.substring(base.length()));
          if (m.matches()) {
            shards = Integer.parseInt(m.group(2));
            found++;
          }
        }
      }
    }
    return shards > 0 && found == shards;
  }

  /**
   * Saves {@code graph}'s variables as the checkpoint of its current step, atomically, updates the
   * state file and deletes checkpoints beyond the newest {@code keep}.
   *
   * @return the prefix written
   */
  public Path save(TrainingGraph graph) throws IOException {
    long step = graph.globalStep();
    String base = STEM + "-" + step;
    Path tmp = dir.resolve(TMP + base);
    try {
      graph.save(tmp.toString());
      List<Path> written;
      try (Stream<Path> files = Files.list(dir)) {
        written = files.filter(p -> p.getFileName().toString().startsWith(tmp.getFileName() + "."))
            .toList();
      }
      Path index = null;
      for (Path p : written) {
        String suffix = p.getFileName().toString().substring(tmp.getFileName().toString().length());
        if (suffix.equals(".index")) {
          index = p;
        } else {
          move(p, dir.resolve(base + suffix));
        }
      }
      if (index == null) {
        throw new IOException("saving checkpoint " + base + " wrote no index");
      }
      move(index, dir.resolve(base + ".index"));
    } catch (org.tensorflow.exceptions.TensorFlowException e) {
      deleteTemporary(tmp);
      throw new IOException("cannot write checkpoint " + prefix(step) + ": "
          + e.getMessage().strip().split("\\R", 2)[0], e);
    } catch (IOException e) {
      deleteTemporary(tmp);
      throw e;
    }
    List<Long> steps = steps();
    writeState(steps);
    for (int i = 0; i < steps.size() - keep; i++) {
      delete(prefix(steps.get(i)));
    }
    return prefix(step);
  }

  private static void move(Path from, Path to) throws IOException {
    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private void writeState(List<Long> steps) throws IOException {
    StringBuilder sb = new StringBuilder();
    long newest = steps.get(steps.size() - 1);
    sb.append("model_checkpoint_path: \"").append(STEM).append('-').append(newest).append("\"\n");
    for (long s : steps.subList(Math.max(0, steps.size() - keep), steps.size())) {
      sb.append("all_model_checkpoint_paths: \"").append(STEM).append('-').append(s)
          .append("\"\n");
    }
    AtomicFiles.write(dir.resolve(STATE_FILE), sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** Deletes a checkpoint: the index first, so that it stops counting before its data go. */
  private void delete(Path prefix) throws IOException {
    String base = prefix.getFileName().toString();
    Files.deleteIfExists(dir.resolve(base + ".index"));
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(p -> p.getFileName().toString().startsWith(base + ".data-"))
          .toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private void deleteTemporary(Path tmp) {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : files.filter(p -> p.getFileName().toString().startsWith(
          tmp.getFileName() + ".")).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException ignored) {
      // best effort: leftovers are hidden and removed by prepare()
    }
  }
}
