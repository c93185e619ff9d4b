package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.export.ModelImporter;
import dev.deeplab.internal.tflite.BundledDeepLabModel;
import dev.deeplab.internal.tflite.TfliteDeepLabImporter;
import dev.deeplab.internal.tflite.TfliteDeepLabWeights;
import dev.deeplab.internal.train.InitialWeights;
import dev.deeplab.internal.train.TrainingEvaluator;
import dev.deeplab.internal.train.TrainingGraph;
import dev.deeplab.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fine-tuning the bundled pretrained MobileNetV2 DeepLabv3 (the official quantised PASCAL VOC
 * TFLite file, imported to float weights) for a few steps on voc-mini with a small learning rate
 * keeps its mIoU on voc-mini at or above the starting figure.
 */
class FineTuneTest {
  @TempDir Path tmp;

  @Test
  void fineTuningFromBundledModelKeepsMiou() throws Exception {
    Path tflite = tmp.resolve("mnv2.tflite");
    Files.write(tflite, BundledDeepLabModel.MOBILENET_V2_DM10.readBytes());
    TfliteDeepLabWeights pretrained = TfliteDeepLabImporter.importFile(tflite);
    // Whole images (513 = OS*32+1 covers voc-mini), no random scaling: the steps descend the loss
    // of exactly the images evaluated.
    int crop = Integer.getInteger("ft.crop", 513);
    ModelConfig model = ModelImporter.tflite(tflite).config().withCropSize(crop, crop);
    TrainConfig config = TrainConfig.builder(model).steps(Integer.getInteger("ft.steps", 4))
        .batchSize(Integer.getInteger("ft.batch", 4))
        .baseLearningRate(Double.parseDouble(System.getProperty("ft.lr", "3e-4")))
        .augmentation(Augmentation.none()).fineTuneBatchNorm(false).seed(5).build();
    VocDataset data = new VocDataset(VocMini.root(), "train");
    VocDataset val = new VocDataset(VocMini.root(), "val");

    TrainingEvaluator evaluator = new TrainingEvaluator(val, 21, 255, config.resize());
    int[] size = evaluator.evalSize(model.outputStride());
    ConfusionMatrix before;
    try (TrainingGraph g = TrainingGraph.build(config, size[0], size[1])) {
      InitialWeights.Selection s = InitialWeights.select(
          InitialWeights.read(tflite, g.variables().keySet()), g.variables(), List.of());
      assertTrue(s.missing().isEmpty() && s.reinitialized().isEmpty());
      g.assign(s.values());
      before = evaluator.evaluate(g);
    }
    Trainer.Options options = Trainer.Options.defaults(tmp.resolve("run")).withCheckpointEvery(0)
        .withEvalEvery(config.steps());
    TrainResult result = new Trainer(config, options)
        .train(data, val, new Trainer.Init(tflite, List.of()));
    ConfusionMatrix after = result.lastEvaluation().orElseThrow();
    System.out.printf("fine-tune: mIoU %.4f -> %.4f, pixel accuracy %.4f -> %.4f after %d steps "
        + "(lr %.0e, batch %d, crop %d), loss %.4f%n", before.meanIou(), after.meanIou(),
        before.pixelAccuracy(), after.pixelAccuracy(), config.steps(),
        config.baseLearningRate(), config.batchSize(), crop, result.lastLoss());
    assertTrue(before.meanIou() > 0.5, "the pretrained model works: " + before.meanIou());
    assertTrue(after.meanIou() >= before.meanIou(),
        "mIoU fell from " + before.meanIou() + " to " + after.meanIou());
  }
}
