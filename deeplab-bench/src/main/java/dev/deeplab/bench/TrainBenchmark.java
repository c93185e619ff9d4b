package dev.deeplab.bench;

import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.train.Devices;
import dev.deeplab.internal.train.TrainingGraph;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.train.TrainConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Training throughput: runs full training steps of a {@link TrainingGraph} (forward, loss,
 * gradients, momentum update, batch-norm updates) on one fixed random batch, so that only
 * TensorFlow's work is timed, and reports images/s after warm-up steps. {@code
 * tools/bench/train_bench.sh} compares it with the same model trained by Python TensorFlow.
 */
public final class TrainBenchmark {
  private TrainBenchmark() {}

  /**
   * A measurement.
   *
   * @param config what was trained
   * @param warmupSteps steps run before timing (graph optimisation, allocation)
   * @param timedSteps steps timed
   * @param buildSeconds time to build the graph and initialise the variables
   * @param imagesPerSecond timed images over timed seconds
   */
  public record Result(TrainConfig config, int warmupSteps, int timedSteps, double buildSeconds,
      double imagesPerSecond) {

    /** One line: model, crop, batch, images/s. */
    public String describe() {
      ModelConfig m = config.model();
      return String.format(Locale.ROOT,
          "java %s dm%.2f OS%d crop %dx%d batch %d replicas %d: %.3f images/s (%d timed steps, "
              + "build %.1f s)", m.variant().officialName(), m.depthMultiplier(), m.outputStride(),
          m.cropHeight(), m.cropWidth(), config.batchSize(), config.replicas(), imagesPerSecond,
          timedSteps, buildSeconds);
    }
  }

  /** Builds the graph and times {@code timedSteps} steps after {@code warmupSteps}. */
  public static Result run(TrainConfig config, int warmupSteps, int timedSteps) {
    return run(config, warmupSteps, timedSteps, "");
  }

  /**
   * {@link #run(TrainConfig, int, int)} through the TensorFlow server at {@code target} (the
   * chief of a cluster whose tasks {@link TrainConfig#devices} name), or locally for "".
   */
  public static Result run(TrainConfig config, int warmupSteps, int timedSteps, String target) {
    ModelConfig m = config.model();
    int n = config.batchSize();
    int h = m.cropHeight();
    int w = m.cropWidth();
    Random rng = new Random(config.seed());
    float[] pixels = new float[n * h * w * 3];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = rng.nextInt(256);
    }
    byte[] labels = new byte[n * h * w];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = (byte) (rng.nextInt(20) == 0 ? 255 : rng.nextInt(m.numClasses()));
    }
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add("random_" + i);
    }
    Batch batch = new Batch(0, n, h, w, pixels, labels, ids);
    long t0 = System.nanoTime();
    try (TrainingGraph graph = TrainingGraph.build(config, 0, 0, target)) {
      double build = (System.nanoTime() - t0) / 1e9;
      for (int i = 0; i < warmupSteps; i++) {
        graph.step(batch);
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < timedSteps; i++) {
        graph.step(batch);
      }
      double seconds = (System.nanoTime() - t1) / 1e9;
      return new Result(config, warmupSteps, timedSteps, build, timedSteps * n / seconds);
    }
  }

  /**
   * Command line: {@code VARIANT CROP BATCH STEPS [WARMUP [OUTPUT_STRIDE [DEVICES]]]}, e.g.
   * {@code mobilenet_v2 321 4 10 3 16}; prints {@link Result#describe()}. The network is the
   * official default of the variant ({@link ModelConfig#defaults}), 21 classes, batch norm
   * trained.
   */
  public static void main(String[] args) {
    if (args.length < 4) {
      System.err.println("usage: TrainBenchmark VARIANT CROP BATCH STEPS [WARMUP [OS [DEVICES]]]");
      System.exit(2);
    }
    int crop = Integer.parseInt(args[1]);
    int os = args.length > 5 ? Integer.parseInt(args[5]) : 16;
    ModelConfig m = ModelConfig.defaults(ModelVariant.fromName(args[0]), os).withCropSize(crop, crop);
    TrainConfig config = TrainConfig.builder(m).batchSize(Integer.parseInt(args[2]))
        .steps(1_000_000).devices(args.length > 6 ? Devices.parse(args[6]) : List.of()).build();
    int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 3;
    System.out.println(run(config, warmup, Integer.parseInt(args[3])).describe());
  }
}
