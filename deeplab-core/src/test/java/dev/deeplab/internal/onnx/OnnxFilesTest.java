package dev.deeplab.internal.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.deeplab.infer.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cache name of a SavedModel's ONNX form follows the contents of its files. */
class OnnxFilesTest {
  @TempDir Path tmp;

  @Test
  void cacheNameChangesWithAnyByteOfTheModelAndOnlyThen() throws IOException {
    Path model = copy(TestModels.BUNDLED, tmp.resolve("model"));
    String original = OnnxFiles.hash(model);
    assertEquals(original, OnnxFiles.hash(copy(TestModels.BUNDLED, tmp.resolve("same"))),
        "the same files elsewhere");
    Path weights = model.resolve("variables").resolve("variables.data-00000-of-00001");
    byte[] bytes = Files.readAllBytes(weights);
    bytes[bytes.length / 2] ^= 1;
    Files.write(weights, bytes);
    assertNotEquals(original, OnnxFiles.hash(model), "one bit of the weights flipped, same size");
    bytes[bytes.length / 2] ^= 1;
    Files.write(weights, bytes);
    assertEquals(original, OnnxFiles.hash(model), "restored");
    Files.writeString(model.resolve("assets").resolve("extra.txt"), "x");
    assertNotEquals(original, OnnxFiles.hash(model), "a file added");
  }

  private static Path copy(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
    return to;
  }
}
