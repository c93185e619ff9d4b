package dev.deeplab.train;

import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.train.CheckpointManager;
import dev.deeplab.testing.TestData;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A task of a test cluster in its own JVM (a TensorFlow server lives as long as its process).
 *
 * <ul>
 *   <li>{@code worker SPEC}: starts the server of the spec's task, prints {@code SERVING
 *       <address>} and serves until killed;
 *   <li>{@code chief SPEC DIR STEPS}: trains {@link #config} on VOC-mini as the chief of the
 *       cluster, checkpointing every step into DIR; prints {@code RESUME <step>} (the newest
 *       complete checkpoint before starting, -1 for none), {@code STEP <n> <loss>} after each
 *       step, then {@code DONE <start> <end>} and exits 0, or {@code LOST <task> <message>} and
 *       exits 1 when a task is lost.
 * </ul>
 */
public final class ClusterChild {
  private ClusterChild() {}

  /**
   * The training of the cluster tests: MobileNetV2 x0.25 at 65x65, global batch 6, batch norm in
   * inference mode and no dropout (so that replicas with parts of the batch make the update of
   * one with all of it, as in {@link MultiDeviceTest}).
   */
  static TrainConfig config(List<String> devices, int steps) {
    return TrainConfig.builder(TinyModels.mobilenet(65)).steps(steps).batchSize(6)
        .baseLearningRate(0.05).fineTuneBatchNorm(false).dropout(false).seed(7)
        .devices(devices).build();
  }

  static Trainer.Options options(Path dir) {
    return Trainer.Options.defaults(dir).withCheckpointEvery(1).withKeep(3).withWorkers(1);
  }

  public static void main(String[] args) throws Exception {
    ClusterSpec spec = ClusterSpec.read(args[1]);
    switch (args[0]) {
      case "worker" -> {
        ClusterServer server = ClusterServer.start(spec);
        System.out.println("SERVING " + spec.address());
        System.out.flush();
        server.join();
      }
      case "chief" -> {
        Path dir = Path.of(args[2]);
        int steps = Integer.parseInt(args[3]);
        System.out.println("RESUME " + new CheckpointManager(dir, 3).latestStep().orElse(-1));
        System.out.flush();
        ClusterServer server = ClusterServer.start(spec);
        try {
          TrainResult r = new Trainer(config(spec.replicaDevices(List.of()), steps), options(dir))
              .onCluster(server, Duration.ofSeconds(60))
              .reportProgress((step, loss, learningRate, imagesPerSecond) -> {
                System.out.println("STEP " + step + " " + loss);
                System.out.flush();
              })
              .train(new VocDataset(TestData.vocMini(), "train"), null, null);
          System.out.println("DONE " + r.startStep() + " " + r.endStep());
          System.out.flush();
          System.exit(0);
        } catch (ClusterException e) {
          System.out.println("LOST " + e.task() + " " + e.getMessage());
          System.out.flush();
          System.exit(1);
        }
      }
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }
}
