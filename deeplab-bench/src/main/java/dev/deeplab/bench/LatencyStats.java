package dev.deeplab.bench;

import java.util.Arrays;

/**
 * Timings of repeated runs of one thing: median, best (minimum), mean and 90th percentile, in
 * nanoseconds, with the 1-minute load average at the start and end of the measurement.
 *
 * @param nanos the individual run times, in run order
 * @param loadStart the 1-minute load average before the first timed run
 * @param loadEnd the 1-minute load average after the last timed run
 */
public record LatencyStats(long[] nanos, double loadStart, double loadEnd) {

  /** Requires at least one timing. */
  public LatencyStats {
    if (nanos.length == 0) {
      throw new IllegalArgumentException("no timings");
    }
    nanos = nanos.clone();
  }

  private long[] sorted() {
    long[] s = nanos.clone();
    Arrays.sort(s);
    return s;
  }

  /** The median (mean of the two middle values for an even count), in nanoseconds. */
  public double medianNanos() {
    long[] s = sorted();
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
  }

  /** The fastest run, in nanoseconds. */
  public long bestNanos() {
    return sorted()[0];
  }

  /** The mean, in nanoseconds. */
  public double meanNanos() {
    return Arrays.stream(nanos).average().orElse(0);
  }

  /** The 90th percentile (nearest rank), in nanoseconds. */
  public long p90Nanos() {
    long[] s = sorted();
    int rank = (int) Math.ceil(0.9 * s.length);
    return s[Math.max(0, rank - 1)];
  }

  /** The number of timed runs. */
  public int count() {
    return nanos.length;
  }

  /** The median in milliseconds. */
  public double medianMs() {
    return medianNanos() / 1e6;
  }

  /** The best run in milliseconds. */
  public double bestMs() {
    return bestNanos() / 1e6;
  }
}
