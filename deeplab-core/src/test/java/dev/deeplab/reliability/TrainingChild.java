package dev.deeplab.reliability;

import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.train.CheckpointManager;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.train.TrainConfig;
import dev.deeplab.train.TrainResult;
import dev.deeplab.train.Trainer;
import java.nio.file.Path;

/**
 * A tiny training run in its own JVM, for {@link TrainingKillTest}: args checkpoint dir, total
 * steps. Prints {@code RESUME <step>} (the newest complete checkpoint before starting, -1 for
 * none), {@code STEP <n>} after each step and {@code DONE <start> <end>}.
 */
public final class TrainingChild {
  private TrainingChild() {}

  /** The tiny model of the reliability tests: MobileNetV2 x0.25, OS 16, a 65x65 crop. */
  static ModelConfig tinyModel() {
    return ModelConfig.defaults(ModelVariant.MOBILENET_V2, 16).withDepthMultiplier(0.25)
        .withCropSize(65, 65);
  }

  static TrainConfig config(int steps) {
    return TrainConfig.builder(tinyModel()).steps(steps).batchSize(2).baseLearningRate(0.01)
        .seed(42).build();
  }

  static Path vocMini() throws Exception {
    return dev.deeplab.testing.TestData.vocMini();
  }

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int steps = Integer.parseInt(args[1]);
    long resume = new CheckpointManager(dir, 3).latestStep().orElse(-1);
    System.out.println("RESUME " + resume);
    System.out.flush();
    VocDataset data = new VocDataset(vocMini(), "train");
    Trainer.Options options = Trainer.Options.defaults(dir).withCheckpointEvery(1).withKeep(3)
        .withWorkers(1);
    TrainResult r = new Trainer(config(steps), options)
        .reportProgress((step, loss, learningRate, imagesPerSecond) -> {
          System.out.println("STEP " + step);
          System.out.flush();
        })
        .train(data, null, null);
    System.out.println("DONE " + r.startStep() + " " + r.endStep());
    System.out.flush();
  }
}
