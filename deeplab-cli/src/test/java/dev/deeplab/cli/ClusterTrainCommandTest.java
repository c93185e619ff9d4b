package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deeplab train --cluster} as the chief, in its own JVM (a TensorFlow server lives as long
 * as its process): trains with a {@code deeplab server} worker and checkpoints locally; without
 * the worker it stops after {@code --wait-for-workers} with one line naming it.
 */
class ClusterTrainCommandTest {
  @TempDir Path dir;

  @Test
  void chiefTrainsWithAWorker() {
    assertTimeoutPreemptively(Duration.ofSeconds(240), () -> {
      int[] ports = freePorts(2);
      Path spec = spec(ports);
      Process worker = start(dir.resolve("worker.log"), "server", "--cluster", spec.toString(),
          "--job", "worker", "--task", "0");
      try {
        Path ckpt = dir.resolve("run");
        Process chief = start(dir.resolve("chief.log"), train(spec, ckpt, 10));
        assertTrue(chief.waitFor(200, TimeUnit.SECONDS), "chief still running");
        String log = Files.readString(dir.resolve("chief.log"));
        assertEquals(0, chief.exitValue(), log);
        assertTrue(log.contains("chief of 2 tasks, serving on 127.0.0.1:" + ports[0]
            + "; replicas on [/job:chief/replica:0/task:0/device:CPU:0, "
            + "/job:worker/replica:0/task:0/device:CPU:0]"), log);
        assertTrue(log.contains("trained steps 0..3"), log);
        assertTrue(Files.exists(ckpt.resolve("model.ckpt-3.index")), log);
        System.out.println("cluster train: " + log.lines()
            .filter(l -> l.startsWith("trained steps")).findFirst().orElseThrow());
      } finally {
        worker.destroyForcibly();
        worker.waitFor();
      }
    });
  }

  @Test
  void missingWorkerIsNamedAfterTheWait() {
    assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
      int[] ports = freePorts(2);
      Path spec = spec(ports);
      long t0 = System.nanoTime();
      Process chief = start(dir.resolve("chief.log"), train(spec, dir.resolve("run"), 2));
      assertTrue(chief.waitFor(100, TimeUnit.SECONDS), "chief still running");
      double seconds = (System.nanoTime() - t0) / 1e9;
      String log = Files.readString(dir.resolve("chief.log"));
      System.out.printf("chief without its worker: exit %d after %.1f s: %s%n", chief.exitValue(),
          seconds, log.strip().lines().reduce((a, b) -> b).orElse(""));
      assertEquals(1, chief.exitValue(), log);
      assertTrue(log.contains("task /job:worker/replica:0/task:0 (127.0.0.1:" + ports[1]
          + ") did not answer within 2 s; start it with: deeplab server --cluster SPEC --job "
          + "worker --task 0"), log);
      assertFalse(log.contains("\tat "), log);
      assertFalse(Files.exists(dir.resolve("run").resolve("model.ckpt-0.index")));
    });
  }

  private String[] train(Path spec, Path ckpt, int wait) {
    return new String[] {"train", "--cluster", spec.toString(), "--wait-for-workers",
        Integer.toString(wait), "--variant", "mobilenet_v2", "--depth-multiplier", "0.25",
        "--data", dev.deeplab.testing.TestData.vocMini().toString(), "--checkpoint-dir",
        ckpt.toString(), "--steps", "3", "--batch-size", "2", "--crop-size", "65",
        "--workers", "1"};
  }

  private Path spec(int[] ports) throws Exception {
    Path spec = dir.resolve("cluster.json");
    Files.writeString(spec, "{\"cluster\": {\"chief\": [\"127.0.0.1:" + ports[0] + "\"], "
        + "\"worker\": [\"127.0.0.1:" + ports[1] + "\"]}}");
    return spec;
  }

  private static Process start(Path log, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
        "-cp", System.getProperty("java.class.path"), DeepLabCli.class.getName()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("TF_ENABLE_ONEDNN_OPTS", "0");
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    return pb.start();
  }

  private static int[] freePorts(int n) throws Exception {
    int[] ports = new int[n];
    List<ServerSocket> open = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0);
        open.add(s);
        ports[i] = s.getLocalPort();
      }
    } finally {
      for (ServerSocket s : open) {
        s.close();
      }
    }
    return ports;
  }
}
