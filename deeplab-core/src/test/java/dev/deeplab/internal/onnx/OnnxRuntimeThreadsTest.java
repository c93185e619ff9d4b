package dev.deeplab.internal.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.deeplab.infer.Engine;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime's sessions get a worker thread per core but one (the caller runs too), counted in
 * {@code /proc}: its own default gave this project's 2-core VM one thread, so {@code segment}
 * and {@code bench} ran the network on one core (BENCHMARKS.md §9d).
 */
class OnnxRuntimeThreadsTest {
  private static final Path TASKS = Path.of("/proc/self/task");

  @Test
  void theDefaultSessionRunsOnEveryCore() throws Exception {
    assumeTrue(Files.isDirectory(TASKS), "no /proc to count threads in");
    int cores = CpuCores.intraOpThreads(0);
    assumeTrue(cores > 1, "one core: a session has no worker threads to count");
    // ONNX Runtime's workers are native threads named after the thread that created them
    String name = Files.readString(Path.of("/proc/thread-self/comm")).strip();
    int before = threadsNamed(name);
    int during;
    try (Segmenter ort = Segmenter.builder().model(TestModels.BUNDLED)
        .engine(Engine.ONNX_RUNTIME).build()) {
      ort.segment(TestModels.photo("pets.jpg"));
      during = threadsNamed(name);
    }
    int after = threadsNamed(name);
    System.out.printf("ONNX Runtime threads: %d cores, '%s' threads %d before, %d with the "
        + "session, %d after%n", cores, name, before, during, after);
    assertEquals(cores - 1, during - after, "worker threads of the session");
  }

  private static int threadsNamed(String name) throws IOException {
    int n = 0;
    try (Stream<Path> tasks = Files.list(TASKS)) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          if (Files.readString(task.resolve("comm")).strip().equals(name)) {
            n++;
          }
        } catch (IOException e) {
          // the thread ended while we listed
        }
      }
    }
    return n;
  }
}
