package dev.deeplab.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.GraphDef;

/**
 * We parse users' {@code .pb} files with protobuf-java. TensorFlow Java 1.1.0 asks for 3.21.9,
 * which can overflow the stack on deeply nested unknown groups (CVE-2024-7254); the build pins a
 * 3.x release with the fix (checked here by version: the CVE's payloads vary with the parse path),
 * TensorFlow's generated classes still work with it, and a deeply nested file is refused with a
 * one-line error.
 */
class ProtobufRuntimeTest {

  @Test
  void runtimeIsAFixed3xRelease() throws Exception {
    Path jar = Path.of(com.google.protobuf.Message.class.getProtectionDomain().getCodeSource()
        .getLocation().toURI());
    String version;
    try (JarFile j = new JarFile(jar.toFile())) {
      version = j.getManifest().getMainAttributes().getValue("Bundle-Version");
    }
    assertNotNull(version, "protobuf-java's manifest names its version: " + jar);
    String[] v = version.split("\\.");
    int major = Integer.parseInt(v[0]);
    int minor = Integer.parseInt(v[1]);
    int patch = Integer.parseInt(v[2]);
    assertEquals(3, major, "TF Java 1.1.0's generated classes need the 3.x runtime");
    assertTrue(minor > 25 || (minor == 25 && patch >= 5), "3.25.5+ fixes CVE-2024-7254, got "
        + version);
  }

  @Test
  void tensorflowProtosRoundTrip() throws Exception {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      tf.withName("answer").constant(42f);
      GraphDef back = GraphDef.parseFrom(g.toGraphDef().toByteArray());
      assertEquals("answer", back.getNode(0).getName());
    }
  }

  @Test
  void deeplyNestedFrozenGraphIsRefusedInOneLine(@TempDir Path dir) throws Exception {
    // 100,000 nested start-group tags of an unknown field, then as many end-group tags.
    ByteArrayOutputStream bomb = new ByteArrayOutputStream();
    int depth = 100_000;
    for (int i = 0; i < depth; i++) {
      writeVarint(bomb, (999 << 3) | 3);
    }
    for (int i = 0; i < depth; i++) {
      writeVarint(bomb, (999 << 3) | 4);
    }
    Path pb = Files.write(dir.resolve("frozen_inference_graph.pb"), bomb.toByteArray());
    IOException e = assertThrows(IOException.class, () -> ModelImporter.frozenGraph(pb));
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    System.out.println("nested .pb refused: " + e.getMessage());
  }

  private static void writeVarint(ByteArrayOutputStream out, int value) {
    while ((value & ~0x7F) != 0) {
      out.write((value & 0x7F) | 0x80);
      value >>>= 7;
    }
    out.write(value);
  }
}
