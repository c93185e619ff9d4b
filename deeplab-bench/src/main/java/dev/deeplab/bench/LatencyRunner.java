package dev.deeplab.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Times runnables after a warm-up. With several candidates the timed runs are interleaved round
 * robin ({@code A B C A B C ...}) so that the load of a shared machine falls on all of them
 * alike; only then are their ratios meaningful.
 *
 * <p>The warm-up matters: the first run of a TF graph builds its oneDNN primitives (50 ms to
 * seconds) and the JVM compiles the Java side over the first runs.
 */
public final class LatencyRunner {
  /**
   * One alternative to time.
   *
   * @param name a label for tables
   * @param run one complete run (e.g. one segmentation); must release what it allocates
   */
  public record Candidate(String name, Runnable run) {}

  private LatencyRunner() {}

  /** Times one runnable: {@code warmup} untimed runs, then {@code runs} timed ones. */
  public static LatencyStats measure(Runnable run, int warmup, int runs) {
    return interleaved(List.of(new Candidate("only", run)), warmup, runs).get("only");
  }

  /**
   * Warms each candidate up ({@code warmup} runs each, one candidate after another), then makes
   * {@code runs} rounds, timing each candidate once per round in order.
   *
   * @return the timings by candidate name, in the given order
   */
  public static Map<String, LatencyStats> interleaved(List<Candidate> candidates, int warmup,
      int runs) {
    if (runs < 1 || warmup < 0) {
      throw new IllegalArgumentException("need runs >= 1 and warmup >= 0");
    }
    for (Candidate c : candidates) {
      for (int i = 0; i < warmup; i++) {
        c.run().run();
      }
    }
    List<long[]> times = new ArrayList<>();
    for (int i = 0; i < candidates.size(); i++) {
      times.add(new long[runs]);
    }
    double loadStart = ProcStats.loadAverage1();
    for (int r = 0; r < runs; r++) {
      for (int i = 0; i < candidates.size(); i++) {
        long t0 = System.nanoTime();
        candidates.get(i).run().run();
        times.get(i)[r] = System.nanoTime() - t0;
      }
    }
    double loadEnd = ProcStats.loadAverage1();
    Map<String, LatencyStats> out = new LinkedHashMap<>();
    for (int i = 0; i < candidates.size(); i++) {
      out.put(candidates.get(i).name(), new LatencyStats(times.get(i), loadStart, loadEnd));
    }
    return out;
  }
}
