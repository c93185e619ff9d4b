package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.ServerDef;

/** TF_CONFIG parsing: the tasks, replica devices and server definition; one-line errors. */
class ClusterSpecTest {
  private static final String SPEC = "{\"cluster\": {\"chief\": [\"10.0.0.1:2222\"], "
      + "\"worker\": [\"10.0.0.2:2222\", \"host-3.example:2223\"]}, "
      + "\"task\": {\"type\": \"worker\", \"index\": 1}}";

  @TempDir Path tmp;

  @Test
  void readsTfConfig() throws Exception {
    Path file = tmp.resolve("tf_config.json");
    Files.writeString(file, SPEC);
    ClusterSpec spec = ClusterSpec.read(file.toString());
    assertEquals("worker", spec.taskType());
    assertEquals(1, spec.taskIndex());
    assertEquals("host-3.example:2223", spec.address());
    assertFalse(spec.isChief());
    assertEquals(List.of("/job:chief/replica:0/task:0", "/job:worker/replica:0/task:0",
        "/job:worker/replica:0/task:1"), spec.tasks());
    assertEquals(List.of("/job:chief/replica:0/task:0/device:CPU:0",
        "/job:worker/replica:0/task:0/device:CPU:0",
        "/job:worker/replica:0/task:1/device:CPU:0"), spec.replicaDevices(List.of()));
    assertEquals(List.of("/job:chief/replica:0/task:0/device:GPU:0",
        "/job:chief/replica:0/task:0/device:GPU:1", "/job:worker/replica:0/task:0/device:GPU:0",
        "/job:worker/replica:0/task:0/device:GPU:1", "/job:worker/replica:0/task:1/device:GPU:0",
        "/job:worker/replica:0/task:1/device:GPU:1"),
        spec.replicaDevices(List.of("/device:GPU:0", "/device:GPU:1")));
    ServerDef def = spec.serverDef();
    assertEquals("worker", def.getJobName());
    assertEquals(1, def.getTaskIndex());
    assertEquals("grpc", def.getProtocol());
    assertEquals("chief", def.getCluster().getJob(0).getName());
    assertEquals("host-3.example:2223", def.getCluster().getJob(1).getTasksOrThrow(1));

    ClusterSpec chief = ClusterSpec.read(SPEC).withTask("chief", 0);
    assertTrue(chief.isChief());
    assertEquals("grpc://10.0.0.1:2222", "grpc://" + chief.address());
  }

  @Test
  void withoutChiefWorkerZeroIsTheChief() throws Exception {
    ClusterSpec spec = ClusterSpec.read("{\"cluster\": {\"worker\": [\"a:1\", \"b:2\"]}, "
        + "\"task\": {\"type\": \"worker\", \"index\": 0}}");
    assertTrue(spec.isChief());
    assertEquals(List.of("/job:worker/replica:0/task:0", "/job:worker/replica:0/task:1"),
        spec.tasks());
    assertFalse(ClusterSpec.read("{\"cluster\": {\"worker\": [\"a:1\"]}}").hasTask());
  }

  @Test
  void badSpecsGiveOneLineErrors() {
    assertError("is not JSON", "{\"cluster\": ");
    assertError("expected {\"cluster\"", "{\"worker\": [\"a:1\"]}");
    assertError("parameter servers (job 'ps') are not used",
        "{\"cluster\": {\"worker\": [\"a:1\"], \"ps\": [\"b:2\"]}}");
    assertError("unknown job 'evaluator'", "{\"cluster\": {\"evaluator\": [\"a:1\"]}}");
    assertError("bad address localhost in job 'worker'",
        "{\"cluster\": {\"worker\": [\"localhost\"]}}");
    assertError("bad address a:70000", "{\"cluster\": {\"worker\": [\"a:70000\"]}}");
    assertError("address a:1 is listed twice", "{\"cluster\": {\"worker\": [\"a:1\", \"a:1\"]}}");
    assertError("job 'chief' must have exactly one task",
        "{\"cluster\": {\"chief\": [\"a:1\", \"b:1\"]}}");
    assertError("job 'worker' has tasks 0..1, not 2",
        "{\"cluster\": {\"worker\": [\"a:1\", \"b:1\"]}, \"task\": {\"type\": \"worker\", "
            + "\"index\": 2}}");
    assertError("has no job 'chief'", "{\"cluster\": {\"worker\": [\"a:1\"]}, "
        + "\"task\": {\"type\": \"chief\", \"index\": 0}}");
    assertError("no cluster spec file", tmp.resolve("missing.json").toString());
    if (System.getenv(ClusterSpec.ENV) == null) {
      assertError("the TF_CONFIG environment variable is not set", "env");
    }
  }

  @Test
  void startUpNamesTheMissingTask() throws Exception {
    int[] ports = ClusterProcess.freePorts(3);
    ClusterSpec spec = ClusterSpec.read("{\"cluster\": {\"chief\": [\"127.0.0.1:" + ports[0]
        + "\"], \"worker\": [\"127.0.0.1:" + ports[1] + "\", \"127.0.0.1:" + ports[2] + "\"]}, "
        + "\"task\": {\"type\": \"chief\", \"index\": 0}}");
    long t0 = System.nanoTime();
    ClusterException e = assertThrows(ClusterException.class,
        () -> ClusterServer.awaitTasks(spec, Duration.ofSeconds(1)));
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("start-up with no worker: '%s' after %.1f s%n", e.getMessage(), seconds);
    assertEquals("/job:worker/replica:0/task:0", e.task());
    assertTrue(e.getMessage().startsWith("task /job:worker/replica:0/task:0 (127.0.0.1:"
        + ports[1] + ") did not answer within 1 s (nor [/job:worker/replica:0/task:1]); start it "
        + "with: deeplab server --cluster SPEC --job worker --task 0"), e.getMessage());
    assertTrue(seconds < 10, "took " + seconds + " s");
  }

  private static void assertError(String expected, String spec) {
    IOException e = assertThrows(IOException.class, () -> ClusterSpec.read(spec));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }
}
