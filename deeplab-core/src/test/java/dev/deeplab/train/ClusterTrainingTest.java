package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.train.CheckpointManager;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.testing.TestData;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training on a cluster of three JVMs on loopback ports (a chief and two workers, {@link
 * ClusterChild}), one replica each with a third of the batch, against the same steps of the
 * same global batch trained by one replica in this JVM: losses and weights within 1e-5 relative.
 */
class ClusterTrainingTest {
  static final int STEPS = 4;

  @TempDir Path tmp;

  /** Losses of each step and final model weights of a run. */
  record Run(float[] losses, Map<String, FloatTensor> weights) {}

  @Test
  void threeProcessesTrainLikeOne() {
    assertTimeoutPreemptively(Duration.ofSeconds(300), () -> {
      long t0 = System.nanoTime();
      Run local = local(tmp.resolve("local"));
      double localSeconds = (System.nanoTime() - t0) / 1e9;
      int[] ports = ClusterProcess.freePorts(3);
      t0 = System.nanoTime();
      Run cluster;
      try (ClusterProcess w0 = worker(ports, 0); ClusterProcess w1 = worker(ports, 1)) {
        w0.await("SERVING", 60);
        w1.await("SERVING", 60);
        try (ClusterProcess chief = chief(ports, tmp.resolve("cluster"), STEPS)) {
          assertEquals(0, chief.exit(240), chief.tail());
          chief.await("DONE 0 " + STEPS, 1);
          cluster = new Run(losses(chief, STEPS), weights(tmp.resolve("cluster"), STEPS));
        }
      }
      double clusterSeconds = (System.nanoTime() - t0) / 1e9;
      double diff = TinyModels.maxDifference(local.weights(), cluster.weights());
      double scale = Math.max(1, TinyModels.maxAbs(local.weights()));
      System.out.printf("cluster of 3 JVMs (chief + 2 workers, batch 6 as 3 x 2) vs 1 replica "
          + "(batch 6), %d steps: losses %s vs %s; max |weight diff| %.3g (max |w| %.3g); "
          + "%.1f s in one process, %.1f s on the cluster with start-up%n", STEPS,
          java.util.Arrays.toString(local.losses()), java.util.Arrays.toString(cluster.losses()),
          diff, scale, localSeconds, clusterSeconds);
      for (int i = 0; i < STEPS; i++) {
        assertEquals(local.losses()[i], cluster.losses()[i],
            1e-5 * Math.abs(local.losses()[i]), "loss of step " + (i + 1));
      }
      assertTrue(diff <= 1e-5 * scale, "weights differ by " + diff);
    });
  }

  /** {@link ClusterChild#config} trained by one replica in this JVM. */
  static Run local(Path dir) throws Exception {
    return local(dir, STEPS);
  }

  static Run local(Path dir, int steps) throws Exception {
    List<Float> losses = new ArrayList<>();
    new Trainer(ClusterChild.config(List.of(), steps), ClusterChild.options(dir))
        .reportProgress((step, loss, learningRate, imagesPerSecond) -> losses.add(loss))
        .train(new VocDataset(TestData.vocMini(), "train"), null, null);
    float[] out = new float[losses.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = losses.get(i);
    }
    return new Run(out, weights(dir, steps));
  }

  static Map<String, FloatTensor> weights(Path dir, long step) throws Exception {
    return Checkpoints.modelWeights(new CheckpointManager(dir, 3).prefix(step));
  }

  /** The losses of steps 1..steps from a chief's {@code STEP <n> <loss>} lines. */
  static float[] losses(ClusterProcess chief, int steps) throws Exception {
    float[] out = new float[steps];
    for (int s = 1; s <= steps; s++) {
      out[s - 1] = Float.parseFloat(chief.await("STEP " + s + " ", 1).split(" ")[2]);
    }
    return out;
  }

  static String spec(int[] ports, String type, int index) {
    return "{\"cluster\": {\"chief\": [\"127.0.0.1:" + ports[0] + "\"], \"worker\": "
        + "[\"127.0.0.1:" + ports[1] + "\", \"127.0.0.1:" + ports[2] + "\"]}, "
        + "\"task\": {\"type\": \"" + type + "\", \"index\": " + index + "}}";
  }

  static ClusterProcess worker(int[] ports, int index) throws Exception {
    return new ClusterProcess("worker", spec(ports, "worker", index));
  }

  static ClusterProcess chief(int[] ports, Path dir, int steps) throws Exception {
    return new ClusterProcess("chief", spec(ports, "chief", 0), dir.toString(),
        Integer.toString(steps));
  }
}
