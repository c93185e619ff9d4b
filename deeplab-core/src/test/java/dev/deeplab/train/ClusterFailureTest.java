package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.train.CheckpointManager;
import dev.deeplab.internal.weights.FloatTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker of a three-JVM cluster ({@link ClusterTrainingTest}) is killed mid-run: the chief
 * exits 1 within a bounded time naming the task, its newest complete checkpoint loads and no
 * half-written one is left; the same command with the worker restarted resumes from it and ends
 * with the weights of an uninterrupted run.
 */
class ClusterFailureTest {
  private static final int STEPS = 8;
  private static final int KILL_AFTER = 3;
  private static final String LOST = "/job:worker/replica:0/task:1";

  @TempDir Path tmp;

  @Test
  void killedWorkerStopsTheChiefAndRestartResumes() {
    assertTimeoutPreemptively(Duration.ofSeconds(420), this::run);
  }

  private void run() throws Exception {
    ClusterTrainingTest.Run uninterrupted = ClusterTrainingTest.local(tmp.resolve("local"), STEPS);
    int[] ports = ClusterProcess.freePorts(3);
    Path dir = tmp.resolve("cluster");
    CheckpointManager checkpoints = new CheckpointManager(dir, 3);
    long latest;
    double exitSeconds;
    String lostLine;
    try (ClusterProcess w0 = ClusterTrainingTest.worker(ports, 0)) {
      w0.await("SERVING", 60);
      try (ClusterProcess w1 = ClusterTrainingTest.worker(ports, 1)) {
        w1.await("SERVING", 60);
        try (ClusterProcess chief = ClusterTrainingTest.chief(ports, dir, STEPS)) {
          chief.await("STEP " + KILL_AFTER + " ", 200);
          w1.process.destroyForcibly();
          w1.process.waitFor();
          long killed = System.nanoTime();
          assertEquals(1, chief.exit(120), chief.tail());
          exitSeconds = (System.nanoTime() - killed) / 1e9;
          lostLine = chief.await("LOST ", 1);
          assertFalse(chief.lines.stream().anyMatch(l -> l.startsWith("DONE")), chief.tail());
        }
      }
      assertTrue(lostLine.startsWith("LOST " + LOST + " task " + LOST + " (127.0.0.1:" + ports[2]
          + ") stopped answering ("), lostLine);
      assertTrue(lostLine.endsWith("restart the task (--job worker --task 1) and run the same "
          + "command to resume"), lostLine);
      latest = checkpoints.latestStep().orElseThrow();
      assertTrue(latest >= KILL_AFTER && latest < STEPS, "latest checkpoint " + latest);
      assertTrue(lostLine.contains("the last complete checkpoint is "
          + checkpoints.prefix(latest)), lostLine);
      assertFalse(Checkpoints.modelWeights(checkpoints.prefix(latest)).isEmpty());
      try (Stream<Path> files = Files.list(dir)) {
        assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".tmp-")),
            "a half-written checkpoint is left");
      }
      System.out.printf("worker 1 killed after step %d: chief exited 1 after %.1f s with '%s'; "
          + "newest complete checkpoint step %d%n", KILL_AFTER, exitSeconds,
          lostLine.substring(5 + LOST.length() + 1), latest);
      assertTrue(exitSeconds < 60, "the chief took " + exitSeconds + " s to stop");

      try (ClusterProcess w1 = ClusterTrainingTest.worker(ports, 1)) {
        w1.await("SERVING", 60);
        try (ClusterProcess chief = ClusterTrainingTest.chief(ports, dir, STEPS)) {
          assertEquals(0, chief.exit(240), chief.tail());
          assertEquals("RESUME " + latest, chief.await("RESUME", 1));
          assertEquals("DONE " + latest + " " + STEPS, chief.await("DONE", 1));
        }
      }
    }
    Map<String, FloatTensor> resumed = ClusterTrainingTest.weights(dir, STEPS);
    double diff = TinyModels.maxDifference(uninterrupted.weights(), resumed);
    double scale = Math.max(1, TinyModels.maxAbs(uninterrupted.weights()));
    System.out.printf("restarted with the worker: resumed from step %d to %d; max |weight diff| "
        + "to an uninterrupted run %.3g (max |w| %.3g)%n", latest, STEPS, diff, scale);
    assertTrue(diff <= 1e-5 * scale, "weights differ by " + diff);
  }
}
