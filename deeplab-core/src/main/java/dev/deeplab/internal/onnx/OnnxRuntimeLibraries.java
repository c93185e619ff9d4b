package dev.deeplab.internal.onnx;

import ai.onnxruntime.OrtEnvironment;
import dev.deeplab.infer.PretrainedModel;
import dev.deeplab.internal.io.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.jar.JarEntry;
import java.util.zip.CRC32;

/**
 * ONNX Runtime's native libraries unpacked once into our cache, so that ONNX Runtime loads them
 * from there ({@code onnxruntime.native.path}) instead of inflating them from its jar into a new
 * temporary directory at every start: 22 MB, which made the load take 465-600 ms instead of
 * 120-210 ms under load 10 here (BENCHMARKS.md §9b), at every {@code deeplab segment}.
 *
 * <p>The directory is named after the libraries' sizes and CRC-32s as the jar's directory lists
 * them (nothing is inflated to name it), written under a temporary name and renamed into place,
 * and used only when each file has its listed size. Nothing changes when the user has set {@code
 * onnxruntime.native.path}, when the libraries are not in a jar (ONNX Runtime then finds them
 * its own way), or when the cache cannot be written. Thread-safe.
 */
public final class OnnxRuntimeLibraries {
  /** ONNX Runtime's system property: the directory its native libraries are loaded from. */
  static final String NATIVE_PATH = "onnxruntime.native.path";

  private static boolean done;

  private OnnxRuntimeLibraries() {}

  /** A library inside ONNX Runtime's jar: file name, size and CRC-32 from the jar's directory. */
  private record Packaged(String name, URL url, long size, long crc) {}

  /**
   * ONNX Runtime's environment, its libraries loaded from the cache of {@link
   * PretrainedModel#cacheRoot()}. Every use of ONNX Runtime of ours starts here.
   */
  public static OrtEnvironment environment() {
    useCache(PretrainedModel.cacheRoot());
    return OrtEnvironment.getEnvironment();
  }

  /**
   * Starts loading ONNX Runtime ({@link #environment()}) on a background thread, so that the
   * caller's next steps overlap it; a failure there is left for the caller's own {@link
   * #environment()} to report.
   */
  public static void preload() {
    Thread t = new Thread(() -> {
      try {
        environment();
      } catch (Throwable e) {
        // reported by the caller's own environment()
      }
    }, "deeplab-onnxruntime-load");
    t.setDaemon(true);
    t.start();
  }

  /**
   * Points ONNX Runtime at its libraries under {@code cacheRoot/onnxruntime-HASH/}, unpacking them
   * there first if needed. Call before ONNX Runtime's first use in this process; later calls do
   * nothing.
   */
  static synchronized void useCache(Path cacheRoot) {
    if (done) {
      return;
    }
    done = true;
    if (System.getProperty(NATIVE_PATH) != null) {
      return;
    }
    try {
      Path dir = unpacked(cacheRoot);
      if (dir != null) {
        System.setProperty(NATIVE_PATH, dir.toString());
      }
    } catch (IOException | RuntimeException e) {
      // ONNX Runtime unpacks its libraries itself, as it always does without us
    }
  }

  /**
   * The directory under {@code cacheRoot} holding the libraries, unpacked there first if needed;
   * null if they are not in a jar.
   *
   * @throws IOException if the cache cannot be written
   */
  static Path unpacked(Path cacheRoot) throws IOException {
    List<Packaged> libraries = packaged();
    if (libraries == null) {
      return null;
    }
    Path dir = cacheRoot.resolve("onnxruntime-" + hash(libraries));
    if (!complete(dir, libraries)) {
      unpack(cacheRoot, dir, libraries);
      if (!complete(dir, libraries)) {
        throw new IOException("cannot unpack ONNX Runtime's libraries into " + dir);
      }
    }
    return dir;
  }

  /** The JNI library and the runtime for this platform, or null if they are not in a jar. */
  private static List<Packaged> packaged() throws IOException {
    String platform = platform();
    if (platform == null) {
      return null;
    }
    List<Packaged> libraries = new ArrayList<>();
    for (String library : List.of("onnxruntime", "onnxruntime4j_jni")) {
      String name = System.mapLibraryName(library);
      URL url = OrtEnvironment.class.getResource(
          "/ai/onnxruntime/native/" + platform + "/" + name);
      if (url == null) {
        return null;
      }
      URLConnection connection = url.openConnection();
      if (!(connection instanceof JarURLConnection jar)) {
        return null;
      }
      JarEntry entry = jar.getJarEntry();
      if (entry.getSize() < 0 || entry.getCrc() < 0) {
        return null;
      }
      libraries.add(new Packaged(name, url, entry.getSize(), entry.getCrc()));
    }
    return libraries;
  }

  /** ONNX Runtime's name for this platform's directory in its jar (Linux and macOS), or null. */
  private static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    String o = os.contains("linux") ? "linux" : os.contains("mac") ? "osx" : null;
    String a = arch.equals("amd64") || arch.equals("x86_64") ? "x64"
        : arch.equals("aarch64") ? "aarch64" : null;
    return o == null || a == null ? null : o + "-" + a;
  }

  private static String hash(List<Packaged> libraries) {
    CRC32 crc = new CRC32();
    for (Packaged p : libraries) {
      crc.update((p.name() + "\0" + p.size() + "\0" + p.crc() + "\0")
          .getBytes(StandardCharsets.UTF_8));
    }
    return String.format("%08x", crc.getValue());
  }

  /** True when {@code dir} holds every library with its listed size. */
  private static boolean complete(Path dir, List<Packaged> libraries) throws IOException {
    for (Packaged p : libraries) {
      Path f = dir.resolve(p.name());
      if (!Files.isRegularFile(f) || Files.size(f) != p.size()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Unpacks the libraries into a temporary directory under {@code root}, checks their CRC-32s
   * and renames it to {@code dir}; a complete copy renamed there first by another process wins.
   */
  private static void unpack(Path root, Path dir, List<Packaged> libraries) throws IOException {
    Files.createDirectories(root);
    Path tmp = Files.createTempDirectory(root, ".onnxruntime-");
    try {
      for (Packaged p : libraries) {
        CRC32 crc = new CRC32();
        try (InputStream in = p.url().openStream()) {
          byte[] bytes = in.readAllBytes();
          crc.update(bytes);
          Files.write(tmp.resolve(p.name()), bytes);
        }
        if (crc.getValue() != p.crc()) {
          throw new IOException(p.name() + " in ONNX Runtime's jar does not match its CRC-32");
        }
      }
      if (Files.exists(dir)) {
        // an incomplete copy: out of the way first (another process may be reading it)
        Path stale = Files.createTempDirectory(root, ".stale-");
        try {
          Files.move(dir, stale.resolve("libraries"), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
          // another process moved or replaced it first
        }
        AtomicFiles.deleteTreeQuietly(stale);
      }
      try {
        Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException e) {
        // another process renamed its copy into place first: complete() decides
      }
    } finally {
      AtomicFiles.deleteTreeQuietly(tmp);
    }
  }
}
