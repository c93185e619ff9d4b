package dev.deeplab.internal.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * How many intra-op threads an ONNX Runtime session gets when the user leaves the choice to us:
 * one per physical core this process may use, as ONNX Runtime's own default intends ("the number
 * of physical CPU cores", ONNX Runtime docs, Performance, Thread management).
 *
 * <p>We count the cores ourselves and set the number explicitly, because ONNX Runtime's own count
 * can be wrong: on this project's 2-core virtual machine (two cores, one thread each, by {@code
 * lscpu} and {@code /sys}) it ran every session on one thread, so the "all cores" of {@code
 * segment} and {@code bench} used one core (BENCHMARKS.md §9d).
 *
 * <p>The count: distinct (package, core) pairs of the online CPUs in {@code
 * /sys/devices/system/cpu}, at most {@link Runtime#availableProcessors()} (which follows the
 * process's CPU affinity and container quota); where {@code /sys} cannot be read,
 * {@code availableProcessors()}.
 */
public final class CpuCores {
  private static final Path CPUS = Path.of("/sys/devices/system/cpu");

  private CpuCores() {}

  /** Intra-op threads for a session: {@code requested} when positive, else the cores. */
  public static int intraOpThreads(int requested) {
    return requested > 0 ? requested : physical(CPUS, Runtime.getRuntime().availableProcessors());
  }

  /**
   * Physical cores under {@code cpus} (a {@code /sys/devices/system/cpu} layout), at most {@code
   * available}; {@code available} when the layout cannot be read.
   */
  static int physical(Path cpus, int available) {
    try {
      Set<String> cores = new HashSet<>();
      for (int cpu : online(Files.readString(cpus.resolve("online")).trim())) {
        Path topology = cpus.resolve("cpu" + cpu).resolve("topology");
        cores.add(Files.readString(topology.resolve("physical_package_id")).trim() + "/"
            + Files.readString(topology.resolve("core_id")).trim());
      }
      return cores.isEmpty() ? available : Math.min(cores.size(), available);
    } catch (IOException | RuntimeException e) {
      return available;
    }
  }

  /** The CPU numbers of a kernel CPU list such as {@code "0-3,8,10-11"}. */
  static int[] online(String list) {
    return list.isEmpty() ? new int[0] : Arrays.stream(list.split(","))
        .flatMapToInt(part -> {
          int dash = part.indexOf('-');
          return dash < 0 ? IntStream.of(Integer.parseInt(part))
              : IntStream.rangeClosed(Integer.parseInt(part.substring(0, dash)),
                  Integer.parseInt(part.substring(dash + 1)));
        }).toArray();
  }
}
