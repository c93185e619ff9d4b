package dev.deeplab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.ModelVariable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The variables (name and shape) of every model-zoo preset, and of every golden case's network,
 * equal the manifest that the independent Python reference ({@code
 * tools/reference/deeplab_reference.py}) derived from the official code, so that a rename or a
 * shape change cannot slip through.
 */
class VariableManifestTest {

  static List<String> presets() {
    return ModelConfig.presetNames();
  }

  @ParameterizedTest
  @MethodSource("presets")
  void variablesMatchManifest(String preset) throws Exception {
    Path manifest = Paths.get("src/test/resources/manifests", preset + ".txt");
    List<String> expected = Files.readAllLines(manifest).stream().filter(l -> !l.isBlank()).toList();
    // The image-pooling window makes no variable; at 65x65 it must fit the features.
    ModelConfig small = ModelConfig.preset(preset).withCropSize(65, 65)
        .withImagePooling(List.of(), List.of(1, 1));
    try (ModelGraph g = ModelGraph.build(small)) {
      List<String> actual = g.variables().values().stream()
          .sorted(Comparator.comparing(ModelVariable::name))
          .map(v -> v.name() + " " + v.shapeString()).toList();
      assertEquals(String.join("\n", expected), String.join("\n", actual), preset);
    }
  }

  static java.util.stream.Stream<String> cases() throws Exception {
    return dev.deeplab.testing.GoldenCases.names(GoldenParityTest.GOLDEN);
  }

  @ParameterizedTest
  @MethodSource("cases")
  void goldenCaseVariablesMatchTheirManifest(String name) throws Exception {
    Path dir = GoldenParityTest.GOLDEN.resolve(name);
    List<String> expected = Files.readAllLines(dir.resolve("variables.txt")).stream()
        .filter(l -> !l.isBlank()).toList();
    ModelConfig config = dev.deeplab.testing.GoldenCases.configOf(
        new com.fasterxml.jackson.databind.ObjectMapper().readTree(
            dir.resolve("config.json").toFile()));
    try (ModelGraph g = ModelGraph.build(config)) {
      List<String> actual = g.variables().values().stream()
          .sorted(Comparator.comparing(ModelVariable::name))
          .map(v -> v.name() + " " + v.shapeString()).toList();
      assertEquals(String.join("\n", expected), String.join("\n", actual), name);
    }
  }
}
