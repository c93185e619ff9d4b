package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.DenseCrf;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.testing.TestData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code segment --crf} and {@code eval --crf}: the CLI calls the library's {@link DenseCrf} with
 * the parameters given, and reports the scores with and without it.
 */
class CrfCommandsTest {
  @TempDir
  Path dir;

  @Test
  void segmentWritesTheCrfMarginalsAndTheirArgmax() throws Exception {
    Path image = Files.write(dir.resolve("chelsea.png"),
        TestModels.resource("/dev/deeplab/photos/chelsea.png"));
    Path out = dir.resolve("out");
    CliReliabilityTest.Run r = CliReliabilityTest.run("segment", "--model",
        TestModels.small().toString(), "--threads", "1", "--crf", "--crf-iterations", "5",
        "--crf-appearance", "5,50,4", "--save-probabilities", "-o", out.toString(),
        image.toString());
    assertEquals(0, r.code(), r.err());
    RgbImage photo = new ImageReader().read(image);
    try (Segmenter s = Segmenter.builder().model(TestModels.small()).threads(1).build()) {
      int classes = s.info().config().numClasses();
      DenseCrf crf = new DenseCrf(DenseCrf.Settings.deepLabV2().withIterations(5)
          .withAppearance(5, 50, 4));
      float[] expected = crf.marginals(photo, s.segmentWithProbabilities(photo).probabilities(),
          classes);
      byte[] npy = Files.readAllBytes(out.resolve("chelsea_probabilities.npy"));
      int headerLength = (npy[8] & 0xff) | (npy[9] & 0xff) << 8;
      float[] actual = new float[(npy.length - 10 - headerLength) / 4];
      ByteBuffer.wrap(npy, 10 + headerLength, actual.length * 4).order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer().get(actual);
      assertArrayEquals(expected, actual, 1e-6f);
      int[] ids = DenseCrf.argmax(actual, classes);
      byte[] mask = new LabelReader().read(out.resolve("chelsea_mask.png")).ids();
      for (int i = 0; i < ids.length; i++) {
        assertEquals(ids[i], mask[i] & 0xff, "pixel " + i);
      }
    }
  }

  @Test
  void evalReportsScoresWithAndWithoutTheCrf() throws Exception {
    String data = TestData.vocMini().toString();
    String model = TestModels.small().toString();
    // --crf runs on TensorFlow, as the plain evaluation then must for equal scores
    CliReliabilityTest.Run plain = CliReliabilityTest.run("eval", "--model", model, "--data",
        data, "--engine", "tensorflow", "--json");
    assertEquals(0, plain.code(), plain.err());
    CliReliabilityTest.Run crf = CliReliabilityTest.run("eval", "--model", model, "--data", data,
        "--json", "--crf", "--crf-smoothness", "2,1.5", "--trimap-band", "3");
    assertEquals(0, crf.code(), crf.err());
    ObjectMapper json = new ObjectMapper();
    JsonNode p = json.readTree(plain.out());
    JsonNode c = json.readTree(crf.out());
    assertEquals(p.get("mean_iou").asDouble(), c.get("without_crf").get("mean_iou").asDouble());
    assertEquals(p.get("pixel_accuracy").asDouble(),
        c.get("without_crf").get("pixel_accuracy").asDouble());
    assertEquals(2.0, c.get("crf").get("smoothness_weight").asDouble());
    assertEquals(1.5, c.get("crf").get("smoothness_xy_std").asDouble());
    assertEquals(67.0, c.get("crf").get("appearance_xy_std").asDouble());
    assertEquals(3, c.get("trimap_band").asInt());
    assertTrue(c.get("trimap_pixels").asLong() > 0);
    assertTrue(c.get("mean_iou").isNumber() && c.get("trimap_accuracy").isNumber());
  }

  @Test
  void crfOptionMistakesAreUsageErrors() throws Exception {
    String data = TestData.vocMini().toString();
    for (String[] args : new String[][] {
        {"eval", "--data", data, "--crf-iterations", "3"},
        {"eval", "--data", data, "--crf", "--crf-appearance", "4,67"},
        {"eval", "--data", data, "--crf", "--crf-smoothness", "-1,1"},
        {"eval", "--data", data, "--crf", "--trimap-band", "0"},
        {"segment", "--crf-smoothness", "3,1", "x.jpg"}}) {
      CliReliabilityTest.Run r = CliReliabilityTest.run(args);
      assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
      assertTrue(r.err().lines().findFirst().orElse("").contains("--"), r.err());
    }
  }
}
