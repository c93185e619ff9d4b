package dev.deeplab.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.BatchNormSpec;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.testing.GoldenCases;
import dev.deeplab.testing.Npy;
import dev.deeplab.testing.ReferenceWeights;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * The frozen inference network ({@code ModelGraph.buildFrozen}: weights built in as constants,
 * batch norm folded into the convolution before it at build time) against the independent float64
 * reference of {@link GoldenParityTest} and against the network that reads its variables, on the
 * architectures whose layers fold differently: depthwise and dense convs, convs with biases and no
 * batch norm (the 1×1 convs built as a MatMul: {@code PointwiseConvTest}), squeeze-and-excitation,
 * [1,3] dense-prediction-cell kernels, NAS cells (a batch norm on its own, pointwise weights). The
 * frozen network is run with its variables never initialised: a layer that still read one would
 * fail.
 */
class FoldedBatchNormTest {

  /** s = gamma / sqrt(var + eps), W' = W·s per output channel, b = beta - mean·s, by hand. */
  @Test
  void foldsScaleIntoTheLastAxisAndShiftIntoTheBias() {
    float[] gamma = {1, 6};
    float[] beta = {1, -1};
    float[] mean = {4, 0.5f};
    float[] variance = {3, 8};
    // eps 1: s = {1/2, 6/3} = {0.5, 2}; b = {1 - 4·0.5, -1 - 0.5·2} = {-1, -2}
    FloatTensor dense = new FloatTensor(new long[] {1, 1, 2, 2}, new float[] {1, 2, 3, 4});
    FloatTensor[] d = BatchNormSpec.foldInto(dense, gamma, beta, mean, variance, 1f);
    assertArrayEquals(new float[] {0.5f, 4, 1.5f, 8}, d[0].data());
    assertArrayEquals(new long[] {1, 1, 2, 2}, d[0].shape());
    assertArrayEquals(new float[] {-1, -2}, d[1].data());
    // depthwise [kh, kw, C, 1]: the channel is C, still the fastest-varying index
    FloatTensor depthwise = new FloatTensor(new long[] {1, 2, 2, 1}, new float[] {1, 2, 3, 4});
    FloatTensor[] w = BatchNormSpec.foldInto(depthwise, gamma, beta, mean, variance, 1f);
    assertArrayEquals(new float[] {0.5f, 4, 1.5f, 8}, w[0].data());
    assertArrayEquals(new float[] {-1, -2}, w[1].data());
  }

  @ParameterizedTest
  @ValueSource(strings = {"mobilenet_v2_os16_65", "mobilenet_v2_dpc_kernels_dm05_os16_65",
      "resnet_v1_18_nobn_logits3_os16_dec8_64",
      "mobilenet_v3_small_seg_os16_dec84_sum_65",
      "mobilenet_edgetpu_os32_64", "nas_hnasnet_f8_os8_remove32_65"})
  void frozenNetworkMatchesReferenceAndVariableNetwork(String name) throws Exception {
    Path dir = GoldenParityTest.GOLDEN.resolve(name);
    ModelConfig config = GoldenCases.configOf(
        new ObjectMapper().readTree(dir.resolve("config.json").toFile()));
    Npy.Array expected = Npy.read(dir.resolve("logits.npy"));
    FloatTensor input = ReferenceWeights.input(config.cropHeight(), config.cropWidth());
    float[] variables;
    Map<String, FloatTensor> weights;
    try (ModelGraph model = ModelGraph.build(config);
        Session session = new Session(model.graph())) {
      weights = ReferenceWeights.forVariables(model.variables().values());
      Checkpoints.restore(session, weights);
      variables = logits(session, model, input);
    }
    float[] frozen;
    try (ModelGraph model = ModelGraph.buildFrozen(config, weights);
        Session session = new Session(model.graph())) {
      assertEquals(weights.keySet(), model.variables().keySet(),
          "the frozen graph keeps every variable under its official name");
      boolean nas = config.variant().family() == ModelVariant.Family.NAS;
      assertEquals(0, count(model.graph(), "Rsqrt"), "batch norm computed at run time");
      if (!nas) {
        assertEquals(0, count(model.graph(), "FusedBatchNormV3"), "batch norm left unfolded");
      }
      // no restore, no initialisation: reading any variable would fail
      frozen = logits(session, model, input);
    }
    assertEquals(expected.data().length, frozen.length);
    double diff = 0;
    double ref = 0;
    double maxVsVariables = 0;
    double scale = 0;
    for (int i = 0; i < frozen.length; i++) {
      double d = frozen[i] - expected.data()[i];
      diff += d * d;
      ref += expected.data()[i] * expected.data()[i];
      maxVsVariables = Math.max(maxVsVariables, Math.abs(frozen[i] - variables[i]));
      scale = Math.max(scale, Math.abs(variables[i]));
    }
    double rel = Math.sqrt(diff / ref);
    System.out.printf("%s: frozen vs reference relative error %.3g; max |frozen - variables| "
        + "%.3g of max |logit| %.3g%n", name, rel, maxVsVariables, scale);
    // float32 noise: <= 6e-6 relative to the reference over these cases, <= 1.6e-5 of the
    // largest logit against the variable network
    assertTrue(rel <= 2e-5, name + ": relative error " + rel);
    assertTrue(maxVsVariables <= 5e-5 * scale, name + ": frozen differs from the variable "
        + "network by " + maxVsVariables);
  }

  private static float[] logits(Session session, ModelGraph model, FloatTensor input) {
    try (TFloat32 x = TFloat32.tensorOf(Shape.of(input.shape()),
            DataBuffers.of(input.data(), true, false));
        Result r = session.runner().feed(model.pixels(), x).fetch(model.logits()).run()) {
      TFloat32 t = (TFloat32) r.get(0);
      float[] out = new float[(int) t.shape().size()];
      t.copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  private static long count(Graph g, String type) {
    long n = 0;
    for (java.util.Iterator<GraphOperation> it = g.operations(); it.hasNext(); ) {
      n += it.next().type().equals(type) ? 1 : 0;
    }
    return n;
  }
}
