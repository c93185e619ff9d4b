package dev.deeplab.internal.serving;

import dev.deeplab.internal.io.AtomicFiles;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;

/**
 * The TF Serving layout {@code <base>/<version>/saved_model.pb + variables/ + assets/}: writing a
 * new version atomically, and finding the version to load.
 *
 * <p>A version is written into a hidden sibling directory (TF Serving ignores names that are not
 * integers) and renamed into place only when complete, so an interrupted export never leaves a
 * version that a server would pick up.
 */
public final class SavedModels {
  /** The label file written beside the model info ({@link LabelSet#read} reads it). */
  public static final String LABELS_ASSET = "labels.txt";
  private SavedModels() {}

  /**
   * Exports {@code graph}'s session as version {@code version} (or the next free one) under
   * {@code base}, with both signatures and the model info asset; returns the version directory.
   */
  public static Path export(Session session, ServingGraph graph, Path base, OptionalLong version,
      ModelInfo info) throws IOException {
    return export(session, graph.signatures(), base, version, info);
  }

  /** Exports a session with these signatures, as {@link #export(Session, ServingGraph, Path,
   * OptionalLong, ModelInfo)}. */
  public static Path export(Session session, java.util.List<org.tensorflow.Signature> signatures,
      Path base, OptionalLong version, ModelInfo info) throws IOException {
    return writeVersion(base, version, info, dir -> {
      SavedModelBundle.Exporter exporter = SavedModelBundle.exporter(dir.toString())
          .withTags(SavedModelBundle.DEFAULT_TAG).withSession(session);
      signatures.forEach(exporter::withSignature);
      exporter.export();
      WarmupRequests.write(dir, true, true);
    });
  }

  /** Writes the files of one SavedModel version into an empty directory. */
  @FunctionalInterface
  public interface VersionWriter {
    /** Fills {@code dir} (which exists and is empty) with {@code saved_model.pb} and the rest. */
    void write(Path dir) throws IOException;
  }

  /**
   * Writes version {@code version} (or the next free one) under {@code base}: {@code writer} fills
   * a hidden temporary sibling (TF Serving ignores names that are not integers), {@code
   * assets/deeplab_model.json} and {@code assets/labels.txt} are added from {@code info}, and the
   * directory is renamed into place only once complete, so a failure at any point leaves no
   * version directory. Returns the version directory.
   */
  public static Path writeVersion(Path base, OptionalLong version, ModelInfo info,
      VersionWriter writer) throws IOException {
    Files.createDirectories(base);
    long v = version.isPresent() ? version.getAsLong() : nextVersion(base);
    if (v < 1) {
      throw new IllegalArgumentException("version must be a positive integer, got " + v);
    }
    Path target = base.resolve(Long.toString(v));
    if (Files.exists(target)) {
      throw new IOException("version " + v + " already exists: " + target);
    }
    Path tmp = Files.createTempDirectory(base, ".export-" + v + "-");
    try {
      try {
        writer.write(tmp);
      } catch (TensorFlowException e) {
        // TF's saver reports I/O failures (a full disk, say) as unchecked TF exceptions.
        throw new IOException(firstLine(e.getMessage()), e);
      }
      Path assets = Files.createDirectories(tmp.resolve("assets"));
      Files.writeString(assets.resolve(ModelInfo.ASSET), info.toJson(), StandardCharsets.UTF_8);
      Files.writeString(assets.resolve(LABELS_ASSET), info.labels().toLabelFile(),
          StandardCharsets.UTF_8);
      // Temporary directories are private; a served model must be readable by the server's user.
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system: permissions are the platform's default
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      return target;
    } catch (IOException e) {
      throw new IOException("cannot write " + target + ": " + firstLine(e.getMessage()), e);
    } finally {
      AtomicFiles.deleteTreeQuietly(tmp);
    }
  }

  private static String firstLine(String message) {
    return message == null ? "unknown error" : message.strip().split("\\R", 2)[0];
  }

  /** One more than the highest integer-named version under {@code base}, or 1. */
  public static long nextVersion(Path base) throws IOException {
    OptionalLong max = latestVersion(base);
    if (max.isPresent() && max.getAsLong() == Long.MAX_VALUE) {
      throw new IOException("no version after " + Long.MAX_VALUE + " in " + base);
    }
    return max.isPresent() ? max.getAsLong() + 1 : 1;
  }

  /**
   * The highest version directory under {@code base}, as TF Serving picks it: names that are
   * decimal integers of any length up to int64 (timestamps such as {@code 1733097600} included);
   * other names are not versions.
   */
  public static OptionalLong latestVersion(Path base) throws IOException {
    if (!Files.isDirectory(base)) {
      return OptionalLong.empty();
    }
    try (Stream<Path> s = Files.list(base)) {
      return s.filter(Files::isDirectory).map(p -> parseVersion(p.getFileName().toString()))
          .filter(OptionalLong::isPresent).mapToLong(OptionalLong::getAsLong).max();
    }
  }

  /** A version directory name's number: decimal digits that fit int64, else empty. */
  public static OptionalLong parseVersion(String name) {
    if (!name.matches("[0-9]+")) {
      return OptionalLong.empty();
    }
    try {
      return OptionalLong.of(Long.parseLong(name));
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }

  /**
   * The SavedModel directory to load for a user's path: the path itself if it holds {@code
   * saved_model.pb}, else its highest version.
   */
  public static Path resolve(Path path) throws IOException {
    if (Files.isRegularFile(path.resolve("saved_model.pb"))) {
      return path;
    }
    if (!Files.isDirectory(path)) {
      throw new NoSuchFileException(path.toString(), null, "model directory not found");
    }
    OptionalLong v = latestVersion(path);
    if (v.isEmpty() || !Files.isRegularFile(path.resolve(v.getAsLong() + "/saved_model.pb"))) {
      throw new IOException("no SavedModel in " + path
          + " (expected saved_model.pb there or in a numbered version directory)");
    }
    return path.resolve(Long.toString(v.getAsLong()));
  }

  /** Reads {@code assets/deeplab_model.json} of a SavedModel directory. */
  public static ModelInfo readInfo(Path savedModel) throws IOException {
    Path f = savedModel.resolve("assets").resolve(ModelInfo.ASSET);
    if (!Files.isRegularFile(f)) {
      throw new IOException("not a DeepLab model we exported: " + f + " is missing");
    }
    return ModelInfo.fromJson(Files.readString(f, StandardCharsets.UTF_8));
  }
}
