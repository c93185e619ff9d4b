package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.train.TrainingGraph;
import dev.deeplab.internal.train.VariableInfo;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.testing.GoldenCases;
import dev.deeplab.testing.Npy;
import dev.deeplab.testing.ReferenceWeights;
import dev.deeplab.testing.TestData;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Our training steps equal the official train step, step after step: {@code
 * tools/reference/train_step_reference.py} implements {@code research/deeplab/train.py} with
 * {@code utils/train_utils.py} in plain float64 TensorFlow ops, independently of this code, and
 * wrote {@code golden-train/<case>/} (see its docstring for the cases). Each case starts from the
 * formula weights, runs 3 steps on fixed voc-mini crops with dropout off, and after every step
 * compares the loss, the learning rate, and for every variable its change since the start, its
 * optimizer slots and the batch-norm moving statistics (48 sampled elements and the whole-tensor
 * norm of each) with the reference.
 *
 * <p>Tolerances, from what float32 can hold against a float64 reference: per tensor a relative
 * error (L2 over the samples, and of the norm) of {@value #TENSOR_TOLERANCE}, the median tensor
 * of each step within {@value #MEDIAN_TOLERANCE}, the loss within {@value #LOSS_TOLERANCE}
 * relative (measured: median 3e-7 to 3.3e-5, worst tensor 3.2e-4, loss 2.5e-5). Python's own
 * float32 run of the same reference differs from its float64 run by up to 1.8e-5 per tensor after
 * one step; the errors grow with the steps as the state drifts by roundings.
 */
class TrainStepParityTest {
  private static final double TENSOR_TOLERANCE = 1e-3;
  private static final double MEDIAN_TOLERANCE = 1e-4;
  private static final double LOSS_TOLERANCE = 5e-5;

  /**
   * Whether a tensor is compared. With batch norm in training mode the float32 gradients below
   * the first batch norm differ from float64 by percents (the backward pass through dozens of
   * training-mode batch norms cancels most of each gradient; see tools/reference/README.md), so
   * those cases compare the loss, the moving statistics of every batch norm and the logits layer,
   * whose gradient passes through none.
   */
  private static boolean compared(String name, JsonNode train) {
    return !train.get("fine_tune_batch_norm").asBoolean() || name.startsWith("logits/")
        || name.endsWith("moving_mean") || name.endsWith("moving_variance");
  }

  static Stream<String> cases() throws Exception {
    return GoldenCases.names(TestData.resources("golden-train"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void stepsEqualTheOfficialTrainStep(String name) throws Exception {
    Path dir = TestData.resources("golden-train/" + name);
    JsonNode golden = new ObjectMapper().readTree(dir.resolve("case.json").toFile());
    JsonNode t = golden.get("train");
    TrainConfig config = config(GoldenCases.configOf(golden.get("model")), t);
    Npy.Array pixels = Npy.read(dir.resolve("pixels.npy"));
    Npy.Array labels = Npy.read(dir.resolve("labels.npy"));
    Npy.Array values = Npy.read(dir.resolve("values.npy"));
    int steps = t.get("steps").asInt();
    int width = (int) values.shape()[1];

    try (TrainingGraph graph = TrainingGraph.build(config)) {
      Map<String, FloatTensor> initial = initialWeights(graph, golden, dir);
      graph.assign(initial);
      List<String> names = new ArrayList<>();
      golden.get("variables").forEach(v -> names.add(v.get("name").asText()));
      assertEquals(names.stream().filter(initial::containsKey).sorted().toList(),
          initial.keySet().stream().sorted().toList(), "the same variables as the reference");

      StringBuilder report = new StringBuilder();
      for (int step = 0; step < steps; step++) {
        TrainingGraph.StepResult r = graph.step(batch(config, pixels, labels, step));
        double refLoss = golden.get("loss").get(step).asDouble();
        double refRate = golden.get("learning_rate").get(step).asDouble();
        assertEquals(refRate, r.learningRate(), 1e-6 * refRate, name + " learning rate, step "
            + step);
        double lossError = Math.abs(r.loss() - refLoss) / Math.abs(refLoss);
        assertTrue(lossError <= LOSS_TOLERANCE, String.format(Locale.ROOT,
            "%s step %d: loss %.7g, reference %.7g", name, step, r.loss(), refLoss));
        Map<String, FloatTensor> now = graph.read(names);
        List<Double> errors = new ArrayList<>();
        for (JsonNode item : golden.get("variables")) {
          String key = item.get("name").asText();
          if (compared(key, t)) {
            double e = error(now.get(key), initial.get(key), item, values.data(),
                (long) step * width);
            assertTrue(e <= TENSOR_TOLERANCE, String.format(Locale.ROOT,
                "%s step %d %s: relative error %.3g", name, step, key, e));
            errors.add(e);
          }
        }
        errors.sort(null);
        double median = errors.get(errors.size() / 2);
        assertTrue(median <= MEDIAN_TOLERANCE, String.format(Locale.ROOT,
            "%s step %d: median relative error %.3g", name, step, median));
        report.append(String.format(Locale.ROOT, "; step %d: loss %.1e, %d tensors median %.1e "
            + "worst %.1e", step, lossError, errors.size(), median, errors.get(errors.size() - 1)));
      }
      System.out.println("train step parity " + name + report);
    }
  }

  /** Formula weights, with the moving statistics the reference calibrated where it did. */
  private static Map<String, FloatTensor> initialWeights(TrainingGraph graph, JsonNode golden,
      Path dir) throws Exception {
    Map<String, FloatTensor> initial = new LinkedHashMap<>();
    for (VariableInfo v : graph.variables().values()) {
      initial.put(v.name(), ReferenceWeights.forVariable(v.name(), v.shape()));
    }
    Npy.Array moving = Npy.read(dir.resolve("moving.npy"));
    for (JsonNode m : golden.get("initial_moving")) {
      float[] data = initial.get(m.get("name").asText()).data();
      int offset = m.get("offset").asInt();
      for (int i = 0; i < data.length; i++) {
        data[i] = (float) moving.data()[offset + i];
      }
    }
    return initial;
  }

  /**
   * The relative error of our tensor (minus its initial value for variables; slots as they are)
   * against the reference's sampled elements and L2 norm: the L2 distance over the samples
   * relative to their norm, after allowing each element one float32 rounding of its stored value
   * (the reference rounds its state to float32 too, but a value computed a hair apart can round
   * to the neighbouring float), and the relative difference of the whole-tensor norms. A tensor
   * the reference left unchanged must be unchanged.
   */
  private static double error(FloatTensor ours, FloatTensor initial, JsonNode item,
      double[] values, long rowStart) {
    JsonNode indices = item.get("indices");
    int offset = (int) (rowStart + item.get("offset").asLong());
    double sumSquares = 0;
    for (int i = 0; i < ours.data().length; i++) {
      double d = change(ours, initial, i);
      sumSquares += d * d;
    }
    double refNorm = values[offset + indices.size()];
    if (refNorm == 0) {
      return sumSquares == 0 ? 0 : Double.POSITIVE_INFINITY;
    }
    double diff = 0;
    double ref = 0;
    for (int k = 0; k < indices.size(); k++) {
      int i = indices.get(k).asInt();
      double e = Math.max(0,
          Math.abs(change(ours, initial, i) - values[offset + k]) - Math.ulp(ours.data()[i]));
      diff += e * e;
      ref += values[offset + k] * values[offset + k];
    }
    return Math.max(Math.abs(Math.sqrt(sumSquares) - refNorm) / refNorm,
        Math.sqrt(diff / Math.max(ref, Double.MIN_NORMAL)));
  }

  private static double change(FloatTensor ours, FloatTensor initial, int i) {
    return ours.data()[i] - (initial == null ? 0 : (double) initial.data()[i]);
  }

  private static Batch batch(TrainConfig config, Npy.Array pixels, Npy.Array labels, int step) {
    int n = config.batchSize();
    int count = n * config.model().cropHeight() * config.model().cropWidth();
    float[] px = new float[count * 3];
    byte[] lb = new byte[count];
    for (int i = 0; i < px.length; i++) {
      px[i] = (float) pixels.data()[step * px.length + i];
    }
    for (int i = 0; i < lb.length; i++) {
      lb[i] = (byte) labels.data()[step * lb.length + i];
    }
    return new Batch(step, n, config.model().cropHeight(), config.model().cropWidth(), px, lb,
        List.of());
  }

  /** The reference's training settings as our configuration. */
  private static TrainConfig config(ModelConfig model, JsonNode t) {
    LearningRateSchedule schedule = LearningRateSchedule.poly(
            t.get("base_learning_rate").asDouble())
        .withPolicy(LearningRateSchedule.Policy.valueOf(
            t.get("learning_policy").asText().toUpperCase(Locale.ROOT)))
        .withPoly(t.get("learning_power").asDouble(), t.get("end_learning_rate").asDouble())
        .withSlowStart(t.get("slow_start_step").asInt(),
            t.get("slow_start_learning_rate").asDouble(),
            t.get("slow_start_burnin").asText().equals("linear"));
    Optimizer optimizer = t.get("optimizer").asText().equals("adam")
        ? Optimizer.adam(t.get("adam_learning_rate").asDouble(), t.get("adam_epsilon").asDouble())
        : Optimizer.momentum(t.get("momentum").asDouble());
    List<Double> classWeights = new ArrayList<>();
    t.get("class_weights").forEach(w -> classWeights.add(w.asDouble()));
    LossConfig loss = new LossConfig(t.get("ignore_label").asInt(), classWeights,
        t.get("top_k_percent_pixels").asDouble(), t.get("hard_example_mining_step").asInt());
    return TrainConfig.builder(model)
        .steps(t.get("total_steps").asInt())
        .batchSize(t.get("batch_size").asInt())
        .learningRate(schedule)
        .optimizer(optimizer)
        .weightDecay(t.get("weight_decay").asDouble())
        .lastLayerGradientMultiplier(t.get("last_layer_gradient_multiplier").asDouble())
        .lastLayersContainLogitsOnly(t.get("last_layers_contain_logits_only").asBoolean())
        .fineTuneBatchNorm(t.get("fine_tune_batch_norm").asBoolean())
        .dropout(false)
        .loss(loss)
        .build();
  }
}
