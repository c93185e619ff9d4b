package dev.deeplab.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.train.CheckpointManager;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILLs a training child JVM (checkpointing every step) at random moments, some of them while a
 * checkpoint is being written: each time the newest complete checkpoint loads, nothing half-written
 * counts, and the next run resumes from it; a last run completes its steps. The killed runs are
 * asked for more steps than they can reach before their kill ({@link #KILLED_RUN_STEPS}): with a
 * fixed total, a fast machine finished the last killed run before its kill.
 */
class TrainingKillTest {
  /** Steps a killed run is asked for: never reached before its kill. */
  private static final int KILLED_RUN_STEPS = 1_000_000;
  /** Steps the last run trains past the newest checkpoint the kills left. */
  private static final int FINAL_STEPS = 20;
  private static final int KILLS = 5;
  private static final Pattern INDEX = Pattern.compile("model\\.ckpt-(\\d+)\\.index");
  private static final Pattern STATE = Pattern.compile("model_checkpoint_path: \"model\\.ckpt-(\\d+)\"");

  @TempDir Path tmp;

  /** A running child with its output collected by a thread. */
  private static final class Child implements AutoCloseable {
    final Process process;
    final List<String> lines = Collections.synchronizedList(new ArrayList<>());
    final Thread reader;

    Child(Path dir, long steps) throws Exception {
      ProcessBuilder pb = new ProcessBuilder(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"),
          TrainingChild.class.getName(), dir.toString(), Long.toString(steps));
      pb.environment().put("TF_ENABLE_ONEDNN_OPTS", "0");
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

    long firstValue(String key) {
      synchronized (lines) {
        for (String l : lines) {
          if (l.startsWith(key + " ")) {
            return Long.parseLong(l.substring(key.length() + 1).split(" ")[0]);
          }
        }
      }
      return Long.MIN_VALUE;
    }

    String tail() {
      synchronized (lines) {
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
      }
    }

    @Override
    public void close() throws Exception {
      process.destroyForcibly();
      process.waitFor();
      reader.join(5000);
    }
  }

  @Test
  void killedTrainingResumesFromLastCompleteCheckpoint() {
    assertTimeoutPreemptively(Duration.ofSeconds(240), this::run);
  }

  private void run() throws Exception {
    Path dir = tmp.resolve("run");
    CheckpointManager ckpts = new CheckpointManager(dir, 3);
    Random random = new Random(20240607L);
    long expectedResume = -1;
    int duringWrite = 0;
    List<String> report = new ArrayList<>();
    for (int round = 0; round < KILLS; round++) {
      boolean atWrite = round % 2 == 0; // rounds 0, 2, 4 aim at a checkpoint write
      long delayMs = 300 + random.nextInt(1200);
      long killedAtStep;
      boolean tmpSeen = false;
      try (Child child = new Child(dir, KILLED_RUN_STEPS)) {
        long before = expectedResume;
        // wait for the first checkpoint of this run
        long deadline = System.nanoTime() + 40_000_000_000L;
        while (ckpts.latestStep().orElse(-1) <= before) {
          assertTrue(child.process.isAlive(), "child died:\n" + child.tail());
          assertTrue(System.nanoTime() < deadline, "no checkpoint:\n" + child.tail());
          Thread.sleep(5);
        }
        Thread.sleep(delayMs);
        if (atWrite) {
          long until = System.nanoTime() + 5_000_000_000L;
          while (System.nanoTime() < until && !tmpSeen) {
            tmpSeen = hasTemporary(dir);
          }
        }
        child.process.destroyForcibly();
        child.process.waitFor();
        assertFalse(child.lines.stream().anyMatch(l -> l.startsWith("DONE")),
            "the child finished before the kill");
        killedAtStep = child.firstValue("RESUME");
        assertEquals(expectedResume, killedAtStep, "run resumed from\n" + child.tail());
      }
      boolean leftovers = hasTemporary(dir);
      if (tmpSeen && leftovers) {
        duringWrite++;
      }
      // the newest complete checkpoint loads and nothing half-written counts as newest
      long latest = ckpts.latestStep().orElseThrow();
      Path prefix = ckpts.latest().orElseThrow();
      assertFalse(Checkpoints.modelWeights(prefix).isEmpty(), "weights of " + prefix);
      long maxIndex = indexSteps(dir).stream().mapToLong(Long::longValue).max().orElse(-1);
      assertEquals(latest, maxIndex, "a named index newer than the latest complete checkpoint");
      Path state = dir.resolve(CheckpointManager.STATE_FILE);
      if (Files.exists(state)) {
        Matcher m = STATE.matcher(Files.readString(state));
        assertTrue(m.find(), "state file: " + Files.readString(state));
        assertTrue(ckpts.steps().contains(Long.parseLong(m.group(1))),
            "state file names a missing checkpoint: " + m.group(1) + " of " + ckpts.steps());
      }
      String line = String.format("kill %d: %d ms after first checkpoint%s; run had resumed from"
          + " %d; latest complete checkpoint after kill %d%s", round + 1, delayMs,
          atWrite ? (tmpSeen ? " + waited for a checkpoint temp file" : " (no temp file seen)")
              : "", killedAtStep, latest,
          leftovers ? " (killed mid-write: temp files left " + temporaries(dir) + ")" : "");
      System.out.println(line);
      report.add(line);
      expectedResume = latest;
    }
    long steps = expectedResume + FINAL_STEPS;
    try (Child child = new Child(dir, steps)) {
      assertTrue(child.process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "final run");
      child.reader.join(5000);
      assertEquals(0, child.process.exitValue(), child.tail());
      assertEquals(expectedResume, child.firstValue("RESUME"), child.tail());
      assertEquals(expectedResume + 1, child.firstValue("STEP"), child.tail());
      String done = child.lines.stream().filter(l -> l.startsWith("DONE")).findFirst()
          .orElseThrow(() -> new AssertionError(child.tail()));
      assertEquals("DONE " + expectedResume + " " + steps, done);
      System.out.println("final run resumed from step " + expectedResume + " and completed "
          + steps + " steps");
    }
    assertEquals(steps, ckpts.latestStep().orElseThrow());
    assertFalse(hasTemporary(dir), "temp files after a complete run: " + temporaries(dir));
    System.out.println("kills during a checkpoint write: " + duringWrite);
    assertTrue(duringWrite >= 1, "no kill landed during a checkpoint write: " + report);
  }

  private static boolean hasTemporary(Path dir) {
    return !temporaries(dir).isEmpty();
  }

  private static List<String> temporaries(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".tmp-"))
          .sorted().toList();
    } catch (Exception e) {
      return List.of(); // a file vanished while listing: try again next time
    }
  }

  private static List<Long> indexSteps(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> INDEX.matcher(p.getFileName().toString())).filter(Matcher::matches)
          .map(m -> Long.parseLong(m.group(1))).toList();
    }
  }
}
