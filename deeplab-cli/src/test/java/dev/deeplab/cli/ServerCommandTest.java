package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deeplab server}: serves until killed; wrong specs are one-line errors. */
class ServerCommandTest {
  @TempDir Path dir;

  @Test
  void servesItsTaskUntilKilled() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path spec = dir.resolve("cluster.json");
    Files.writeString(spec, "{\"cluster\": {\"chief\": [\"127.0.0.1:1\"], \"worker\": "
        + "[\"127.0.0.1:2\", \"127.0.0.1:" + port + "\"]}}");
    ProcessBuilder pb = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), DeepLabCli.class.getName(),
        "server", "--cluster", spec.toString(), "--job", "worker", "--task", "1");
    pb.environment().put("TF_ENABLE_ONEDNN_OPTS", "0");
    pb.redirectErrorStream(true);
    Process p = pb.start();
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String first = null;
      for (String l; (l = r.readLine()) != null; ) {
        if (l.startsWith("serving")) {
          first = l;
          break;
        }
      }
      assertEquals("serving /job:worker/replica:0/task:1 on 127.0.0.1:" + port
          + " until stopped", first);
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      }
      assertFalse(p.waitFor(1, TimeUnit.SECONDS), "the server ended by itself");
    } finally {
      p.destroyForcibly();
      p.waitFor();
    }
  }

  @Test
  void badSpecsAreOneLineErrors() throws Exception {
    Path spec = dir.resolve("cluster.json");
    Files.writeString(spec, "{\"cluster\": {\"worker\": [\"127.0.0.1:1\", \"127.0.0.1:2\"]}}");
    CliReliabilityTest.Run r = CliReliabilityTest.run("server", "--cluster", spec.toString(),
        "--job", "worker", "--task", "5");
    assertEquals(1, r.code());
    assertEquals(1, r.errLines().size(), r.err());
    assertTrue(r.err().contains("job 'worker' has tasks 0..1, not 5"), r.err());

    r = CliReliabilityTest.run("server", "--cluster", spec.toString());
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("the cluster spec names no task"), r.err());

    r = CliReliabilityTest.run("server", "--cluster", spec.toString(), "--job", "worker",
        "--task", "0");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("this task is the chief"), r.err());

    r = CliReliabilityTest.run("server", "--cluster", dir.resolve("none.json").toString(),
        "--job", "worker", "--task", "1");
    assertEquals(1, r.code());
    assertTrue(r.err().contains("no cluster spec file"), r.err());
    assertFalse(r.hasStackTrace(), r.err());
  }
}
