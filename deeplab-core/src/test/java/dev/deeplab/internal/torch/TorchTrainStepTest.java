package dev.deeplab.internal.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.train.TrainingGraph;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.testing.ReferenceWeights;
import dev.deeplab.train.Augmentation;
import dev.deeplab.train.TrainConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * One training step of our PyTorch-form networks against PyTorch's {@code model.train()} step
 * ({@code tools/torch/make_train_step_golden.py}, torchvision's code and the VainF reference in
 * float64, formula weights, dropout off): the loss on logits upsampled with {@code
 * align_corners=False}, the gradients of batch-norm weights and biases and conv biases across the
 * network (read back from a plain first momentum step, {@code w1 = w0 - lr·g}, biases at the
 * official gradient multiplier 2), and the running statistics after the step (the network's
 * momentum, unbiased batch variance), each within a few times PyTorch's own float32 error.
 */
class TorchTrainStepTest {
  private static final Path GOLDEN = Path.of("src/test/resources/torch-golden");

  @ParameterizedTest
  @CsvSource({
      "torchvision_deeplabv3_mobilenet_v3_large, 16, 65, "
          + "torchvision_deeplabv3_mobilenet_v3_large_c3_65",
      "vainf_deeplabv3plus_mobilenet, 16, 129, vainf_deeplabv3plus_mobilenet_os16_c3_129"})
  void stepMatchesPytorch(String name, int outputStride, int size, String golden)
      throws Exception {
    JsonNode want = new ObjectMapper().readTree(
        GOLDEN.resolve("train_step_" + golden + ".json").toFile());
    ModelVariant variant = ModelVariant.fromName(name);
    int classes = 3;
    ModelConfig model = TorchNetworks.config(variant, classes, size, outputStride);
    float lr = 1f;
    TrainConfig config = TrainConfig.builder(model).steps(10).batchSize(2).baseLearningRate(lr)
        .weightDecay(0).dropout(false).fineTuneBatchNorm(true)
        .augmentation(Augmentation.none()).build();
    Map<String, FloatTensor> weights;
    try (ModelGraph g = ModelGraph.build(model)) {
      weights = TorchGoldenTest.formulaWeights(g.variables());
    }
    List<String> names = new ArrayList<>();
    want.get("gradients").fieldNames().forEachRemaining(names::add);
    List<String> running = new ArrayList<>();
    want.get("running").fieldNames().forEachRemaining(running::add);
    try (TrainingGraph g = TrainingGraph.build(config)) {
      g.assign(weights);
      float loss = g.step(batch(size, classes)).loss();
      double wantLoss = want.get("loss").asDouble();
      System.out.printf("%s train step: loss %.6f, PyTorch %.6f%n", name, loss, wantLoss);
      assertEquals(wantLoss, loss, 2e-5 * wantLoss);

      List<String> failures = new ArrayList<>();
      List<String> all = new ArrayList<>(names);
      all.addAll(running);
      Map<String, FloatTensor> after = g.read(all);
      for (String n : names) {
        float multiplier = g.variables().get(n).role() == dev.deeplab.internal.nn.Role.BIASES
            ? 2f : 1f;
        float[] w0 = weights.get(n).data();
        float[] w1 = after.get(n).data();
        double scale = 0;
        double worst = 0;
        Iterator<JsonNode> it = want.get("gradients").get(n).elements();
        for (int i = 0; i < w0.length; i++) {
          double expected = it.next().asDouble();
          double got = (w0[i] - w1[i]) / (lr * multiplier);
          scale = Math.max(scale, Math.abs(expected));
          worst = Math.max(worst, Math.abs(got - expected));
        }
        double bound = bound(want, n);
        System.out.printf("  gradient %s: max |g| %.3g, max difference %.3g (bound %.3g)%n", n,
            scale, worst, bound);
        if (worst > bound) {
          failures.add(n + ": gradient differs by " + worst + " (max |g| " + scale + ")");
        }
      }
      for (String n : running) {
        float[] got = after.get(n).data();
        double worst = 0;
        double scale = 0;
        Iterator<JsonNode> it = want.get("running").get(n).elements();
        for (float v : got) {
          double expected = it.next().asDouble();
          scale = Math.max(scale, Math.abs(expected));
          worst = Math.max(worst, Math.abs(v - expected));
        }
        double bound = bound(want, n);
        System.out.printf("  running %s: max %.3g, max difference %.3g (bound %.3g)%n", n, scale,
            worst, bound);
        if (worst > bound) {
          failures.add(n + " differs by " + worst);
        }
      }
      assertTrue(failures.isEmpty(), String.join("\n", failures));
    }
  }

  /**
   * Four times the distance of PyTorch's own float32 step from its float64 one for tensor {@code
   * n} (float32 noise grows towards the input through training-mode batch norm's backward pass:
   * 3% of the largest gradient at VainF's stem), plus the float32 rounding of {@code w0 - w1}.
   */
  private static double bound(JsonNode want, String n) {
    return 4 * want.get("float32_error").get(n).asDouble() + 3e-7;
  }

  /**
   * The golden's batch: the formula image and its mirror; labels {@code (3x + 5y + n) mod C},
   * 255 where {@code (x + y) mod 7 == 0}.
   */
  private static Batch batch(int size, int classes) {
    float[] img = ReferenceWeights.input(size, size).data();
    float[] px = new float[2 * size * size * 3];
    byte[] labels = new byte[2 * size * size];
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        for (int c = 0; c < 3; c++) {
          px[(y * size + x) * 3 + c] = img[(y * size + x) * 3 + c];
          px[((size + y) * size + x) * 3 + c] = img[(y * size + size - 1 - x) * 3 + c];
        }
        for (int n = 0; n < 2; n++) {
          labels[(n * size + y) * size + x] = (byte) ((x + y) % 7 == 0 ? 255
              : (3 * x + 5 * y + n) % classes);
        }
      }
    }
    return new Batch(0, 2, size, size, px, labels, Collections.nCopies(2, "x"));
  }
}
