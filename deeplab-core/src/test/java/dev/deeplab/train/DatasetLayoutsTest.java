package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.Ade20kDataset;
import dev.deeplab.data.CityscapesDataset;
import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.data.TfRecordDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.model.LabelSet;
import dev.deeplab.testing.TestData;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training with evaluation runs on each layout: Cityscapes, ADE20K (resized), TFRecord shards. */
class DatasetLayoutsTest {
  @TempDir Path tmp;

  private TrainResult train(LabelSet labels, SegmentationDataset train, SegmentationDataset eval,
      ResizeToRange resize, String run) throws Exception {
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(65)
            .withNumClasses(labels.numClasses()))
        .steps(2).batchSize(2).seed(3).resize(resize)
        .loss(LossConfig.defaults().withIgnoreLabel(labels.ignoreLabel())).build();
    Trainer.Options options = Trainer.Options.defaults(tmp.resolve(run)).withEvalEvery(2)
        .withWorkers(1);
    TrainResult r = new Trainer(config, options).train(train, eval, null);
    assertEquals(2, r.endStep());
    assertTrue(Float.isFinite(r.lastLoss()), "loss " + r.lastLoss());
    return r;
  }

  @Test
  void cityscapes() throws Exception {
    Path root = TestData.datasets("cityscapes");
    TrainResult r = train(LabelSet.CITYSCAPES, new CityscapesDataset(root, "train"),
        new CityscapesDataset(root, "val"), ResizeToRange.none(), "cityscapes");
    ConfusionMatrix cm = r.lastEvaluation().orElseThrow();
    assertEquals(19, cm.numClasses());
    // two 128x64 val images, void pixels (255) left out
    assertTrue(cm.total() > 0 && cm.total() < 2 * 128 * 64, "counted " + cm.total());
  }

  @Test
  void ade20kWithResize() throws Exception {
    Path root = TestData.datasets("ade20k/ADEChallengeData2016");
    Ade20kDataset val = new Ade20kDataset(root, "val");
    TrainResult r = train(LabelSet.ADE20K, new Ade20kDataset(root, "train"), val,
        new ResizeToRange(49, 65, 16), "ade20k");
    ConfusionMatrix cm = r.lastEvaluation().orElseThrow();
    long labelled = 0;
    for (SegmentationDataset.Sample s : val.samples()) {
      long[] h = val.load(s, 151, 0).label().histogram();
      labelled += 96 * 72 - h[0];
    }
    // scored at the original size, unlabelled (0) pixels left out
    assertEquals(labelled, cm.total());
  }

  @Test
  void tfRecordShards() throws Exception {
    Path dir = TestData.datasets("tfrecord");
    TrainResult r = train(LabelSet.CITYSCAPES,
        new TfRecordDataset(dir.resolve("train_fine-*.tfrecord").toString()),
        new TfRecordDataset(dir.resolve("val_fine-*.tfrecord").toString()),
        ResizeToRange.none(), "tfrecord");
    assertTrue(r.lastEvaluation().orElseThrow().total() > 0);
  }
}
