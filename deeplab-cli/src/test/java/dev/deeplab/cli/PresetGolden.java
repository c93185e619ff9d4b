package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.MaskWriter;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.testing.Npy;
import dev.deeplab.testing.ReferenceWeights;
import dev.deeplab.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A preset's command-line paths against what {@code tools/reference} wrote: {@code inspect}
 * against the committed manifest, and the path from a checkpoint to class ids against a golden
 * case (the reference's formula weights written as a checkpoint, {@code export --checkpoint
 * --preset} or brought in by another import, then {@code segment} of the reference's input image).
 */
final class PresetGolden {
  private PresetGolden() {}

  /**
   * Asserts that {@code inspect --preset preset} lists the committed manifest {@code
   * manifests/<preset>.txt} (variable names and shapes from the reference) and its parameter
   * total, and returns the manifest's lines.
   */
  static List<String> assertInspectListsManifest(String preset) throws Exception {
    CliReliabilityTest.Run r = CliReliabilityTest.run("inspect", "--preset", preset);
    assertEquals(0, r.code(), r.err());
    List<String> lines = r.out().lines().toList();
    List<String> manifest = Files.readAllLines(TestData.resources("manifests/" + preset + ".txt"))
        .stream().filter(l -> !l.isBlank()).toList();
    long total = 0;
    for (String line : manifest) {
      long n = 1;
      for (String d : line.substring(line.indexOf('[') + 1, line.indexOf(']')).split(",")) {
        n *= Long.parseLong(d);
      }
      total += n;
    }
    assertEquals(manifest, lines.subList(0, lines.size() - 1));
    assertEquals("total parameters: " + total, lines.get(lines.size() - 1));
    return manifest;
  }

  /**
   * Asserts that {@code preset} at a square {@code crop} segments the golden case {@code golden}
   * (a resources directory with {@code logits_upsampled_argmax.npy}) as the reference does.
   */
  static void assertSegmentsAsReference(Path dir, String preset, int crop, String golden)
      throws Exception {
    ModelConfig config = ModelConfig.preset(preset).withCropSize(crop, crop);
    Path prefix = dir.resolve("formula.ckpt");
    try (ModelGraph g = ModelGraph.build(config)) {
      Checkpoints.writeFloats(prefix, ReferenceWeights.forVariables(g.variables().values()));
    }
    Path model = dir.resolve("model");
    CliReliabilityTest.Run export = CliReliabilityTest.run("export", "--checkpoint",
        prefix.toString(), "--preset", preset, "--crop-size", String.valueOf(crop), "-o",
        model.toString());
    assertEquals(0, export.code(), export.err());
    assertModelSegmentsAsReference(dir, model, crop, golden);
  }

  /**
   * Asserts that the one SavedModel version under {@code model}, at a square {@code crop},
   * segments the reference's input image as the golden case {@code golden} says.
   */
  static void assertModelSegmentsAsReference(Path dir, Path model, int crop, String golden)
      throws Exception {
    FloatTensor input = ReferenceWeights.input(crop, crop);
    byte[] rgb = new byte[crop * crop * 3];
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = (byte) input.data()[i];
    }
    Path image = dir.resolve("input.png");
    MaskWriter.writePng(image, new RgbImage(crop, crop, rgb));

    Path version;
    try (Stream<Path> versions = Files.list(model)) {
      version = versions.filter(Files::isDirectory).findFirst().orElseThrow();
    }
    Path out = dir.resolve("out");
    CliReliabilityTest.Run segment = CliReliabilityTest.run("segment", "--model",
        version.toString(), "--threads", "1", "-o", out.toString(), image.toString());
    assertEquals(0, segment.code(), segment.err());

    byte[] ids = new LabelReader().read(out.resolve("input_mask.png")).ids();
    double[] expected = Npy.read(TestData.resources(golden + "logits_upsampled_argmax.npy"))
        .data();
    assertEquals(expected.length, ids.length);
    int differing = 0;
    for (int i = 0; i < ids.length; i++) {
      if ((ids[i] & 0xff) != (int) expected[i]) {
        differing++;
      }
    }
    // As GoldenParityTest: formula weights leave a few near-ties (top-2 gap below float32
    // noise); more than 0.5% of pixels differing is a real mismatch.
    System.out.printf("%s at %dx%d: class ids differ from the reference's at %d of %d "
        + "pixels%n", model.getFileName(), crop, crop, differing, ids.length);
    assertTrue(differing <= ids.length / 200, differing + " of " + ids.length + " differ");
  }
}
