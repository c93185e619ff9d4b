package dev.deeplab.infer;

import dev.deeplab.internal.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The pretrained model inside this library's jar: the official DeepLabv3 + MobileNetV2 trained on
 * PASCAL VOC 2012 ({@code mobilenetv2_coco_voc_trainaug} of the DeepLab model zoo, 21 classes,
 * 513&times;513 crop), converted from its TFLite release to a float SavedModel. See {@code
 * META-INF/NOTICE} for its licence (Apache-2.0).
 *
 * <p>TensorFlow loads SavedModels from directories, so {@link #directory()} copies the model once
 * into a per-user cache: {@code $DEEPLAB_CACHE} if set, else {@code $XDG_CACHE_HOME/deeplab}, else
 * {@code ~/.cache/deeplab}; the directory name carries a hash of the content, so an upgrade with a
 * different model never reuses an old copy. The copy is written under a temporary name and renamed
 * into place, so processes starting at once never see a half-written model: each either finds the
 * complete copy or writes its own and keeps whichever rename won. A copy whose files no longer
 * match (e.g. truncated by hand) is replaced.
 *
 * <p>Thread-safe.
 */
public final class PretrainedModel {
  /** The model's name, as under {@code savedmodels/} of the source repository. */
  public static final String NAME = "deeplabv3_mnv2_pascal";

  private static final String RESOURCE_DIR = "/dev/deeplab/pretrained/" + NAME + "/";

  /** Every file of the packaged SavedModel, relative to its version directory. */
  static final List<String> FILES = List.of(
      "saved_model.pb",
      "variables/variables.index",
      "variables/variables.data-00000-of-00001",
      "assets/deeplab_model.json",
      "assets/labels.txt",
      "assets.extra/tf_serving_warmup_requests");

  private static Path materialized;

  private PretrainedModel() {}

  /**
   * The SavedModel version directory of the pretrained model in the user's cache, copied there
   * from the jar on first use.
   *
   * @throws IOException if the cache directory cannot be written, or the jar lacks the model
   */
  public static synchronized Path directory() throws IOException {
    if (materialized == null) {
      materialized = materialize(cacheRoot());
    }
    return materialized;
  }

  /**
   * The cache root: {@code $DEEPLAB_CACHE}, else {@code $XDG_CACHE_HOME/deeplab}, else {@code
   * ~/.cache/deeplab}.
   */
  public static Path cacheRoot() {
    String own = System.getenv("DEEPLAB_CACHE");
    if (own != null && !own.isBlank()) {
      return Path.of(own);
    }
    String xdg = System.getenv("XDG_CACHE_HOME");
    if (xdg != null && !xdg.isBlank()) {
      return Path.of(xdg, "deeplab");
    }
    return Path.of(System.getProperty("user.home"), ".cache", "deeplab");
  }

  /** Copies the model under {@code root} unless a complete copy is there; returns its version. */
  static Path materialize(Path root) throws IOException {
    List<byte[]> contents = new ArrayList<>();
    for (String f : FILES) {
      contents.add(read(f));
    }
    Path base = root.resolve(NAME + "-" + contentHash(contents));
    Path version = base.resolve("1");
    if (matches(version, contents)) {
      return version;
    }
    Files.createDirectories(root);
    if (Files.exists(base)) {
      // An incomplete or damaged copy: move it out of the way first (atomically, so that a
      // process reading it at this moment keeps its files), then write a new one.
      Path stale = Files.createTempDirectory(root, ".stale-");
      try {
        Files.move(base, stale.resolve("model"), StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        // another process moved or replaced it first
      }
      AtomicFiles.deleteTreeQuietly(stale);
    }
    Path tmp = Files.createTempDirectory(root, "." + NAME + "-");
    try {
      for (int i = 0; i < FILES.size(); i++) {
        Path target = tmp.resolve("1").resolve(FILES.get(i));
        Files.createDirectories(target.getParent());
        Files.write(target, contents.get(i));
      }
      try {
        Files.move(tmp, base, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        // Another process renamed its complete copy into place first (Linux reports a non-empty
        // target as a plain FileSystemException): use that one.
        if (!matches(version, contents)) {
          throw new IOException("cannot write the pretrained model to " + base + ": "
              + e.getMessage(), e);
        }
      }
    } finally {
      AtomicFiles.deleteTreeQuietly(tmp);
    }
    return version;
  }

  private static byte[] read(String file) throws IOException {
    try (InputStream in = PretrainedModel.class.getResourceAsStream(RESOURCE_DIR + file)) {
      if (in == null) {
        throw new IOException("the pretrained model is missing from the classpath: "
            + RESOURCE_DIR + file + " (is deeplab-core's jar complete?)");
      }
      return in.readAllBytes();
    }
  }

  /** SHA-256 over the file names and contents, first 16 hex digits. */
  static String contentHash(List<byte[]> contents) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (int i = 0; i < FILES.size(); i++) {
        sha.update(FILES.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(contents.get(i));
      }
      return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java platform", e);
    }
  }

  /** True when {@code version} holds every file with exactly the expected content. */
  private static boolean matches(Path version, List<byte[]> contents) throws IOException {
    for (int i = 0; i < FILES.size(); i++) {
      Path f = version.resolve(FILES.get(i));
      if (!Files.isRegularFile(f) || Files.size(f) != contents.get(i).length
          || !Arrays.equals(Files.readAllBytes(f), contents.get(i))) {
        return false;
      }
    }
    return true;
  }
}
