package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.infer.TestModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code segment --json} and {@code inspect --json}: one JSON document a program can read. */
class JsonReportsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void segmentReportsEveryImageEvenWithTheSameStemAndBadOnes(@TempDir Path dir) throws Exception {
    byte[] chelsea = TestModels.resource("/dev/deeplab/photos/chelsea.png");
    Path a = Files.write(Files.createDirectories(dir.resolve("a")).resolve("cat.png"), chelsea);
    Path b = Files.write(Files.createDirectories(dir.resolve("b")).resolve("cat.png"), chelsea);
    Path bad = Files.writeString(dir.resolve("notes.png"), "not an image");
    Path out = dir.resolve("out");
    String[] result = run("segment", "--json", "--model", TestModels.small().toString(), "-o",
        out.toString(), a.toString(), b.toString(), bad.toString());
    assertEquals("1", result[0], "one image failed: " + result[2]);
    JsonNode root = JSON.readTree(result[1]);
    assertEquals(TestModels.small().toString(), root.get("model").asText());
    JsonNode images = root.get("images");
    assertEquals(3, images.size());
    Set<String> written = new HashSet<>();
    for (int i = 0; i < 2; i++) {
      JsonNode e = images.get(i);
      assertEquals(List.of(a, b).get(i).toString(), e.get("image").asText());
      assertEquals(451, e.get("width").asInt());
      assertEquals(300, e.get("height").asInt());
      for (String kind : List.of("mask", "overlay")) {
        Path f = Path.of(e.get("outputs").get(kind).asText());
        assertTrue(Files.isRegularFile(f), f.toString());
        assertTrue(written.add(f.toString()), "two images wrote " + f);
      }
      JsonNode classes = e.get("classes");
      List<Long> pixels = new ArrayList<>();
      double share = 0;
      for (JsonNode c : classes) {
        pixels.add(c.get("pixels").asLong());
        share += c.get("share").asDouble();
        assertEquals(dev.deeplab.model.LabelSet.PASCAL_VOC.className(c.get("id").asInt()),
            c.get("name").asText());
      }
      assertEquals(1.0, share, 1e-9);
      assertEquals(pixels.stream().sorted(java.util.Comparator.reverseOrder()).toList(), pixels,
          "largest first");
    }
    assertTrue(written.contains(out.resolve("cat-2_mask.png").toString()), written.toString());
    assertTrue(images.get(2).get("error").asText().startsWith(bad.toString() + ": not an image"),
        images.get(2).toString());
  }

  @Test
  void inspectDescribesASavedModel() throws Exception {
    String[] result = run("inspect", "--json", TestModels.BUNDLED.toString());
    assertEquals("0", result[0], result[2]);
    JsonNode root = JSON.readTree(result[1]);
    assertEquals("savedmodel", root.get("kind").asText());
    assertEquals(Set.of("serving_default", "predict_images", "predict_probabilities"),
        fieldNames(root.get("signatures")));
    assertEquals("DT_STRING", root.at("/signatures/serving_default/inputs/image_bytes/dtype")
        .asText());
    assertEquals("dog", root.at("/model_info/class_names/12").asText());
    assertEquals(2_146_645, root.get("parameters").asLong(), "MobileNetV2 DeepLabv3, 21 classes");
  }

  private static Set<String> fieldNames(JsonNode n) {
    Set<String> s = new HashSet<>();
    n.fieldNames().forEachRemaining(s::add);
    return s;
  }

  /** Exit code, stdout, stderr. */
  private static String[] run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = DeepLabCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new String[] {Integer.toString(code), out.toString(), err.toString()};
  }
}
