package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Engine;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.image.LabelReader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code export --format onnx}, {@code segment} on an {@code .onnx} model and with {@code
 * --engine onnxruntime}, {@code bench --engine}: the files and masks they write, and one-line
 * errors for the combinations that make no sense.
 */
class OnnxCommandsTest {
  @TempDir
  Path dir;

  @Test
  void exportedOnnxFileSegmentsAsTheLibraryDoes() throws Exception {
    Path onnx = dir.resolve("small.onnx");
    CliReliabilityTest.Run export = CliReliabilityTest.run("export", "--format", "onnx",
        "--model", TestModels.small().toString(), "-o", onnx.toString());
    assertEquals(0, export.code(), export.err());
    assertTrue(export.out().contains("37 batch norms folded"), export.out());
    assertTrue(Files.size(onnx) > 8_000_000, "the weights are in the file");
    try (var files = Files.list(dir)) {
      assertEquals(1, files.count(), "no temporary file left beside it");
    }

    Path image = Files.write(dir.resolve("chelsea.png"),
        TestModels.resource("/dev/deeplab/photos/chelsea.png"));
    for (String[] args : new String[][] {{"--model", onnx.toString()},
        {"--model", TestModels.small().toString(), "--engine", "onnxruntime"}}) {
      Path out = dir.resolve("out" + args.length);
      String[] all = new String[args.length + 4];
      all[0] = "segment";
      System.arraycopy(args, 0, all, 1, args.length);
      all[args.length + 1] = "-o";
      all[args.length + 2] = out.toString();
      all[args.length + 3] = image.toString();
      CliReliabilityTest.Run r = CliReliabilityTest.run(all);
      assertEquals(0, r.code(), r.err());
      RgbImage photo = new ImageReader().read(image);
      try (Segmenter s = Segmenter.load(onnx)) {
        assertEquals(Engine.ONNX_RUNTIME, s.engine());
        int[] ids = s.segment(photo).classIds();
        byte[] mask = new LabelReader().read(out.resolve("chelsea_mask.png")).ids();
        assertEquals(ids.length, mask.length);
        for (int i = 0; i < ids.length; i++) {
          assertEquals(ids[i], mask[i] & 0xff, "pixel " + i + " with " + String.join(" ", args));
        }
      }
    }

    CliReliabilityTest.Run wrongEngine = CliReliabilityTest.run("segment", "--engine",
        "tensorflow", "--model", onnx.toString(), "-o", dir.resolve("x").toString(),
        image.toString());
    assertNotEquals(0, wrongEngine.code());
    assertEquals(1, wrongEngine.errLines().size(), wrongEngine.err());
    assertTrue(wrongEngine.err().contains("is an ONNX model"), wrongEngine.err());
    assertFalse(wrongEngine.hasStackTrace());
  }

  @Test
  void meaninglessCombinationsAreOneLineErrors() throws Exception {
    String model = TestModels.small().toString();
    String[][] cases = {
        {"export", "--format", "onnx", "--checkpoint", "x/model.ckpt", "-o", "m.onnx"},
        {"export", "--format", "tflite", "--model", model, "-o", "m"},
        {"export", "--probabilities", "--model", model, "-o", dir.resolve("sm").toString()},
        {"export", "--format", "onnx", "--model", model, "--model-version", "3", "-o", "m.onnx"},
        {"segment", "--engine", "pytorch", "x.png"},
        {"bench", "--engine", "onnxruntime", "--variant", "mobilenet_v2"},
    };
    for (String[] args : cases) {
      CliReliabilityTest.Run r = CliReliabilityTest.run(args);
      String what = String.join(" ", args);
      assertNotEquals(0, r.code(), what);
      assertFalse(r.hasStackTrace(), what + ": " + r.err());
      // the message first (command-line mistakes then print the usage)
      assertTrue(r.errLines().get(0).startsWith("deeplab"), what + ": " + r.err());
    }
  }

  /**
   * {@code eval --engine onnxruntime} scores voc-mini as TensorFlow does: the same pixel counts
   * per class within the few pixels that near-ties may flip.
   */
  @Test
  void evalOnOnnxRuntimeScoresAsTensorFlow() throws Exception {
    String model = TestModels.small().toString();
    String data = dev.deeplab.testing.TestData.vocMini().toString();
    CliReliabilityTest.Run tf = CliReliabilityTest.run("eval", "--model", model, "--data", data,
        "--json");
    CliReliabilityTest.Run ort = CliReliabilityTest.run("eval", "--model", model, "--data", data,
        "--engine", "onnxruntime", "--json");
    assertEquals(0, tf.code(), tf.err());
    assertEquals(0, ort.code(), ort.err());
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    double a = json.readTree(tf.out()).get("mean_iou").asDouble();
    double b = json.readTree(ort.out()).get("mean_iou").asDouble();
    assertTrue(a > 0.5, "the small model segments voc-mini: " + a);
    assertEquals(a, b, 1e-4, "mIoU on both engines");

    CliReliabilityTest.Run multi = CliReliabilityTest.run("eval", "--model", model, "--data",
        data, "--engine", "onnxruntime", "--scales", "0.5,1.0");
    assertEquals(2, multi.code(), multi.err());
  }

  @Test
  void benchTimesBothEnginesInterleaved() throws Exception {
    CliReliabilityTest.Run r = CliReliabilityTest.run("bench", "--engine",
        "tensorflow,onnxruntime", "--model", TestModels.small().toString(), "--size", "97",
        "--runs", "2", "--warmup", "1", "--threads", "1");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("tensorflow") && r.out().contains("onnxruntime"), r.out());
    assertTrue(r.out().contains("1.000"), "ratios to the first engine: " + r.out());
  }
}
