package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training a small DeepLab from scratch memorises voc-mini: pixel accuracy on its images above
 * 0.95 within a bounded number of steps (the images are downscaled so that this runs in about a
 * minute on two CPU cores).
 */
class OverfitTest {
  @TempDir Path tmp;

  @Test
  void smallModelFromScratchOverfitsVocMini() throws Exception {
    int size = Integer.getInteger("overfit.size", 97);
    int steps = Integer.getInteger("overfit.steps", 150);
    Path data = VocMini.downscaled(tmp.resolve("data"), size);
    ModelConfig model = ModelConfig.defaults(ModelVariant.MOBILENET_V2, 8)
        .withDepthMultiplier(0.25).withDecoderOutputStride(4).withCropSize(size, size);
    TrainConfig config = TrainConfig.builder(model).steps(steps).batchSize(4)
        .baseLearningRate(Double.parseDouble(System.getProperty("overfit.lr", "0.05")))
        .augmentation(Augmentation.none()).weightDecay(0).seed(1)
        .fineTuneBatchNorm(Boolean.parseBoolean(System.getProperty("overfit.bn", "true"))).build();
    Trainer.Options options = Trainer.Options.defaults(tmp.resolve("run"))
        .withCheckpointEvery(0).withEvalEvery(Integer.getInteger("overfit.evalEvery", steps))
        .withPreciseBatchNorm(1);
    long t0 = System.nanoTime();
    TrainResult result = new Trainer(config, options)
        .train(new VocDataset(data, "train"), new VocDataset(data, "val"), null);
    ConfusionMatrix cm = result.lastEvaluation().orElseThrow();
    System.out.printf("overfit: %d steps from scratch, %dx%d, pixel accuracy %.4f, mIoU %.4f, "
        + "loss %.4f, %.1f images/s, %.0f s%n", steps, size, size, cm.pixelAccuracy(),
        cm.meanIou(), result.lastLoss(), result.imagesPerSecond(), (System.nanoTime() - t0) / 1e9);
    assertTrue(cm.pixelAccuracy() > 0.95, "pixel accuracy " + cm.pixelAccuracy());
  }
}
