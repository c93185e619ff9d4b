package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.train.Devices;
import dev.deeplab.internal.train.InitialWeights;
import dev.deeplab.internal.train.PolyLearningRate;
import dev.deeplab.internal.train.TrainingGraph;
import dev.deeplab.internal.train.VariableInfo;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Learning-rate schedule, configuration checks, device lists, initial-weight selection. */
class ScheduleAndConfigTest {

  @Test
  void polyScheduleAsOfficial() {
    PolyLearningRate lr = new PolyLearningRate(0.007, 100, 0.9, 0, 1e-4);
    assertEquals(0.007, lr.at(0), 1e-12);
    assertEquals(0.007 * Math.pow(0.5, 0.9), lr.at(50), 1e-12);
    assertEquals(0, lr.at(100), 1e-12);
    PolyLearningRate slow = new PolyLearningRate(0.01, 110, 0.9, 10, 1e-4);
    assertEquals(1e-4, slow.at(9), 1e-12);
    assertEquals(0.01, slow.at(10), 1e-12);
    assertEquals(0.01 * Math.pow(0.5, 0.9), slow.at(60), 1e-12);
  }

  @Test
  void graphLearningRateFollowsTheSchedule() {
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(33)).steps(8).batchSize(1)
        .baseLearningRate(0.02).slowStart(2, 0.001).build();
    try (TrainingGraph g = TrainingGraph.build(config)) {
      Batch b = new Batch(0, 1, 33, 33, new float[33 * 33 * 3], new byte[33 * 33], List.of("z"));
      for (int s = 0; s < 5; s++) {
        TrainingGraph.StepResult r = g.step(b);
        assertEquals(s + 1, r.step());
        assertEquals(config.learningRateAt(s), r.learningRate(), 1e-7);
      }
    }
  }

  @Test
  void configurationMistakesAreOneLineErrors() {
    ModelConfig m = TinyModels.mobilenet(33);
    assertThrows(IllegalArgumentException.class,
        () -> TrainConfig.builder(m).batchSize(3).devices(Devices.parse("cpu:0,cpu:1")).build());
    assertThrows(IllegalArgumentException.class,
        () -> TrainConfig.builder(m).dropout(false).build());
    assertThrows(IllegalArgumentException.class,
        () -> TrainConfig.builder(m).loss(LossConfig.defaults().withClassWeights(List.of(1.0)))
            .build());
    assertThrows(IllegalArgumentException.class, () -> TrainConfig.builder(m).steps(0).build());
    assertEquals(1e-4, TrainConfig.defaultWeightDecay(
        ModelConfig.defaults(ModelVariant.RESNET_V1_50, 16)));
    assertEquals(4e-5, TrainConfig.defaultWeightDecay(m));
    assertEquals(List.of("/device:CPU:0", "/device:GPU:1"), Devices.parse("cpu:0, GPU:1"));
    assertThrows(IllegalArgumentException.class, () -> Devices.parse("cpu:0,cpu:0"));
  }

  @Test
  void initialWeightsSkipReinitialisedScopesAndExplainShapeMismatches() {
    Map<String, VariableInfo> model = new LinkedHashMap<>();
    model.put("a/weights", new VariableInfo("a/weights", new long[] {2}, dev.deeplab.internal.nn.Role.WEIGHTS));
    model.put("logits/semantic/weights", new VariableInfo("logits/semantic/weights",
        new long[] {1, 1, 4, 3}, dev.deeplab.internal.nn.Role.WEIGHTS));
    model.put("b/biases", new VariableInfo("b/biases", new long[] {1}, dev.deeplab.internal.nn.Role.BIASES));
    Map<String, FloatTensor> source = Map.of(
        "a/weights", new FloatTensor(new long[] {2}, new float[2]),
        "logits/semantic/weights", new FloatTensor(new long[] {1, 1, 4, 21}, new float[84]),
        "global_step", new FloatTensor(new long[] {}, new float[1]));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> InitialWeights.select(source, model, List.of()));
    assertTrue(e.getMessage().contains("--reinitialize logits"), e.getMessage());
    InitialWeights.Selection s = InitialWeights.select(source, model, List.of("logits"));
    assertEquals(List.of("a/weights"), List.copyOf(s.values().keySet()));
    assertEquals(List.of("logits/semantic/weights"), s.reinitialized());
    assertEquals(List.of("b/biases"), s.missing());
  }

  @Test
  void commandLineOptionsMapToTheConfiguration() throws Exception {
    picocli.CommandLine cli = new picocli.CommandLine(new dev.deeplab.cli.TrainCommand());
    cli.parseArgs("--variant", "xception_65", "--data", "x", "--checkpoint-dir", "c", "--steps", "100", "--batch-size", "4",
        "--crop-size", "321", "--no-fine-tune-batch-norm", "--base-lr", "1e-4",
        "--devices", "cpu:0,cpu:1", "--top-k-percent-pixels", "0.5",
        "--hard-example-mining-step", "10", "--seed", "7", "--output-stride", "8");
    TrainConfig c = ((dev.deeplab.cli.TrainCommand) cli.getCommand()).trainConfig(LabelSet.PASCAL_VOC);
    assertEquals(false, c.fineTuneBatchNorm());
    assertEquals(1e-4, c.baseLearningRate());
    assertEquals(2, c.replicas());
    assertEquals(0.5, c.loss().topKPercentPixels());
    assertEquals(10, c.loss().hardExampleMiningStep());
    assertEquals(321, c.model().cropHeight());
    assertEquals(8, c.model().outputStride());
    assertEquals(List.of(12, 24, 36), c.model().atrousRates());
    assertEquals(4e-5, c.weightDecay());
    assertEquals(7, c.seed());
    picocli.CommandLine d = new picocli.CommandLine(new dev.deeplab.cli.TrainCommand());
    d.parseArgs("--variant", "resnet_v1_50_beta", "--data", "x", "--checkpoint-dir", "c", "--steps", "1", "--batch-size",
        "1", "--crop-size", "65");
    TrainConfig e = ((dev.deeplab.cli.TrainCommand) d.getCommand()).trainConfig(LabelSet.PASCAL_VOC);
    assertEquals(true, e.fineTuneBatchNorm());
    assertEquals(1e-4, e.weightDecay());
  }
}
