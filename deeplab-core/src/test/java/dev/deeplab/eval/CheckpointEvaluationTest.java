package dev.deeplab.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.export.ModelExporter;
import dev.deeplab.export.ModelImporter;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.internal.tflite.BundledDeepLabModel;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.LabelSet;
import dev.deeplab.train.TrainConfig;
import dev.deeplab.train.Trainer;
import dev.deeplab.train.TrainingRun;
import dev.deeplab.train.VocMini;
import java.io.FileNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A training checkpoint evaluated directly equals the SavedModel exported from it: the same
 * confusion matrix on voc-mini, single-scale and multi-scale with flips; and what a run records.
 */
class CheckpointEvaluationTest {
  @TempDir static Path tmp;
  static Path runDir;
  static VocDataset data;
  static ModelConfig model;

  @BeforeAll
  static void train() throws Exception {
    data = new VocDataset(VocMini.root(), "val");
    // Fine-tuned from the pretrained depth-multiplier-0.5 model, so that the predictions vary
    // (a few steps from scratch predict background everywhere, which would compare nothing).
    Path tflite = tmp.resolve("mnv2_dm05.tflite");
    Files.write(tflite, BundledDeepLabModel.MOBILENET_V2_DM05.readBytes());
    model = ModelImporter.tflite(tflite).config().withCropSize(65, 65);
    TrainConfig config = TrainConfig.builder(model).steps(2).batchSize(2)
        .baseLearningRate(1e-4).fineTuneBatchNorm(false).seed(3).build();
    runDir = tmp.resolve("run");
    new Trainer(config, Trainer.Options.defaults(runDir).withCheckpointEvery(1)
        .withLabels(LabelSet.PASCAL_VOC))
        .train(new VocDataset(VocMini.root(), "train"), null, new Trainer.Init(tflite, List.of()));
  }

  @Test
  void runRecordsModelAndLabels() throws Exception {
    TrainingRun run = TrainingRun.open(runDir);
    assertEquals(model, run.model());
    assertEquals(2, run.steps());
    assertEquals(LabelSet.PASCAL_VOC, run.labels());
    assertEquals(List.of(1L, 2L), run.checkpointSteps());
    assertEquals(2, run.selectedStep());
    assertEquals(513, run.modelInfo().config().cropHeight());

    TrainingRun named = TrainingRun.open(runDir.resolve("model.ckpt-1"));
    assertEquals(runDir.toAbsolutePath(), named.directory());
    assertEquals(1, named.selectedStep());
    assertTrue(TrainingRun.isRun(runDir.resolve("model.ckpt-1.index")));
    assertTrue(!TrainingRun.isRun(tmp));
    assertThrows(FileNotFoundException.class, () -> TrainingRun.open(tmp));
    assertThrows(FileNotFoundException.class,
        () -> TrainingRun.open(runDir.resolve("model.ckpt-7")).selectedStep());
  }

  @Test
  void checkpointEvaluatesAsItsExportedSavedModel() throws Exception {
    compare(List.of(1.0), false);
  }

  @Test
  void multiScaleFlippedCheckpointEvaluatesAsItsExportedSavedModel() throws Exception {
    compare(List.of(0.75, 1.0), true);
  }

  private static void compare(List<Double> scales, boolean flip) throws Exception {
    TrainingRun run = TrainingRun.open(runDir);
    ConfusionMatrix direct;
    try (Evaluator e = Evaluator.open(run, 2, scales, flip)) {
      direct = e.evaluate(data, e.info().labels(), ResizeToRange.none(), () -> {});
    }
    Path exported = ModelExporter.fromCheckpoint(run.checkpoint(2), run.modelInfo(),
        tmp.resolve("export-" + scales.size() + flip), OptionalLong.empty());
    ConfusionMatrix viaExport = new ConfusionMatrix(21, 255);
    try (Evaluator e = Evaluator.open(exported, scales, flip)) {
      for (VocDataset.Sample s : data.samples()) {
        VocDataset.LoadedSample l = data.load(s, 21, 255);
        viaExport.add(l.label().toIntArray(), e.predict(l.image()));
      }
    }
    long predictedClasses = java.util.stream.IntStream.range(0, 21).filter(
        c -> direct.truePositives(c) + direct.falsePositives(c) > 0).count();
    System.out.printf("checkpoint vs export, scales %s flip %s: mIoU %.4f over %d pixels, "
        + "%d classes predicted%n", scales, flip, direct.meanIou(), direct.total(),
        predictedClasses);
    assertTrue(predictedClasses >= 2, "a model predicting one class compares nothing");
    assertArrayEquals(viaExport.counts(), direct.counts(),
        () -> Arrays.deepToString(direct.counts()) + " vs "
            + Arrays.deepToString(viaExport.counts()));
  }
}
