package dev.deeplab.infer;

import dev.deeplab.internal.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.zip.CRC32;

/**
 * The pretrained model inside this library's jar: the official DeepLabv3 + MobileNetV2 trained on
 * PASCAL VOC 2012 ({@code mobilenetv2_coco_voc_trainaug} of the DeepLab model zoo, 21 classes,
 * 513&times;513 crop), converted from its TFLite release to a float SavedModel. See {@code
 * META-INF/NOTICE} for its licence (Apache-2.0).
 *
 * <p>TensorFlow loads SavedModels from directories, so {@link #directory()} copies the model once
 * into a per-user cache: {@code $DEEPLAB_CACHE} if set, else {@code $XDG_CACHE_HOME/deeplab}, else
 * {@code ~/.cache/deeplab}; the directory name carries a hash of the files' sizes and CRC-32s, so
 * an upgrade with a different model never reuses an old copy. The copy is written under a
 * temporary name and renamed into place, so processes starting at once never see a half-written
 * model: each either finds the complete copy or writes its own and keeps whichever rename won. A
 * copy whose files no longer match (size or CRC-32; e.g. truncated by hand) is replaced.
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

  /** A file of the packaged model: its path under the version directory, size and CRC-32. */
  private record Packaged(String file, long size, long crc) {}

  /**
   * Copies the model under {@code root} unless a complete copy is there; returns its version.
   * The files are identified by their sizes and CRC-32s as the jar's directory lists them, so a
   * start with the copy in place reads nothing from the jar but that directory.
   */
  static Path materialize(Path root) throws IOException {
    List<Packaged> packaged = new ArrayList<>();
    for (String f : FILES) {
      packaged.add(describe(f));
    }
    Path base = root.resolve(NAME + "-" + contentHash(packaged));
    Path version = base.resolve("1");
    if (matches(version, packaged)) {
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
      for (String f : FILES) {
        Path target = tmp.resolve("1").resolve(f);
        Files.createDirectories(target.getParent());
        Files.write(target, read(f));
      }
      if (!matches(tmp.resolve("1"), packaged)) {
        throw new IOException("the pretrained model in deeplab-core's jar does not match the "
            + "jar's own directory (a damaged jar?)");
      }
      try {
        Files.move(tmp, base, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        // Another process renamed its complete copy into place first (Linux reports a non-empty
        // target as a plain FileSystemException): use that one.
        if (!matches(version, packaged)) {
          throw new IOException("cannot write the pretrained model to " + base + ": "
              + e.getMessage(), e);
        }
      }
    } finally {
      AtomicFiles.deleteTreeQuietly(tmp);
    }
    return version;
  }

  private static URL resource(String file) throws IOException {
    URL url = PretrainedModel.class.getResource(RESOURCE_DIR + file);
    if (url == null) {
      throw new IOException("the pretrained model is missing from the classpath: "
          + RESOURCE_DIR + file + " (is deeplab-core's jar complete?)");
    }
    return url;
  }

  /** Size and CRC-32 from the jar's directory, or from the content (classes directories). */
  private static Packaged describe(String file) throws IOException {
    URLConnection connection = resource(file).openConnection();
    if (connection instanceof JarURLConnection jar) {
      JarEntry entry = jar.getJarEntry();
      if (entry.getSize() >= 0 && entry.getCrc() >= 0) {
        return new Packaged(file, entry.getSize(), entry.getCrc());
      }
    }
    byte[] content = read(file);
    CRC32 crc = new CRC32();
    crc.update(content);
    return new Packaged(file, content.length, crc.getValue());
  }

  private static byte[] read(String file) throws IOException {
    try (InputStream in = resource(file).openStream()) {
      return in.readAllBytes();
    }
  }

  /** SHA-256 over the file names, sizes and CRC-32s, first 16 hex digits. */
  private static String contentHash(List<Packaged> packaged) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Packaged p : packaged) {
        sha.update((p.file() + "\0" + p.size() + "\0" + p.crc() + "\0")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }
      return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java platform", e);
    }
  }

  /** True when {@code version} holds every file with the expected size and CRC-32. */
  private static boolean matches(Path version, List<Packaged> packaged) throws IOException {
    byte[] buffer = new byte[1 << 16];
    for (Packaged p : packaged) {
      Path f = version.resolve(p.file());
      if (!Files.isRegularFile(f) || Files.size(f) != p.size()) {
        return false;
      }
      CRC32 crc = new CRC32();
      try (InputStream in = Files.newInputStream(f)) {
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
          crc.update(buffer, 0, n);
        }
      }
      if (crc.getValue() != p.crc()) {
        return false;
      }
    }
    return true;
  }
}
