package dev.deeplab.internal.infer;

import dev.deeplab.infer.Segmenter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.LoggerFactory;

/**
 * Whether this process's native allocations get transparent huge pages: the kernel's THP mode
 * ({@code /sys/kernel/mm/transparent_hugepage/enabled}) and, in the usual {@code madvise} mode,
 * glibc's {@code glibc.malloc.hugetlb} tunable (glibc ≥ 2.35, read from {@code GLIBC_TUNABLES} at
 * process start). TensorFlow allocates its tensors with malloc, so this halved xception_65's
 * latency here (BENCHMARKS.md, "malloc"); the benchmark prints it with every result, and {@link
 * Segmenter#load} logs a hint once per process when they could be on but are not.
 */
public final class HugePages {
  private static final Path THP_MODE = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
  private static final AtomicBoolean HINTED = new AtomicBoolean();

  private HugePages() {}

  /** A one-line description for this process, e.g. {@code "on (THP madvise, glibc hugetlb=1)"}. */
  public static String describe() {
    return describe(thpModeFile(), System.getenv("GLIBC_TUNABLES"));
  }

  /**
   * Logs, once per process, how to turn huge pages on when the kernel would give them
   * ({@code madvise} mode) but nobody asked ({@code glibc.malloc.hugetlb} unset; an explicit 0 is
   * respected).
   */
  public static void hintOnce() {
    if (!HINTED.get() && worthHinting(thpModeFile(), System.getenv("GLIBC_TUNABLES"))
        && HINTED.compareAndSet(false, true)) {
      LoggerFactory.getLogger(HugePages.class).info("TensorFlow's tensors get no transparent "
          + "huge pages (THP madvise, glibc.malloc.hugetlb unset): start the JVM with "
          + "GLIBC_TUNABLES=glibc.malloc.hugetlb=1 in its environment; xception_65 inference took "
          + "half the time with it (BENCHMARKS.md)");
    }
  }

  /** True in {@code madvise} mode with {@code glibc.malloc.hugetlb} not set at all. */
  static boolean worthHinting(String thpModeFile, String glibcTunables) {
    return selected(thpModeFile).equals("madvise")
        && tunable(glibcTunables, "glibc.malloc.hugetlb") == null;
  }

  private static String thpModeFile() {
    try {
      return Files.readString(THP_MODE);
    } catch (IOException | SecurityException e) {
      return null;
    }
  }

  /**
   * The description from the THP mode file's content ({@code "always [madvise] never"}, or null
   * where there is none) and the value of {@code GLIBC_TUNABLES} (or null).
   */
  static String describe(String thpModeFile, String glibcTunables) {
    String mode = selected(thpModeFile);
    String hugetlb = tunable(glibcTunables, "glibc.malloc.hugetlb");
    String detail = "THP " + mode + ", glibc hugetlb=" + (hugetlb == null ? "unset" : hugetlb);
    boolean on = switch (mode) {
      case "always" -> true;
      case "madvise" -> hugetlb != null && !hugetlb.equals("0");
      default -> false;
    };
    return (on ? "on" : "off") + " (" + detail + ")";
  }

  /** The bracketed choice of a sysfs mode file, or "unavailable". */
  private static String selected(String modeFile) {
    if (modeFile == null) {
      return "unavailable";
    }
    int open = modeFile.indexOf('[');
    int close = modeFile.indexOf(']', open + 1);
    return open < 0 || close < 0 ? "unavailable" : modeFile.substring(open + 1, close);
  }

  /** The value of {@code name} in a colon-separated {@code name=value} list; the last one wins. */
  private static String tunable(String list, String name) {
    if (list == null) {
      return null;
    }
    String value = null;
    for (String item : list.split(":")) {
      int eq = item.indexOf('=');
      if (eq > 0 && item.substring(0, eq).trim().equals(name)) {
        value = item.substring(eq + 1).trim();
      }
    }
    return value;
  }
}
