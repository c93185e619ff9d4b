package dev.deeplab.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ways in: a file, encoded bytes, a {@code BufferedImage}, an {@code RgbImage}, raw pixels and
 * a batch give the same class ids; results cannot be changed through what they return; bad input
 * is refused with the documented exceptions.
 */
class SegmenterApiTest {
  @TempDir
  static Path dir;

  private static Segmenter segmenter;
  private static byte[] png;
  private static RgbImage photo;

  @BeforeAll
  static void load() throws Exception {
    segmenter = Segmenter.builder().model(TestModels.small()).threads(1).maxPixels(200_000)
        .build();
    png = TestModels.resource("/dev/deeplab/photos/chelsea.png");
    photo = new ImageReader().read(png, "chelsea.png");
  }

  @AfterAll
  static void close() {
    segmenter.close();
  }

  /**
   * The faster engine is ONNX Runtime for one of our single-scale SavedModels, TensorFlow for a
   * multi-scale export (which ONNX Runtime cannot run); an engine named later wins.
   */
  @Test
  void theFastestEngineIsOnnxRuntimeWhereTheModelAllowsIt() throws Exception {
    try (Segmenter fastest = Segmenter.builder().model(TestModels.small()).threads(1)
            .fastestEngine().build();
        Segmenter ort = Segmenter.builder().model(TestModels.small()).threads(1)
            .engine(Engine.ONNX_RUNTIME).build()) {
      assertEquals(Engine.ONNX_RUNTIME, fastest.engine());
      assertArrayEquals(ort.segment(photo).classIds(), fastest.segment(photo).classIds());
    }
    Path multi = dev.deeplab.export.ModelExporter.reexport(TestModels.small(),
        dir.resolve("multi"), java.util.OptionalLong.empty(),
        dev.deeplab.model.ServingOptions.defaults().withScales(List.of(0.5, 1.0), false));
    try (Segmenter s = Segmenter.builder().model(multi).threads(1).fastestEngine().build()) {
      assertEquals(Engine.TENSORFLOW, s.engine());
    }
    try (Segmenter s = Segmenter.builder().model(TestModels.small()).threads(1).fastestEngine()
        .engine(Engine.TENSORFLOW).build()) {
      assertEquals(Engine.TENSORFLOW, s.engine());
    }
  }

  @Test
  void everyInputFormGivesTheSameIds() throws Exception {
    int[] want = segmenter.segment(photo.rgb(), photo.width(), photo.height()).classIds();
    Path file = Files.write(dir.resolve("cat.png"), png);
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
    assertArrayEquals(want, segmenter.segment(file).classIds(), "path");
    assertArrayEquals(want, segmenter.segment(png).classIds(), "encoded bytes");
    assertArrayEquals(want, segmenter.segment(image).classIds(), "BufferedImage");
    assertArrayEquals(want, segmenter.segment(photo).classIds(), "RgbImage");
    assertTrue(java.util.Arrays.stream(want).distinct().count() > 1, "a photo, not one class");
  }

  @Test
  void batchEqualsOneByOne() {
    RgbImage other = new RgbImage(photo.width(), photo.height(), flipped(photo));
    RgbImage small = new RgbImage(40, 30, new byte[40 * 30 * 3]);
    List<RgbImage> batch = List.of(photo, other, small, photo);
    List<Segmentation> all = segmenter.segmentAll(batch);
    assertEquals(batch.size(), all.size());
    for (int i = 0; i < batch.size(); i++) {
      assertEquals(segmenter.segment(batch.get(i)), all.get(i), "image " + i);
    }
    assertNotEquals(all.get(0), all.get(1), "a mirrored photo segments differently");
  }

  @Test
  void resultsAreImmutableAndConsistent() {
    Segmentation s = segmenter.segmentWithProbabilities(photo);
    int[] ids = s.classIds();
    int original = ids[0];
    ids[0] = original + 1;
    assertEquals(original, s.classIds()[0], "classIds() is a copy");
    float[] p = s.probabilities();
    p[0] = 42;
    assertNotEquals(42f, s.probabilities()[0], "probabilities() is a copy");
    assertEquals(s.classIds()[5 * photo.width() + 7], s.classId(7, 5));
    assertEquals(s.probabilities()[(5 * photo.width() + 7) * 21 + 3], s.probability(7, 5, 3));
    long[] counts = s.pixelCounts();
    assertEquals((long) photo.width() * photo.height(), java.util.Arrays.stream(counts).sum());
    assertEquals(s.toLabelMap().get(7, 5), s.classId(7, 5));
    assertThrows(IllegalStateException.class,
        () -> segmenter.segment(photo).probabilities(), "not asked for");
    assertThrows(IndexOutOfBoundsException.class, () -> s.classId(photo.width(), 0));
  }

  @Test
  void badInputIsRefusedWithTheDocumentedExceptions() throws Exception {
    ImageFormatException missing = assertThrows(ImageFormatException.class,
        () -> segmenter.segment(dir.resolve("missing.png")));
    assertTrue(missing.getMessage().contains("missing.png"), missing.getMessage());
    assertEquals(1, missing.getMessage().lines().count());
    ImageFormatException large = assertThrows(ImageFormatException.class,
        () -> segmenter.segment(dev.deeplab.image.TestImages.encode(
            dev.deeplab.image.TestImages.rgbGradient(500, 500), "png")));
    assertTrue(large.getMessage().contains("pixel limit of 200000"), large.getMessage());
    assertThrows(ImageFormatException.class, () -> segmenter.segment(new byte[] {1, 2, 3}));
    assertThrows(IllegalArgumentException.class, () -> segmenter.segment(new byte[5], 2, 2));
    assertThrows(IllegalArgumentException.class, () -> Segmenter.builder().threads(-1));
    assertThrows(IllegalArgumentException.class, () -> Segmenter.builder().maxSide(0));
    java.io.IOException notAModel = assertThrows(java.io.IOException.class,
        () -> Segmenter.load(dir));
    assertTrue(notAModel.getMessage().contains("no SavedModel in"), notAModel.getMessage());
  }

  private static byte[] flipped(RgbImage image) {
    byte[] out = new byte[image.rgb().length];
    int w = image.width();
    for (int y = 0; y < image.height(); y++) {
      for (int x = 0; x < w; x++) {
        System.arraycopy(image.rgb(), (y * w + x) * 3, out, (y * w + w - 1 - x) * 3, 3);
      }
    }
    return out;
  }
}
