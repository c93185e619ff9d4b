package dev.deeplab.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.RgbImage;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * {@link Segmenter}'s large-image path: it gives what the direct path gives (class ids and
 * probabilities), it is taken above {@link Segmenter#maxSide()}, and a 10,000&times;8,000 image
 * stays within the documented heap bound (the result, 4 bytes per pixel, plus a crop-sized
 * constant).
 */
class SegmenterLargeImageTest {

  /** A 600x500 photo: large for a max side of 300, direct under the default. */
  private static RgbImage moderate() throws Exception {
    return TestModels.upscale(TestModels.photo("pets.jpg"), 600, 500);
  }

  @Test
  void largePathGivesTheDirectPathsClassIds() throws Exception {
    RgbImage image = moderate();
    try (Segmenter direct = Segmenter.builder().model(TestModels.small()).threads(1).build();
        Segmenter large = Segmenter.builder().model(TestModels.small()).threads(1).maxSide(300).build()) {
      assertEquals(Segmenter.DEFAULT_MAX_SIDE, direct.maxSide());
      assertEquals(300, large.maxSide());
      int[] a = direct.segment(image.rgb(), 600, 500).classIds();
      int[] b = large.segment(image.rgb(), 600, 500).classIds();
      double agree = agreement(a, b);
      System.out.printf(Locale.ROOT, "large path vs direct path (600x500): class ids agree on "
          + "%.5f of pixels%n", agree);
      assertTrue(agree >= 0.995, "agreement " + agree);
      assertTrue(distinct(a) > 1, "the photo should show more than one class");
    }
  }

  @Test
  void withProbabilitiesGivesTheClassIdsOfSegmentOnBothPaths() throws Exception {
    RgbImage image = moderate();
    for (int maxSide : new int[] {Segmenter.DEFAULT_MAX_SIDE, 300}) {
      try (Segmenter s = Segmenter.builder().model(TestModels.small()).threads(1)
          .maxSide(maxSide).build()) {
        Segmentation both = s.segmentWithProbabilities(image.rgb(), 600, 500);
        assertArrayEquals(s.segment(image.rgb(), 600, 500).classIds(),
            both.classIds(), "class ids, max side " + maxSide);
        assertEquals(600 * 500 * 21, both.probabilities().length);
        assertEquals(600, both.width());
        assertEquals(500, both.height());
      }
    }
  }

  @Test
  void largePathGivesTheDirectPathsProbabilities() throws Exception {
    RgbImage image = moderate();
    try (Segmenter direct = Segmenter.builder().model(TestModels.small()).threads(1).build();
        Segmenter large = Segmenter.builder().model(TestModels.small()).threads(1).maxSide(300).build()) {
      float[] a = direct.segmentWithProbabilities(image.rgb(), 600, 500).probabilities();
      float[] b = large.segmentWithProbabilities(image.rgb(), 600, 500).probabilities();
      assertEquals(a.length, b.length);
      double sum = 0;
      double max = 0;
      for (int i = 0; i < a.length; i++) {
        double d = Math.abs(a[i] - b[i]);
        sum += d;
        max = Math.max(max, d);
      }
      System.out.printf(Locale.ROOT, "large path vs direct path probabilities: mean |diff| %.2e,"
          + " max %.2e%n", sum / a.length, max);
      assertTrue(sum / a.length < 1e-3, "mean difference " + sum / a.length);
      assertTrue(max < 0.1, "max difference " + max);
    }
  }

  @Test
  void probabilitiesTooLargeForOneArrayAreRefused() throws Exception {
    try (Segmenter s = Segmenter.builder().model(TestModels.small()).threads(1).build()) {
      // 10,000 x 11,000 pixels x 21 classes do not fit a Java array; checked before any work.
      int w = 10_000;
      int h = 11_000;
      byte[] fake = new byte[0];
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> s.segmentWithProbabilities(fake, w, h));
      assertTrue(e.getMessage().contains("do not fit one Java array"), e.getMessage());
    }
  }

  @Test
  void hugeImageStaysWithinTheHeapBound() throws Exception {
    int w = 10_000;
    int h = 8_000;
    RgbImage image = TestModels.upscale(TestModels.photo("astronaut.png"), w, h);
    try (Segmenter s = Segmenter.load(TestModels.BUNDLED)) {
      // The same photo at a size the graph takes directly, for a sanity check of the result.
      RgbImage reference = TestModels.upscale(TestModels.photo("astronaut.png"), 1000, 800);
      double[] expectedShares = s.segment(reference.rgb(), 1000, 800).classShares();

      List<MemoryPoolMXBean> pools = ManagementFactory.getMemoryPoolMXBeans().stream()
          .filter(p -> p.getType() == MemoryType.HEAP).toList();
      System.gc();
      long before = pools.stream().mapToLong(p -> p.getUsage().getUsed()).sum();
      pools.forEach(MemoryPoolMXBean::resetPeakUsage);
      long t0 = System.nanoTime();
      Segmentation seg = s.segment(image.rgb(), w, h);
      long millis = (System.nanoTime() - t0) / 1_000_000;
      long peak = pools.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
      long extra = peak - before;
      double perPixel = extra / ((double) w * h);
      System.out.printf(Locale.ROOT, "10000x8000 segment: %d ms, heap before %d MB (input %d MB),"
          + " peak %d MB, above before %d MB = %.2f bytes per pixel (bound: 4 for the result +"
          + " a crop-sized constant)%n", millis, before >> 20, (long) w * h * 3 >> 20, peak >> 20,
          extra >> 20, perPixel);
      assertEquals((long) w * h, seg.classIds().length);
      assertTrue(perPixel < 4.5, "heap above the input: " + perPixel + " bytes per pixel");
      // Not the same pixels (two nearest-neighbour upscalings of the photo), the same picture.
      double[] shares = seg.classShares();
      for (int c = 0; c < shares.length; c++) {
        assertEquals(expectedShares[c], shares[c], 0.05, "share of class " + c);
      }
    }
  }

  private static double agreement(int[] a, int[] b) {
    long same = 0;
    for (int i = 0; i < a.length; i++) {
      if (a[i] == b[i]) {
        same++;
      }
    }
    return same / (double) a.length;
  }

  private static long distinct(int[] ids) {
    return java.util.Arrays.stream(ids).distinct().count();
  }
}
