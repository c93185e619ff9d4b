package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.image.LabelReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code segment --save-probabilities}: the mask and the {@code .npy} come from one run of the
 * network and hold what the library's {@link Segmenter#segment} and {@link
 * Segmenter#probabilities} return for the same image; the {@code .npy} is a float32 {@code
 * [height, width, classes]} array as NumPy reads it.
 */
class SegmentProbabilitiesTest {
  @TempDir
  Path dir;

  @Test
  void maskAndProbabilitiesMatchTheLibrary() throws Exception {
    Path image = Files.write(dir.resolve("chelsea.png"),
        TestModels.resource("/dev/deeplab/photos/chelsea.png"));
    Path out = dir.resolve("out");
    CliReliabilityTest.Run r = CliReliabilityTest.run("segment", "--model",
        TestModels.small().toString(), "--threads", "1", "--save-probabilities", "-o",
        out.toString(), image.toString());
    assertEquals(0, r.code(), r.err());

    RgbImage photo = new ImageReader().read(image);
    try (Segmenter s = Segmenter.builder().model(TestModels.small()).threads(1).build()) {
      int classes = s.info().config().numClasses();
      float[] expected = s.segmentWithProbabilities(photo).probabilities();
      byte[] npy = Files.readAllBytes(out.resolve("chelsea_probabilities.npy"));
      int headerLength = (npy[8] & 0xff) | (npy[9] & 0xff) << 8;
      String header = new String(npy, 10, headerLength, StandardCharsets.US_ASCII);
      assertTrue(header.contains("'descr': '<f4'"), header);
      assertTrue(header.contains("'shape': (" + photo.height() + ", " + photo.width() + ", "
          + classes + ")"), header);
      float[] actual = new float[(npy.length - 10 - headerLength) / 4];
      ByteBuffer.wrap(npy, 10 + headerLength, actual.length * 4).order(ByteOrder.LITTLE_ENDIAN)
          .asFloatBuffer().get(actual);
      assertArrayEquals(expected, actual);

      int[] ids = s.segment(photo.rgb(), photo.width(), photo.height()).classIds();
      byte[] mask = new LabelReader().read(out.resolve("chelsea_mask.png")).ids();
      assertEquals(ids.length, mask.length);
      for (int i = 0; i < ids.length; i++) {
        assertEquals(ids[i], mask[i] & 0xff, "pixel " + i);
      }
    }
  }
}
