package dev.deeplab.train;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link ClusterChild} JVM of a cluster test, its output collected by a thread; closing kills
 * it (a TensorFlow server cannot be stopped otherwise).
 */
final class ClusterProcess implements AutoCloseable {
  final Process process;
  final List<String> lines = Collections.synchronizedList(new ArrayList<>());
  private final Thread reader;

  ClusterProcess(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
        "-cp", System.getProperty("java.class.path"), ClusterChild.class.getName()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("TF_ENABLE_ONEDNN_OPTS", "0");
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "1");
    pb.redirectErrorStream(true);
    process = pb.start();
    reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l; (l = r.readLine()) != null; ) {
          lines.add(l);
        }
      } catch (Exception ignored) {
        // the process was killed
      }
    });
    reader.setDaemon(true);
    reader.start();
  }

  /** Waits until a line starts with {@code prefix}, failing with the output if the process ends. */
  String await(String prefix, long seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      synchronized (lines) {
        for (String l : lines) {
          if (l.startsWith(prefix)) {
            return l;
          }
        }
      }
      if (!process.isAlive()) {
        reader.join(2000);
        synchronized (lines) {
          for (String l : lines) {
            if (l.startsWith(prefix)) {
              return l;
            }
          }
        }
        throw new AssertionError("process ended (" + process.exitValue() + ") without '" + prefix
            + "':\n" + tail());
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no '" + prefix + "' within " + seconds + " s:\n" + tail());
  }

  /** Waits for the process to end; its exit code. */
  int exit(long seconds) throws Exception {
    if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
      throw new AssertionError("still running after " + seconds + " s:\n" + tail());
    }
    reader.join(5000);
    return process.exitValue();
  }

  String tail() {
    synchronized (lines) {
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
  }

  /** Free loopback ports (bound and released; a race with other processes is unlikely). */
  static int[] freePorts(int n) throws Exception {
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

  @Override
  public void close() throws Exception {
    process.destroyForcibly();
    process.waitFor();
    reader.join(5000);
  }
}
