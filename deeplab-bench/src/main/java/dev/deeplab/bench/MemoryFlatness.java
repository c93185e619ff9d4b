package dev.deeplab.bench;

/**
 * Whether repeated inference holds its resident memory flat: RSS after a first and a second
 * count of runs (e.g. 100 and 1,000), and the growth between them. Catches the TF Java leak
 * patterns (unclosed results or tensors, tensorflow/java#567) that grow RSS run after run.
 *
 * @param firstRuns runs done at the first reading
 * @param rssFirst resident bytes after {@code firstRuns}
 * @param totalRuns runs done at the second reading
 * @param rssTotal resident bytes after {@code totalRuns}
 * @param peakRss peak resident bytes of the process at the end
 * @param seconds wall time of all runs
 * @param heapFirst committed Java heap bytes at the first reading (part of the RSS)
 * @param heapTotal committed Java heap bytes at the second reading
 */
public record MemoryFlatness(int firstRuns, long rssFirst, int totalRuns, long rssTotal,
    long peakRss, double seconds, long heapFirst, long heapTotal) {

  /** A reading without heap figures. */
  public MemoryFlatness(int firstRuns, long rssFirst, int totalRuns, long rssTotal, long peakRss,
      double seconds) {
    this(firstRuns, rssFirst, totalRuns, rssTotal, peakRss, seconds, 0, 0);
  }

  /** The growth of the RSS outside the committed Java heap (native memory), in percent. */
  public double nativeGrowthPercent() {
    long a = rssFirst - heapFirst;
    long b = rssTotal - heapTotal;
    return 100.0 * (b - a) / a;
  }

  /** The growth from the first to the second reading, in percent of the first. */
  public double growthPercent() {
    return 100.0 * (rssTotal - rssFirst) / rssFirst;
  }

  /** True when the growth is at most {@code percent}. */
  public boolean flatWithin(double percent) {
    return growthPercent() <= percent;
  }

  /** Runs {@code run} {@code totalRuns} times, reading RSS after {@code firstRuns}. */
  public static MemoryFlatness measure(Runnable run, int firstRuns, int totalRuns) {
    if (firstRuns < 1 || totalRuns <= firstRuns) {
      throw new IllegalArgumentException("need 1 <= firstRuns < totalRuns");
    }
    long t0 = System.nanoTime();
    for (int i = 0; i < firstRuns; i++) {
      run.run();
    }
    long first = ProcStats.rssBytes();
    long heapFirst = Runtime.getRuntime().totalMemory();
    for (int i = firstRuns; i < totalRuns; i++) {
      run.run();
    }
    long total = ProcStats.rssBytes();
    long heapTotal = Runtime.getRuntime().totalMemory();
    return new MemoryFlatness(firstRuns, first, totalRuns, total, ProcStats.peakRssBytes(),
        (System.nanoTime() - t0) / 1e9, heapFirst, heapTotal);
  }
}
