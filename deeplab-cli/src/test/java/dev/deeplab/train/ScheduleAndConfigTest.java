package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.train.Devices;
import dev.deeplab.internal.train.InitialWeights;
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
    LearningRateSchedule lr = LearningRateSchedule.poly(0.007);
    assertEquals(0.007, lr.at(0, 100), 1e-12);
    assertEquals(0.007 * Math.pow(0.5, 0.9), lr.at(50, 100), 1e-12);
    assertEquals(0, lr.at(100, 100), 1e-12);
    LearningRateSchedule slow = LearningRateSchedule.poly(0.01).withSlowStart(10, 1e-4, false);
    assertEquals(1e-4, slow.at(9, 110), 1e-12);
    assertEquals(0.01, slow.at(10, 110), 1e-12);
    assertEquals(0.01 * Math.pow(0.5, 0.9), slow.at(60, 110), 1e-12);
  }

  @Test
  void graphLearningRateFollowsTheSchedule() {
    LearningRateSchedule base = LearningRateSchedule.poly(0.02)
        .withBoundaries(List.of(3L, 4L), List.of(0.03, 0.02, 0.01)).withStepDecay(2, 0.5);
    List<LearningRateSchedule> schedules = List.of(
        base.withSlowStart(2, 0.001, false),
        base.withSlowStart(2, 0.001, true).withPolicy(LearningRateSchedule.Policy.STEP),
        base.withPolicy(LearningRateSchedule.Policy.COSINE),
        base.withSlowStart(1, 0.001, false).withPolicy(LearningRateSchedule.Policy.MULTI_STEPS));
    for (LearningRateSchedule schedule : schedules) {
      TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(33)).steps(8).batchSize(1)
          .learningRate(schedule).build();
      try (TrainingGraph g = TrainingGraph.build(config)) {
        Batch b = new Batch(0, 1, 33, 33, new float[33 * 33 * 3], new byte[33 * 33],
            List.of("z"));
        for (int s = 0; s < 8; s++) {
          TrainingGraph.StepResult r = g.step(b);
          assertEquals(s + 1, r.step());
          assertEquals(schedule.at(s, 8), r.learningRate(), 1e-7, schedule.policy() + " step " + s);
        }
      }
    }
  }

  @Test
  void configurationMistakesAreOneLineErrors() {
    ModelConfig m = TinyModels.mobilenet(33);
    assertThrows(IllegalArgumentException.class,
        () -> TrainConfig.builder(m).batchSize(3).devices(Devices.parse("cpu:0,cpu:1")).build());
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
  void reinitializedScopesArePrefixesAsTheOfficialExclusionAndMustMatch() {
    Map<String, VariableInfo> model = new LinkedHashMap<>();
    for (String n : List.of("aspp0/weights", "aspp1_depthwise/depthwise_weights",
        "concat_projection/weights", "logits/semantic/weights")) {
      model.put(n, new VariableInfo(n, new long[] {1}, dev.deeplab.internal.nn.Role.WEIGHTS));
    }
    Map<String, FloatTensor> source = new LinkedHashMap<>();
    model.keySet().forEach(n -> source.put(n, new FloatTensor(new long[] {1}, new float[1])));
    InitialWeights.Selection s = InitialWeights.select(source, model, List.of("aspp", "logits"));
    assertEquals(List.of("aspp0/weights", "aspp1_depthwise/depthwise_weights",
        "logits/semantic/weights"), s.reinitialized());
    assertEquals(List.of("concat_projection/weights"), List.copyOf(s.values().keySet()));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> InitialWeights.select(source, model, List.of("decoder")));
    assertTrue(e.getMessage().contains("--reinitialize decoder matches no variable"),
        e.getMessage());
  }

  @Test
  void commandLineOptionsMapToTheConfiguration() throws Exception {
    picocli.CommandLine cli = new picocli.CommandLine(new dev.deeplab.cli.TrainCommand());
    cli.parseArgs("--variant", "xception_65", "--data", "x", "--checkpoint-dir", "c", "--steps", "100", "--batch-size", "4",
        "--crop-size", "321", "--no-fine-tune-batch-norm", "--base-lr", "1e-4",
        "--devices", "cpu:0,cpu:1", "--top-k-percent-pixels", "0.5",
        "--hard-example-mining-step", "10", "--seed", "7", "--output-stride", "8",
        "--learning-policy", "multi_steps", "--lr-boundaries", "10,20",
        "--lr-boundary-rates", "0.01,0.001,0.0001", "--slow-start-burnin", "linear",
        "--optimizer", "adam", "--adam-lr", "2e-4", "--last-layer-gradient-multiplier", "10",
        "--last-layers-contain-logits-only", "--min-scale-factor", "0.75");
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
    assertEquals(LearningRateSchedule.Policy.MULTI_STEPS, c.learningRate().policy());
    assertEquals(List.of(10L, 20L), c.learningRate().boundaries());
    assertEquals(List.of(0.01, 0.001, 0.0001), c.learningRate().boundaryRates());
    assertEquals(true, c.learningRate().linearBurnIn());
    assertEquals(Optimizer.adam(2e-4, 1e-8), c.optimizer());
    assertEquals(10.0, c.lastLayerGradientMultiplier());
    assertEquals(List.of("logits"), c.lastLayers());
    assertEquals(0.75, c.augmentation().minScale());
    picocli.CommandLine d = new picocli.CommandLine(new dev.deeplab.cli.TrainCommand());
    d.parseArgs("--variant", "resnet_v1_50_beta", "--data", "x", "--checkpoint-dir", "c", "--steps", "1", "--batch-size",
        "1", "--crop-size", "65");
    TrainConfig e = ((dev.deeplab.cli.TrainCommand) d.getCommand()).trainConfig(LabelSet.PASCAL_VOC);
    assertEquals(true, e.fineTuneBatchNorm());
    assertEquals(1e-4, e.weightDecay());
  }
}
