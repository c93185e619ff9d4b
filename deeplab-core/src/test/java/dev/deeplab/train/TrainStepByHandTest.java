package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.train.TrainingGraph;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.model.ModelConfig;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * One momentum + weight-decay step worked out by hand, and the defaults pinned to the official
 * flags of {@code research/deeplab/train.py}.
 */
class TrainStepByHandTest {

  /**
   * With every pixel ignored the data loss and its gradient are 0, so a step applies weight
   * decay alone: the gradient of {@code wd * l2_loss(w)} is {@code wd * w} for conv weights
   * (times the last-layer multiplier in the head), nothing for biases, depthwise weights and
   * batch norm; {@code slot = 0.9 slot + g; w -= lr * slot}.
   */
  @Test
  void weightDecayAndMomentumByHand() {
    double wd = 0.01;
    double mult = 3;
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(33)).steps(10).batchSize(1)
        .baseLearningRate(0.1).weightDecay(wd).lastLayerGradientMultiplier(mult)
        .fineTuneBatchNorm(false).dropout(false).build();
    byte[] ignored = new byte[33 * 33];
    Arrays.fill(ignored, (byte) 255);
    Batch batch = new Batch(0, 1, 33, 33, new float[33 * 33 * 3], ignored, List.of("x"));
    List<String> names = List.of("MobilenetV2/Conv/weights", "aspp0/weights",
        "logits/semantic/weights", "logits/semantic/biases",
        "MobilenetV2/expanded_conv/depthwise/depthwise_weights", "aspp0/BatchNorm/gamma");
    try (TrainingGraph g = TrainingGraph.build(config)) {
      Map<String, FloatTensor> w0 = g.read(names);
      TrainingGraph.StepResult r0 = g.step(batch);
      Map<String, FloatTensor> w1 = g.read(names);
      g.step(batch);
      Map<String, FloatTensor> w2 = g.read(names);
      Map<String, FloatTensor> slots = g.read(names.stream().map(n -> n + "/Momentum").toList());
      double lr0 = 0.1;
      double lr1 = 0.1 * Math.pow(1 - 1 / 10.0, 0.9);
      for (String n : names) {
        boolean decays = n.endsWith("/weights");
        double m = n.startsWith("MobilenetV2") ? 1 : mult;
        float[] a = w0.get(n).data();
        for (int i = 0; i < a.length; i += Math.max(1, a.length / 50)) {
          double slot1 = decays ? m * wd * a[i] : 0;
          double v1 = a[i] - lr0 * slot1;
          double slot2 = 0.9 * slot1 + (decays ? m * wd * v1 : 0);
          double v2 = v1 - lr1 * slot2;
          double tol = 1e-6 * Math.abs(a[i]) + 1e-9;
          assertEquals(v1, w1.get(n).data()[i], tol, n + "[" + i + "] after step 1");
          assertEquals(v2, w2.get(n).data()[i], tol, n + "[" + i + "] after step 2");
          assertEquals(slot2, slots.get(n + "/Momentum").data()[i], 1e-6 * Math.abs(slot2) + 1e-12,
              n + "/Momentum[" + i + "]");
        }
      }
      assertEquals(lr0, r0.learningRate(), 1e-8);
    }
  }

  @Test
  void initializeLastLayerFalseReinitialisesTheHeadScopesTheModelHas() {
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(33)).build();
    java.util.Set<String> variables;
    try (TrainingGraph g = TrainingGraph.build(config)) {
      variables = g.variables().keySet();
    }
    java.nio.file.Path source = java.nio.file.Path.of("weights");
    assertEquals(List.of("aspp"), Trainer.reinitializedScopes(
        new Trainer.Init(source, List.of("aspp")), config, variables));
    // MobileNetV2 DLv3 has no decoder and no dense prediction cell
    assertEquals(List.of("logits", "image_pooling", "aspp", "concat_projection"),
        Trainer.reinitializedScopes(new Trainer.Init(source, List.of(), false), config,
            variables));
    TrainConfig logitsOnly = config.toBuilder().lastLayersContainLogitsOnly(true).build();
    assertEquals(List.of("logits"), Trainer.reinitializedScopes(
        new Trainer.Init(source, List.of(), false), logitsOnly, variables));
  }

  @Test
  void defaultsAreTheOfficialFlags() {
    ModelConfig mnv2 = TinyModels.mobilenet(33);
    TrainConfig c = TrainConfig.builder(mnv2).build();
    assertEquals(30000, c.steps()); // training_number_of_steps
    assertEquals(8, c.batchSize()); // train_batch_size
    assertEquals(LearningRateSchedule.Policy.POLY, c.learningRate().policy()); // learning_policy
    assertEquals(0.007, c.learningRate().baseRate()); // the VOC train_aug recipe's rate
    assertEquals(0.9, c.learningRate().power()); // learning_power
    assertEquals(0.0, c.learningRate().endRate()); // end_learning_rate
    assertEquals(2000, c.learningRate().decayStep()); // learning_rate_decay_step
    assertEquals(0.1, c.learningRate().decayFactor()); // learning_rate_decay_factor
    assertEquals(0, c.learningRate().slowStartSteps()); // slow_start_step
    assertEquals(1e-4, c.learningRate().slowStartRate()); // slow_start_learning_rate
    assertEquals(Optimizer.Kind.MOMENTUM, c.optimizer().kind());
    assertEquals(0.9, c.optimizer().momentum()); // momentum
    assertEquals(0.001, c.optimizer().adamLearningRate()); // adam_learning_rate
    assertEquals(1e-8, c.optimizer().adamEpsilon()); // adam_epsilon
    assertEquals(4e-5, c.weightDecay()); // weight_decay (MobileNetV2, Xception)
    assertEquals(1e-4, TrainConfig.builder(ModelConfig.defaults(ModelVariant.RESNET_V1_101, 16))
        .build().weightDecay()); // the flag comment's ResNet value
    assertEquals(1.0, c.lastLayerGradientMultiplier()); // last_layer_gradient_multiplier
    assertEquals(false, c.lastLayersContainLogitsOnly()); // last_layers_contain_logits_only
    assertEquals(List.of("logits", "image_pooling", "aspp", "concat_projection", "decoder",
        "meta_architecture"), c.lastLayers()); // model.get_extra_layer_scopes
    assertEquals(true, c.fineTuneBatchNorm()); // fine_tune_batch_norm
    assertEquals(255, c.loss().ignoreLabel());
    assertEquals(1.0, c.loss().topKPercentPixels()); // top_k_percent_pixels
    assertEquals(0, c.loss().hardExampleMiningStep()); // hard_example_mining_step
    assertEquals(new Augmentation(0.5, 2.0, 0.25, true), c.augmentation()); // scale factors
  }

  @Test
  void learningPoliciesByHand() {
    LearningRateSchedule base = LearningRateSchedule.poly(0.1);
    LearningRateSchedule step = base.withPolicy(LearningRateSchedule.Policy.STEP)
        .withStepDecay(100, 0.5);
    assertEquals(0.1, step.at(99, 1000), 1e-12);
    assertEquals(0.05, step.at(100, 1000), 1e-12);
    assertEquals(0.025, step.at(250, 1000), 1e-12);
    LearningRateSchedule cosine = base.withPolicy(LearningRateSchedule.Policy.COSINE);
    assertEquals(0.05, cosine.at(500, 1000), 1e-12);
    assertEquals(0.0, cosine.at(1000, 1000), 1e-12);
    LearningRateSchedule multi = base.withBoundaries(List.of(10L, 20L), List.of(0.3, 0.2, 0.1))
        .withPolicy(LearningRateSchedule.Policy.MULTI_STEPS);
    assertEquals(0.3, multi.at(10, 100), 0);
    assertEquals(0.2, multi.at(11, 100), 0);
    assertEquals(0.1, multi.at(21, 100), 0);
    LearningRateSchedule poly = base.withPoly(1.0, 0.01);
    assertEquals(0.01 + 0.09 * 0.5, poly.at(50, 100), 1e-12);
    LearningRateSchedule burnIn = base.withSlowStart(10, 0.02, true);
    assertEquals(0.02 + 0.08 * 0.5, burnIn.at(5, 110), 1e-12);
    assertEquals(0.1, burnIn.at(10, 110), 1e-12);
  }
}
