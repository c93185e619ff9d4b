package dev.deeplab.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Readings of this process and machine from {@code /proc}: resident memory ({@code VmRSS}), peak
 * resident memory ({@code VmHWM}) and the load average. Values are -1 where {@code /proc} is not
 * available (non-Linux).
 */
public final class ProcStats {
  private static final Path STATUS = Path.of("/proc/self/status");
  private static final Path LOADAVG = Path.of("/proc/loadavg");

  private ProcStats() {}

  /** Current resident set size in bytes ({@code VmRSS}), or -1. */
  public static long rssBytes() {
    return statusKb("VmRSS:") * 1024L;
  }

  /** Peak resident set size of this process in bytes ({@code VmHWM}), or -1. */
  public static long peakRssBytes() {
    return statusKb("VmHWM:") * 1024L;
  }

  /** The 1-, 5- and 15-minute load averages, or {@code {-1,-1,-1}}. */
  public static double[] loadAverage() {
    try {
      String[] f = Files.readString(LOADAVG).trim().split("\\s+");
      return new double[] {
        Double.parseDouble(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2])
      };
    } catch (IOException | RuntimeException e) {
      return new double[] {-1, -1, -1};
    }
  }

  /** The 1-minute load average, or -1. */
  public static double loadAverage1() {
    return loadAverage()[0];
  }

  /** Parses one {@code "<key> <n> kB"} line of {@code /proc/self/status}; -1 if absent. */
  static long statusKb(String key) {
    try {
      return parseKb(Files.readAllLines(STATUS), key);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  static long parseKb(List<String> lines, String key) {
    for (String line : lines) {
      if (line.startsWith(key)) {
        String[] f = line.substring(key.length()).trim().split("\\s+");
        return Long.parseLong(f[0]);
      }
    }
    return -1;
  }

  /** Bytes as mebibytes with one decimal, e.g. {@code "1234.5 MiB"}. */
  public static String mib(long bytes) {
    return bytes < 0 ? "n/a" : String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }
}
