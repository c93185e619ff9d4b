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
 * TFLite file, imported to float weights) for a few steps on voc-mini with a small learning rate:
 * the weights move, the loss of the (fixed, whole) images falls, and the mIoU on voc-mini stays at
 * or above the starting figure, which is what the model really reaches there (0.977).
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
    List<Float> losses = new java.util.ArrayList<>();
    TrainResult result = new Trainer(config, options).onStep((g, r) -> losses.add(r.loss()))
        .train(data, val, new Trainer.Init(tflite, List.of()));
    java.util.Map<String, dev.deeplab.internal.weights.FloatTensor> trained =
        dev.deeplab.internal.checkpoint.Checkpoints.modelWeights(
            result.lastCheckpoint().orElseThrow());
    java.util.Map<String, dev.deeplab.internal.weights.FloatTensor> start =
        InitialWeights.read(tflite, trained.keySet());
    double moved = 0;
    for (String name : List.of("logits/semantic/weights", "concat_projection/weights",
        "MobilenetV2/Conv/weights")) {
      float[] a = start.get(name).data();
      float[] b = trained.get(name).data();
      for (int i = 0; i < a.length; i++) {
        moved = Math.max(moved, Math.abs(a[i] - b[i]));
      }
    }
    ConfusionMatrix after = result.lastEvaluation().orElseThrow();
    System.out.printf("fine-tune: mIoU %.4f -> %.4f, pixel accuracy %.4f -> %.4f after %d steps "
        + "(lr %.0e, batch %d, crop %d), loss %.4f%n", before.meanIou(), after.meanIou(),
        before.pixelAccuracy(), after.pixelAccuracy(), config.steps(),
        config.baseLearningRate(), config.batchSize(), crop, result.lastLoss());
    assertTrue(moved > 1e-6, "the weights did not move: " + moved);
    assertTrue(losses.get(losses.size() - 1) < losses.get(0),
        "the loss of the same images did not fall: " + losses);
    assertTrue(before.meanIou() > 0.95, "the pretrained model's mIoU: " + before.meanIou());
    assertTrue(after.meanIou() >= before.meanIou(),
        "mIoU fell from " + before.meanIou() + " to " + after.meanIou());
  }
}
