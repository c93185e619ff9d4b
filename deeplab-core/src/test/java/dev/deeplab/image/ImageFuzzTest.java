package dev.deeplab.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.deeplab.internal.image.LabelReader;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Bounded fuzzing: bit flips and truncations of real files. Every case must either decode or
 * throw {@link ImageFormatException} with a one-line message — never another exception, never a
 * hang.
 */
class ImageFuzzTest {
  private static final int ROUNDS = 300;

  @Test
  void mutatedJpegAndPng() throws Exception {
    byte[] jpeg = TestImages.resource("/dev/deeplab/photos/owl.jpg");
    byte[] png = TestImages.resource("/dev/deeplab/photos/chelsea.png");
    byte[] label = TestImages.resource("/voc-mini/SegmentationClass/voc_val_0001.png");
    ImageReader images = new ImageReader();
    LabelReader labels = new LabelReader();
    Random random = new Random(20240601L);
    int[] outcomes = new int[2];
    assertTimeoutPreemptively(Duration.ofSeconds(180), () -> {
      for (int round = 0; round < ROUNDS; round++) {
        int which = round % 3;
        byte[] base = which == 0 ? jpeg : which == 1 ? png : label;
        byte[] data = mutate(base, random);
        String name = "round-" + round + (which == 0 ? ".jpg" : ".png");
        try {
          if (which == 2) {
            LabelMap map = labels.read(data, name);
            assertEquals((long) map.width() * map.height(), map.ids().length);
          } else {
            RgbImage img = images.read(data, name);
            assertEquals((long) img.width() * img.height() * 3, img.rgb().length);
          }
          outcomes[0]++;
        } catch (ImageFormatException e) {
          assertFalse(e.getMessage().contains("\n"), e.getMessage());
          assertTrue(e.getMessage().startsWith(name + ": "), e.getMessage());
          outcomes[1]++;
        } catch (Throwable t) {
          fail(name + ": expected an image or ImageFormatException, got " + t, t);
        }
      }
    });
    assertEquals(ROUNDS, outcomes[0] + outcomes[1]);
    assertTrue(outcomes[1] > ROUNDS / 4, "most mutations should be detected: " + Arrays.toString(outcomes));
  }

  /** 1-10 bit flips (often in the headers), a truncation, or both. */
  private static byte[] mutate(byte[] base, Random random) {
    byte[] data = base.clone();
    int kind = random.nextInt(3);
    if (kind != 1) {
      int flips = 1 + random.nextInt(10);
      for (int i = 0; i < flips; i++) {
        int range = random.nextBoolean() ? Math.min(1024, data.length) : data.length;
        data[random.nextInt(range)] ^= (byte) (1 << random.nextInt(8));
      }
    }
    if (kind != 0) {
      data = Arrays.copyOf(data, random.nextInt(data.length));
    }
    return data;
  }
}
