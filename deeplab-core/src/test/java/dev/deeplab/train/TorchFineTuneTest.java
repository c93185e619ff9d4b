package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.export.ModelExporter;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.internal.torch.PyTorchImporter;
import dev.deeplab.internal.torch.TorchNetworks;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.testing.PthWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fine-tuning VainF's DeepLabV3+ MobileNetV2 (dilated depthwise convs, ASPP with dilated convs and
 * dropout, batch norm) from a {@code .pth} state dict of seeded random weights with non-trivial
 * batch-norm statistics, on voc-mini at 97×97 (batch = the four images, no augmentation, so every
 * step sees the same images):
 *
 * <ul>
 *   <li>step 0 with batch norm and dropout in eval mode computes the loss of the model {@code
 *       import --pytorch} makes of the same file: the mean over labelled pixels of {@code -log p}
 *       of its served probabilities;
 *   <li>in training mode (batch statistics, dropout) the loss of the images falls and the
 *       weights and running statistics move; the last checkpoint exports to a SavedModel that
 *       segments;
 *   <li>a run stopped at step 3 and resumed to 6 has the losses of the uninterrupted run;
 *   <li>a PyTorch file of another architecture, or for an official network, is refused.
 * </ul>
 */
class TorchFineTuneTest {
  private static final ModelVariant VARIANT = ModelVariant.VAINF_DEEPLABV3PLUS_MOBILENET;
  private static final int CROP = 97;

  @TempDir static Path tmp;
  private static Path pth;
  private static Path data;

  @BeforeAll
  static void files() throws Exception {
    pth = tmp.resolve("vainf_mnv2.pth");
    PthWriter.write(pth, PthWriter.seededStateDict(TorchNetworks.config(VARIANT, 21, CROP), 7));
    data = VocMini.downscaled(tmp.resolve("voc97"), CROP);
  }

  private static TrainConfig.Builder config(int steps) {
    ModelConfig model = TorchNetworks.config(VARIANT, 21, CROP);
    return TrainConfig.builder(model).steps(steps).batchSize(4).augmentation(Augmentation.none())
        .weightDecay(0).seed(3);
  }

  private static List<Float> train(TrainConfig config, Path dir, long until) throws Exception {
    List<Float> losses = new ArrayList<>();
    Trainer.Options options = Trainer.Options.defaults(dir).withCheckpointEvery(0)
        .withUntilStep(until);
    new Trainer(config, options).onStep((g, r) -> losses.add(r.loss()))
        .train(new VocDataset(data, "train"), null, new Trainer.Init(pth, List.of()));
    return losses;
  }

  @Test
  void stepZeroComputesTheImportedModelsLoss() throws Exception {
    TrainConfig frozen = config(1).fineTuneBatchNorm(false).dropout(false).build();
    float loss = train(frozen, tmp.resolve("frozen"), 0).get(0);

    PyTorchImporter.Plan plan = PyTorchImporter.plan(pth, VARIANT, OptionalInt.of(21),
        OptionalInt.empty());
    Path model = PyTorchImporter.run(plan, new ModelInfo(plan.config(), LabelSet.PASCAL_VOC,
        "test"), tmp.resolve("imported"), OptionalLong.empty());
    double sum = 0;
    long count = 0;
    VocDataset ds = new VocDataset(data, "train");
    try (Segmenter s = Segmenter.load(model)) {
      for (VocDataset.Sample sample : ds.samples()) {
        RgbImage image = new ImageReader().read(sample.image());
        LabelMap label = new LabelReader().read(sample.label());
        Segmentation seg = s.segmentWithProbabilities(image);
        for (int y = 0; y < CROP; y++) {
          for (int x = 0; x < CROP; x++) {
            int c = label.get(x, y);
            if (c != 255) {
              sum -= Math.log(seg.probabilities()[(y * CROP + x) * 21 + c]);
              count++;
            }
          }
        }
      }
    }
    double expected = sum / count;
    System.out.printf("torch fine-tune step 0: loss %.6f, imported model's %.6f over %d pixels%n",
        loss, expected, count);
    assertEquals(expected, loss, 2e-5 * expected);
  }

  /** Six steps in training mode (batch statistics, dropout), uninterrupted. */
  private static TrainConfig trainingMode() {
    return config(6).baseLearningRate(0.01).build();
  }

  @Test
  void trainingModeLowersTheLossResumesAndExports() throws Exception {
    TrainConfig config = trainingMode();
    Path run = tmp.resolve("train");
    List<Float> losses = new ArrayList<>();
    TrainResult result = new Trainer(config, Trainer.Options.defaults(run).withCheckpointEvery(0))
        .onStep((g, r) -> losses.add(r.loss()))
        .train(new VocDataset(data, "train"), null, new Trainer.Init(pth, List.of()));
    System.out.println("torch fine-tune, training-mode batch norm and dropout: losses " + losses);
    assertTrue(losses.get(losses.size() - 1) < 0.9 * losses.get(0), "loss did not fall: " + losses);

    // stopped after 3 steps and resumed from its checkpoint: the same losses
    Path split = tmp.resolve("split");
    List<Float> joined = new ArrayList<>(train(config, split, 3));
    joined.addAll(train(config, split, 0));
    assertEquals(losses.size(), joined.size());
    for (int i = 0; i < losses.size(); i++) {
      assertEquals(losses.get(i), joined.get(i), 1e-5 * losses.get(i), "step " + i);
    }

    Path ckpt = result.lastCheckpoint().orElseThrow();
    Map<String, FloatTensor> trained = Checkpoints.modelWeights(ckpt);
    Map<String, FloatTensor> start = PyTorchImporter.read(pth, trained.keySet());
    for (String name : List.of("classifier.classifier.3.weight",
        "backbone.low_level_features.0.0.weight", "classifier.aspp.convs.1.1.running_mean",
        "classifier.aspp.convs.1.1.running_var")) {
      assertTrue(maxDiff(start.get(name), trained.get(name)) > 1e-6, name + " did not move");
    }

    ModelInfo served = new ModelInfo(config.model(), LabelSet.PASCAL_VOC, "test");
    Path exported = ModelExporter.fromCheckpoint(ckpt, served, tmp.resolve("exported"),
        OptionalLong.empty());
    VocDataset.Sample sample = new VocDataset(data, "train").samples().get(0);
    try (Segmenter s = Segmenter.load(exported)) {
      Segmentation seg = s.segment(sample.image());
      assertEquals(CROP, seg.width());
      assertEquals(CROP, seg.height());
      long[] hist = new long[21];
      for (int y = 0; y < CROP; y++) {
        for (int x = 0; x < CROP; x++) {
          hist[seg.classId(x, y)]++;
        }
      }
      System.out.println("exported model's classes on " + sample.id() + ": "
          + java.util.Arrays.toString(hist));
    }
  }

  @Test
  void refusesMismatchedFiles() throws Exception {
    ModelConfig lraspp = TorchNetworks.config(ModelVariant.TORCHVISION_LRASPP_MOBILENET_V3_LARGE,
        21, 65);
    TrainConfig wrongArch = TrainConfig.builder(lraspp).steps(1).batchSize(1)
        .augmentation(Augmentation.none()).build();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
        new Trainer(wrongArch, Trainer.Options.defaults(tmp.resolve("wrong")))
            .train(new VocDataset(data, "train"), null, new Trainer.Init(pth, List.of())));
    assertTrue(e.getMessage().startsWith("--init-from"), e.getMessage());

    TrainConfig official = TrainConfig.builder(ModelConfig.defaults(ModelVariant.MOBILENET_V2, 16)
        .withCropSize(65, 65)).steps(1).batchSize(1).augmentation(Augmentation.none()).build();
    e = assertThrows(IllegalArgumentException.class, () ->
        new Trainer(official, Trainer.Options.defaults(tmp.resolve("official")))
            .train(new VocDataset(data, "train"), null, new Trainer.Init(pth, List.of())));
    assertTrue(e.getMessage().contains("is a PyTorch file"), e.getMessage());
  }

  private static double maxDiff(FloatTensor a, FloatTensor b) {
    double m = 0;
    for (int i = 0; i < a.data().length; i++) {
      m = Math.max(m, Math.abs(a.data()[i] - b.data()[i]));
    }
    return m;
  }
}
