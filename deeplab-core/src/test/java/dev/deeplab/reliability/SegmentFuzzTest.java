package dev.deeplab.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Bounded fuzzing of the whole segment path: bit flips, truncations and both, applied to real
 * photos encoded as JPEG, PNG, BMP and GIF, then {@link ImageReader#read(byte[], String)} and,
 * for whatever decodes, {@link Segmenter#segment}. Every case must end in a segmentation of the
 * decoded size or in one {@link ImageFormatException} with a one-line message naming the input;
 * never another exception, a JVM crash or a hang. The Segmenter's {@code maxSide} is set low so
 * both the direct and the large-image path are exercised.
 */
class SegmentFuzzTest {
  private static final int ROUNDS = 160;
  private static final long SEED = 20_261_125L;

  @Test
  void mutatedImagesEndInAResultOrAOneLineError() throws Exception {
    RgbImage crop = BadImages.photoCrop("astronaut.png", 128, 96);
    List<byte[]> seeds = List.of(
        BadImages.encode(BadImages.rgb(crop), "jpg"),
        BadImages.encode(BadImages.rgb(crop), "png"),
        BadImages.encode(BadImages.rgb(crop), "bmp"),
        BadImages.encode(BadImages.palette(crop), "gif"),
        BadImages.encode(BadImages.rgba(crop), "png"));
    List<String> names = List.of("jpg", "png", "bmp", "gif", "png");
    ImageReader reader = new ImageReader(4_000_000);
    Random random = new Random(SEED);
    int[] outcomes = new int[2];
    List<String> sampleErrors = new ArrayList<>();
    try (Segmenter segmenter = Segmenter.builder().model(TestModels.small()).threads(0).maxSide(100).build()) {
      assertTimeoutPreemptively(Duration.ofSeconds(240), () -> {
        for (int round = 0; round < ROUNDS; round++) {
          int k = round % seeds.size();
          byte[] data = mutate(seeds.get(k), random);
          String name = "fuzz-" + round + "." + names.get(k);
          try {
            RgbImage image = reader.read(data, name);
            Segmentation s = segmenter.segment(image.rgb(), image.width(), image.height());
            assertEquals((long) image.width() * image.height(), s.classIds().length, name);
            assertTrue(Arrays.stream(s.classIds()).allMatch(c -> c >= 0 && c < s.numClasses()));
            outcomes[0]++;
          } catch (ImageFormatException e) {
            String m = e.getMessage();
            assertFalse(m.contains("\n") || m.contains("\r"), m);
            assertTrue(m.startsWith(name + ": "), m);
            if (sampleErrors.size() < 4) {
              sampleErrors.add(m);
            }
            outcomes[1]++;
          } catch (Throwable t) {
            fail(name + ": unexpected " + t, t);
          }
        }
      });
    }
    System.out.printf(Locale.ROOT, "segment fuzz: %d rounds, %d segmented, %d one-line errors%n",
        ROUNDS, outcomes[0], outcomes[1]);
    sampleErrors.forEach(m -> System.out.println("  e.g. " + m));
    assertEquals(ROUNDS, outcomes[0] + outcomes[1]);
    assertTrue(outcomes[0] > 0 && outcomes[1] > 0, "both outcomes should occur");
  }

  /** One of: 1-4 bit flips, a truncation, or both. */
  static byte[] mutate(byte[] base, Random random) {
    byte[] data = base.clone();
    int kind = random.nextInt(3);
    if (kind != 1) {
      int flips = 1 + random.nextInt(4);
      for (int i = 0; i < flips; i++) {
        // A quarter of the flips land in the first 64 bytes, where the headers are.
        int at = random.nextInt(4) == 0 ? random.nextInt(Math.min(64, data.length))
            : random.nextInt(data.length);
        data[at] ^= (byte) (1 << random.nextInt(8));
      }
    }
    if (kind != 0) {
      data = Arrays.copyOf(data, random.nextInt(data.length));
    }
    return data;
  }
}
