package dev.deeplab.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * One loaded {@link Segmenter} shared by 8 threads over 500 segmentations gives exactly the
 * sequential results, and native memory stays flat: the process RSS after the run is compared
 * with the RSS after a warm-up of the same size. The bound here is generous (10%); the precise
 * flatness figure belongs to a benchmark. Uses the pretrained weights with a 97&times;97 crop
 * ({@link TestModels#small()}) on 96&times;96 crops of the bundled photos, to keep it fast.
 */
class SegmenterConcurrencyTest {
  private static final int THREADS = 8;
  private static final int SEGMENTATIONS = 500;
  private static final int SIZE = 96;

  @Test
  void eightThreadsGiveTheSequentialResultsWithoutLeaking() throws Exception {
    List<RgbImage> crops = crops();
    try (Segmenter segmenter = Segmenter.load(TestModels.small())) {
      List<int[]> expected = new ArrayList<>();
      for (RgbImage c : crops) {
        expected.add(segmenter.segment(c.rgb(), SIZE, SIZE).classIds());
      }
      long distinctClasses = expected.stream().flatMapToInt(java.util.Arrays::stream).distinct()
          .count();
      assertTrue(distinctClasses > 2, "crops should show several classes: " + distinctClasses);

      assertTimeoutPreemptively(Duration.ofSeconds(300), () -> {
        run(segmenter, crops, expected); // warm-up: TF's arenas and thread pools reach their size
        System.gc();
        long warm = rssKb();
        long t0 = System.nanoTime();
        int mismatches = run(segmenter, crops, expected);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        System.gc();
        long after = rssKb();
        System.out.printf(Locale.ROOT, "concurrency: %d segmentations on %d threads in %d ms, "
            + "%d mismatches; VmRSS after warm-up %d MB, after the run %d MB (%+.1f%%)%n",
            SEGMENTATIONS, THREADS, millis, mismatches, warm >> 10, after >> 10,
            100.0 * (after - warm) / warm);
        assertEquals(0, mismatches, "concurrent results differ from sequential ones");
        assertTrue(after <= warm * 1.10, "RSS grew from " + warm + " kB to " + after + " kB");
      });
    }
  }

  /** Runs {@link #SEGMENTATIONS} segmentations on {@link #THREADS} threads; counts mismatches. */
  private static int run(Segmenter segmenter, List<RgbImage> crops, List<int[]> expected)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    AtomicInteger mismatches = new AtomicInteger();
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int i = 0; i < SEGMENTATIONS; i++) {
        int k = i % crops.size();
        futures.add(pool.submit(() -> {
          int[] ids = segmenter.segment(crops.get(k).rgb(), SIZE, SIZE).classIds();
          if (!java.util.Arrays.equals(expected.get(k), ids)) {
            mismatches.incrementAndGet();
          }
        }));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return mismatches.get();
  }

  /** 96x96 crops from each bundled photo: a 3x3 grid per photo. */
  static List<RgbImage> crops() throws IOException {
    List<RgbImage> out = new ArrayList<>();
    for (String name : List.of("astronaut.png", "chelsea.png", "coffee.png", "owl.jpg",
        "parrot.jpg", "pets.jpg")) {
      RgbImage photo = TestModels.photo(name);
      for (int gy = 0; gy < 3; gy++) {
        for (int gx = 0; gx < 3; gx++) {
          int x = (photo.width() - SIZE) * gx / 2;
          int y = (photo.height() - SIZE) * gy / 2;
          out.add(TestModels.crop(photo, x, y, SIZE, SIZE));
        }
      }
    }
    assertEquals(54, out.size());
    return out;
  }

  /** This process's resident set size in kB, from {@code /proc/self/status}. */
  static long rssKb() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IOException("no VmRSS line in /proc/self/status");
  }
}
