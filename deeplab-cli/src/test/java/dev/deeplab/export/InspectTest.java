package dev.deeplab.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.weights.FloatTensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deeplab inspect} on an official-layout checkpoint (model variables, slots and {@code
 * global_step} with their dtypes) and on the bundled SavedModel (signatures with method name,
 * dtypes and shapes, as {@code saved_model_cli show --all} prints them).
 */
class InspectTest {
  @TempDir
  Path tmp;

  @Test
  void inspectsCheckpoint() throws Exception {
    Path prefix = tmp.resolve("model.ckpt-30000");
    Map<String, FloatTensor> w = Map.of(
        "logits/semantic/weights", new FloatTensor(new long[] {1, 1, 2, 3}, new float[6]),
        "logits/semantic/biases", new FloatTensor(new long[] {3}, new float[3]));
    Fixtures.writeCheckpoint(prefix, w, true);
    Cli.Run r = Cli.run("inspect", prefix.toString());
    assertEquals(0, r.exit(), r.err());
    assertEquals(List.of(
        "global_step DT_INT64 []",
        "logits/semantic/biases DT_FLOAT [3]",
        "logits/semantic/biases/Momentum DT_FLOAT [3]",
        "logits/semantic/weights DT_FLOAT [1,1,2,3]",
        "logits/semantic/weights/Momentum DT_FLOAT [1,1,2,3]",
        "total parameters: 19"), r.out().lines().toList());
  }

  @Test
  void inspectsBundledSavedModelSignatures() {
    Cli.Run r = Cli.run("inspect", TestModels.BUNDLED.toString());
    assertEquals(0, r.exit(), r.err());
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.contains("tags: serve"), r.out());
    for (String sig : List.of("serving_default", "predict_images", "predict_probabilities")) {
      assertTrue(lines.contains("signature '" + sig + "' method: tensorflow/serving/predict"),
          r.out());
    }
    assertTrue(lines.contains("  input  images: DT_UINT8 [-1,-1,-1,3] images:0"), r.out());
    assertTrue(lines.contains("  input  image_bytes: DT_STRING [-1] image_bytes:0"), r.out());
    assertTrue(lines.contains("  output semantic_png_bytes: DT_STRING [-1] semantic_png_bytes:0"),
        r.out());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("  output semantic: DT_INT32 [-1,-1,-1]")),
        r.out());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("  output probabilities: DT_FLOAT "
        + "[-1,-1,-1,21]")),
        r.out());
    assertTrue(lines.contains("MobilenetV2/Conv/weights DT_FLOAT [3,3,3,32]"), r.out());
  }
}
