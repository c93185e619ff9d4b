package dev.deeplab.internal.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import ai.onnxruntime.OrtEnvironment;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ONNX Runtime's native libraries unpacked into the cache: the jar's bytes, repaired if cut. */
class OnnxRuntimeLibrariesTest {
  @TempDir Path tmp;

  @Test
  void unpacksTheJarsLibrariesOnceAndReplacesATruncatedCopy() throws IOException {
    Path dir = OnnxRuntimeLibraries.unpacked(tmp);
    assertNotNull(dir, "ONNX Runtime's libraries for this platform are in its jar");
    List<String> names = List.of(System.mapLibraryName("onnxruntime"),
        System.mapLibraryName("onnxruntime4j_jni"));
    for (String name : names) {
      assertArrayEquals(fromJar(name), Files.readAllBytes(dir.resolve(name)), name);
    }
    Path runtime = dir.resolve(names.get(0));
    FileTime written = FileTime.fromMillis(1_000_000_000_000L);
    Files.setLastModifiedTime(runtime, written);
    assertEquals(dir, OnnxRuntimeLibraries.unpacked(tmp));
    assertEquals(written, Files.getLastModifiedTime(runtime), "a complete copy is not rewritten");

    byte[] bytes = Files.readAllBytes(runtime);
    Files.write(runtime, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    assertEquals(dir, OnnxRuntimeLibraries.unpacked(tmp));
    assertArrayEquals(fromJar(names.get(0)), Files.readAllBytes(runtime), "repaired");
    try (var files = Files.list(tmp)) {
      assertEquals(List.of(dir), files.toList(), "no temporary directory left behind");
    }
  }

  private static byte[] fromJar(String name) throws IOException {
    String arch = System.getProperty("os.arch").equals("aarch64") ? "aarch64" : "x64";
    String os = System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("mac")
        ? "osx" : "linux";
    try (InputStream in = OrtEnvironment.class.getResourceAsStream(
        "/ai/onnxruntime/native/" + os + "-" + arch + "/" + name)) {
      return in.readAllBytes();
    }
  }
}
