package dev.deeplab.internal.tflite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.weights.FloatTensor;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Tests of {@link TfliteDeepLabImporter} on the two bundled files: official names and shapes
 * (derived here from the MobileNetV2 definition, independently of the importer), inferred metadata,
 * layouts, and a numeric check that the emitted BatchNorm reproduces the folded TFLite conv + bias
 * exactly.
 */
class TfliteDeepLabImporterTest {

  private static final Map<BundledDeepLabModel, TfliteDeepLabWeights> IMPORTED =
      new LinkedHashMap<>();
  private static final Map<BundledDeepLabModel, TfliteModel> MODELS = new LinkedHashMap<>();

  @BeforeAll
  static void load() throws Exception {
    for (BundledDeepLabModel b : BundledDeepLabModel.values()) {
      MODELS.put(b, TfliteModel.parse(b.readBytes()));
      IMPORTED.put(b, TfliteDeepLabImporter.importModel(MODELS.get(b)));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Expected variables, from the MobileNetV2 paper's Table 2 (t, c, n, s) as TF-slim's V2_DEF
  // encodes it, with _make_divisible and DeepLab's divisible_by = min_depth = 8 at dm 1.0, else 1.

  private static int divisible(double v, int divisor) {
    int r = Math.max(divisor, (int) (v + divisor / 2.0) / divisor * divisor);
    return r < 0.9 * v ? r + divisor : r;
  }

  static Map<String, long[]> expectedShapes(double dm, int classes) {
    int div = dm == 1.0 ? 8 : 1;
    Map<String, long[]> s = new LinkedHashMap<>();
    int in = divisible(32 * dm, div);
    convBn(s, "MobilenetV2/Conv", 3, 3, in);
    int[][] tcns = {
      {1, 16, 1}, {6, 24, 2}, {6, 32, 3}, {6, 64, 4}, {6, 96, 3}, {6, 160, 3}, {6, 320, 1}
    };
    int unit = 0;
    for (int[] row : tcns) {
      int out = divisible(row[1] * dm, div);
      for (int r = 0; r < row[2]; r++) {
        String scope = "MobilenetV2/expanded_conv" + (unit == 0 ? "" : "_" + unit);
        unit++;
        int hidden = in;
        if (row[0] != 1) {
          hidden = divisible(in * row[0], 8); // expand_input_by_factor(6): divisible_by 8 always
          convBn(s, scope + "/expand", 1, in, hidden);
        }
        s.put(scope + "/depthwise/depthwise_weights", new long[] {3, 3, hidden, 1});
        bn(s, scope + "/depthwise", hidden);
        convBn(s, scope + "/project", 1, hidden, out);
        in = out;
      }
    }
    convBn(s, "image_pooling", 1, in, 256);
    convBn(s, "aspp0", 1, in, 256);
    convBn(s, "concat_projection", 1, 512, 256);
    s.put("logits/semantic/weights", new long[] {1, 1, 256, classes});
    s.put("logits/semantic/biases", new long[] {classes});
    return s;
  }

  private static void convBn(Map<String, long[]> s, String scope, int k, int in, int out) {
    s.put(scope + "/weights", new long[] {k, k, in, out});
    bn(s, scope, out);
  }

  private static void bn(Map<String, long[]> s, String scope, int c) {
    for (String v : List.of("gamma", "beta", "moving_mean", "moving_variance")) {
      s.put(scope + "/BatchNorm/" + v, new long[] {c});
    }
  }

  // ---------------------------------------------------------------------------------------------

  @ParameterizedTest
  @EnumSource(BundledDeepLabModel.class)
  void everyOfficialVariableWithItsShape(BundledDeepLabModel which) {
    TfliteDeepLabWeights w = IMPORTED.get(which);
    double dm = which == BundledDeepLabModel.MOBILENET_V2_DM10 ? 1.0 : 0.5;
    Map<String, long[]> expected = expectedShapes(dm, 21);
    assertEquals(expected.keySet(), w.variables().keySet());
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      assertArrayEquals(e.getValue(), w.variable(e.getKey()).shape(), e.getKey());
    }
    assertEquals(272, w.variables().size());
  }

  @Test
  void channelCountsSpotChecks() {
    TfliteDeepLabWeights d10 = IMPORTED.get(BundledDeepLabModel.MOBILENET_V2_DM10);
    assertArrayEquals(new long[] {3, 3, 3, 32}, d10.variable("MobilenetV2/Conv/weights").shape());
    assertArrayEquals(
        new long[] {3, 3, 32, 1},
        d10.variable("MobilenetV2/expanded_conv/depthwise/depthwise_weights").shape());
    assertArrayEquals(
        new long[] {1, 1, 960, 320},
        d10.variable("MobilenetV2/expanded_conv_16/project/weights").shape());

    // dm 0.5: divisible_by = min_depth = 1, expansion still rounded to multiples of 8
    TfliteDeepLabWeights d05 = IMPORTED.get(BundledDeepLabModel.MOBILENET_V2_DM05);
    int[] outs = {8, 12, 12, 16, 16, 16, 32, 32, 32, 32, 48, 48, 48, 80, 80, 80, 160};
    int[] hidden = {16, 48, 72, 72, 96, 96, 96, 192, 192, 192, 192, 288, 288, 288, 480, 480, 480};
    assertArrayEquals(new long[] {3, 3, 3, 16}, d05.variable("MobilenetV2/Conv/weights").shape());
    for (int u = 0; u < 17; u++) {
      String scope = "MobilenetV2/expanded_conv" + (u == 0 ? "" : "_" + u);
      long[] p = d05.variable(scope + "/project/weights").shape();
      assertEquals(outs[u], p[3], scope);
      assertEquals(hidden[u], p[2], scope);
    }
    assertArrayEquals(new long[] {1, 1, 160, 256}, d05.variable("aspp0/weights").shape());
  }

  @ParameterizedTest
  @EnumSource(BundledDeepLabModel.class)
  void inferredMetadata(BundledDeepLabModel which) {
    TfliteDeepLabWeights w = IMPORTED.get(which);
    assertEquals(which == BundledDeepLabModel.MOBILENET_V2_DM10 ? 1.0f : 0.5f, w.depthMultiplier());
    assertEquals(21, w.numClasses());
    assertEquals(513, w.inputHeight());
    assertEquals(513, w.inputWidth());
    assertEquals(1f / 128, w.inputScale());
    assertEquals(128, w.inputZeroPoint());
    assertEquals(16, w.outputStride());
    assertArrayEquals(new int[] {33, 33}, w.imagePoolingKernel());
    assertEquals(256, w.asppDepth());
    assertEquals(1 + 2 + 16 * 3 + 4, w.layers().size()); // Conv, expanded_conv, 16 blocks, head
    TfliteDeepLabWeights.ConvLayer last = w.layers().get(w.layers().size() - 1);
    assertEquals("logits/semantic", last.scope());
    assertEquals(TfliteOptions.Activation.NONE, last.activation());
    for (TfliteDeepLabWeights.ConvLayer l : w.layers()) {
      boolean atrous = l.scope().matches("MobilenetV2/expanded_conv_1[456]/depthwise");
      assertEquals(atrous ? 2 : 1, l.dilation(), l.scope());
      if (l.scope().endsWith("/project")) {
        assertEquals(TfliteOptions.Activation.NONE, l.activation(), l.scope());
      } else if (l.scope().startsWith("MobilenetV2/")) {
        assertEquals(TfliteOptions.Activation.RELU6, l.activation(), l.scope());
        assertEquals(TfliteDeepLabImporter.BACKBONE_BATCH_NORM_EPSILON, l.batchNormEpsilon());
      } else if (!l.scope().equals("logits/semantic")) {
        assertEquals(TfliteOptions.Activation.RELU, l.activation(), l.scope());
        assertEquals(TfliteDeepLabImporter.HEAD_BATCH_NORM_EPSILON, l.batchNormEpsilon());
      }
    }
  }

  /** gamma = 1, mean = 0 and gamma / sqrt(var + eps) == 1.0f exactly, with the layer's eps. */
  @ParameterizedTest
  @EnumSource(BundledDeepLabModel.class)
  void batchNormIsExactIdentityScale(BundledDeepLabModel which) {
    TfliteDeepLabWeights w = IMPORTED.get(which);
    for (Map.Entry<String, FloatTensor> e : w.variables().entrySet()) {
      String name = e.getKey();
      if (!name.endsWith("/BatchNorm/gamma")) {
        continue;
      }
      String scope = name.substring(0, name.length() - "/BatchNorm/gamma".length());
      float eps = scope.startsWith("MobilenetV2/") ? 1e-3f : 1e-5f;
      float[] gamma = e.getValue().data();
      float[] mean = w.variable(scope + "/BatchNorm/moving_mean").data();
      float[] var = w.variable(scope + "/BatchNorm/moving_variance").data();
      for (int c = 0; c < gamma.length; c++) {
        assertEquals(1f, gamma[c]);
        assertEquals(0f, mean[c]);
        assertEquals(1f, var[c] + eps, 0f, scope);
        assertEquals(1f, gamma[c] / (float) Math.sqrt(var[c] + eps), 0f, scope);
        assertEquals(1f - eps, var[c], 1e-7f, scope);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(floats = {1e-3f, 1e-5f, 1.001e-5f, 1e-2f, 3e-4f})
  void foldedVarianceCancelsEpsilon(float eps) {
    float var = TfliteDeepLabImporter.foldedMovingVariance(eps);
    assertEquals(1f, var + eps, 0f);
    assertEquals(1f, 1f / (float) Math.sqrt(var + eps), 0f);
  }

  /** CONV_2D [out,kh,kw,in] → [kh,kw,in,out], against raw bytes dequantised here. */
  @Test
  void convFilterTransposed() {
    TfliteModel m = MODELS.get(BundledDeepLabModel.MOBILENET_V2_DM10);
    TfliteTensor t =
        TfliteModelTest.tensorNamed(
            m.mainSubGraph(), "MobilenetV2/Conv/weights_quant/FakeQuantWithMinMaxVars");
    float[][][][] ohwi = rawConvFilter(m, t);
    FloatTensor hwio =
        IMPORTED.get(BundledDeepLabModel.MOBILENET_V2_DM10).variable("MobilenetV2/Conv/weights");
    for (int o = 0; o < 32; o++) {
      for (int y = 0; y < 3; y++) {
        for (int x = 0; x < 3; x++) {
          for (int i = 0; i < 3; i++) {
            assertEquals(ohwi[o][y][x][i], hwio.data()[((y * 3 + x) * 3 + i) * 32 + o]);
          }
        }
      }
    }
  }

  /**
   * A file whose CONCATENATION stacks [aspp0, image_pooling] must still yield concat_projection
   * weights in the official [image_pooling, aspp0] input order.
   */
  @Test
  void concatOrderIsNormalisedToOfficialOrder() throws Exception {
    BundledDeepLabModel which = BundledDeepLabModel.MOBILENET_V2_DM05;
    TfliteOperator concat =
        MODELS.get(which).mainSubGraph().operators().stream()
            .filter(o -> o.name().equals("CONCATENATION"))
            .findFirst()
            .orElseThrow();
    int[] in = concat.inputs();
    byte[] file = which.readBytes();
    ByteBuffer bb = ByteBuffer.wrap(file).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int at = -1;
    for (int p = 0; p + 12 <= file.length; p += 4) { // vectors are 4-byte aligned
      if (bb.getInt(p) == 2 && bb.getInt(p + 4) == in[0] && bb.getInt(p + 8) == in[1]) {
        assertEquals(-1, at, "inputs vector of the concat is not unique");
        at = p;
      }
    }
    assertTrue(at > 0);
    bb.putInt(at + 4, in[1]).putInt(at + 8, in[0]);

    FloatTensor swapped =
        TfliteDeepLabImporter.importBytes(file).variable("concat_projection/weights");
    FloatTensor original = IMPORTED.get(which).variable("concat_projection/weights");
    for (int j = 0; j < 512; j++) {
      for (int o = 0; o < 256; o++) {
        assertEquals(original.data()[((j + 256) % 512) * 256 + o], swapped.data()[j * 256 + o]);
      }
    }
  }

  @Test
  void permuteInputsReordersChannels() {
    // [1,1,4,2]: value = 10*in + out; move input channels {2,3} in front of {0,1}
    float[] v = new float[8];
    for (int i = 0; i < 4; i++) {
      for (int o = 0; o < 2; o++) {
        v[i * 2 + o] = 10 * i + o;
      }
    }
    FloatTensor p =
        WeightLayouts.permuteInputs(
            new FloatTensor(new long[] {1, 1, 4, 2}, v), new int[] {2, 3, 0, 1});
    assertArrayEquals(new float[] {20, 21, 30, 31, 0, 1, 10, 11}, p.data());
  }

  // ---------------------------------------------------------------------------------------------
  // Folded batch norm, numerically: conv(x, weights) then inference batch norm with the emitted
  // variables must equal conv(x, dequantised TFLite filter) + dequantised TFLite bias, computed
  // here by hand from the raw bytes. Both sides sum in the same order, so equality is exact.

  @ParameterizedTest
  @ValueSource(
      strings = {
        "MobilenetV2/Conv",
        "MobilenetV2/expanded_conv/depthwise",
        "MobilenetV2/expanded_conv_7/project",
        "concat_projection",
        "logits/semantic"
      })
  void foldedBatchNormReproducesTfliteConvPlusBias(String scope) {
    for (BundledDeepLabModel which : BundledDeepLabModel.values()) {
      TfliteModel m = MODELS.get(which);
      TfliteDeepLabWeights w = IMPORTED.get(which);
      TfliteOperator op = convOp(m.mainSubGraph(), scope);
      boolean depthwise = op.name().equals("DEPTHWISE_CONV_2D");
      float[][][][] raw = rawConvFilter(m, m.mainSubGraph().tensor(op.inputs()[1]));
      float[] bias = rawBias(m, m.mainSubGraph().tensor(op.inputs()[2]));
      int k = raw[0].length;
      int cin = raw[0][0][0].length; // [out,k,k,in] or [1,k,k,channels]
      int cout = depthwise ? cin : raw.length;
      int size = k + 2; // VALID output 3×3
      float[][][] x = randomInput(size, cin, scope.hashCode());

      FloatTensor filter = w.variable(scope + (depthwise ? "/depthwise_weights" : "/weights"));
      boolean hasBn = !scope.equals("logits/semantic");
      float eps = scope.startsWith("MobilenetV2/") ? 1e-3f : 1e-5f;
      for (int oy = 0; oy + k <= size; oy++) {
        for (int ox = 0; ox + k <= size; ox++) {
          for (int o = 0; o < cout; o++) {
            float ref = 0f;
            float ours = 0f;
            for (int y = 0; y < k; y++) {
              for (int xx = 0; xx < k; xx++) {
                if (depthwise) {
                  ref += x[oy + y][ox + xx][o] * raw[0][y][xx][o];
                  ours += x[oy + y][ox + xx][o] * filter.data()[(y * k + xx) * cin + o];
                } else {
                  for (int i = 0; i < cin; i++) {
                    ref += x[oy + y][ox + xx][i] * raw[o][y][xx][i];
                    ours +=
                        x[oy + y][ox + xx][i] * filter.data()[((y * k + xx) * cin + i) * cout + o];
                  }
                }
              }
            }
            ref += bias[o];
            if (hasBn) {
              float gamma = w.variable(scope + "/BatchNorm/gamma").data()[o];
              float beta = w.variable(scope + "/BatchNorm/beta").data()[o];
              float mean = w.variable(scope + "/BatchNorm/moving_mean").data()[o];
              float var = w.variable(scope + "/BatchNorm/moving_variance").data()[o];
              float multiplier = gamma / (float) Math.sqrt(var + eps); // TF: gamma * rsqrt(v+eps)
              ours = (ours - mean) * multiplier + beta;
            } else {
              ours += w.variable(scope + "/biases").data()[o];
            }
            assertEquals(ref, ours, 0f, which + " " + scope + " channel " + o);
          }
        }
      }
    }
  }

  private static TfliteOperator convOp(TfliteSubGraph g, String scope) {
    for (TfliteOperator op : g.operators()) {
      if (op.name().endsWith("CONV_2D")
          && g.tensor(op.inputs()[1])
              .name()
              .endsWith(scope + "/weights_quant/" + "FakeQuantWithMinMaxVars")) {
        return op;
      }
    }
    throw new AssertionError("no conv op for " + scope);
  }

  /** A uint8 TFLite filter [d0,kh,kw,d3], dequantised by hand: s * (q - zp). */
  private static float[][][][] rawConvFilter(TfliteModel m, TfliteTensor t) {
    assertEquals(TensorType.UINT8, t.type());
    int[] s = t.shape();
    double scale = t.quantization().scale()[0];
    long zp = t.quantization().zeroPoint()[0];
    ByteBuffer data = m.tensorData(t);
    float[][][][] w = new float[s[0]][s[1]][s[2]][s[3]];
    int n = 0;
    for (int a = 0; a < s[0]; a++) {
      for (int y = 0; y < s[1]; y++) {
        for (int x = 0; x < s[2]; x++) {
          for (int c = 0; c < s[3]; c++) {
            w[a][y][x][c] = (float) (scale * ((data.get(n++) & 0xFF) - zp));
          }
        }
      }
    }
    return w;
  }

  /** An int32 TFLite bias dequantised by hand: s * q (zero point 0). */
  private static float[] rawBias(TfliteModel m, TfliteTensor t) {
    assertEquals(TensorType.INT32, t.type());
    assertEquals(0, t.quantization().zeroPoint()[0]);
    double scale = t.quantization().scale()[0];
    ByteBuffer data = m.tensorData(t);
    float[] b = new float[t.shape()[0]];
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) (scale * data.getInt(4 * i));
    }
    return b;
  }

  private static float[][][] randomInput(int size, int channels, long seed) {
    Random r = new Random(seed);
    float[][][] x = new float[size][size][channels];
    for (float[][] row : x) {
      for (float[] px : row) {
        for (int c = 0; c < channels; c++) {
          px[c] = r.nextFloat() * 2 - 1;
        }
      }
    }
    return x;
  }

  @Test
  void parameterCountsMatchTheReadme() {
    assertEquals(2.10e6, parameters(IMPORTED.get(BundledDeepLabModel.MOBILENET_V2_DM10)), 0.01e6);
    assertEquals(0.69e6, parameters(IMPORTED.get(BundledDeepLabModel.MOBILENET_V2_DM05)), 0.01e6);
  }

  /** Filters and biases/betas: what the TFLite file stores (BN constants are synthesised). */
  private static long parameters(TfliteDeepLabWeights w) {
    return w.variables().entrySet().stream()
        .filter(e -> !e.getKey().matches(".*/(gamma|moving_mean|moving_variance)$"))
        .mapToLong(e -> e.getValue().size())
        .sum();
  }

  @Test
  void variablesAreUnmodifiable() {
    TfliteDeepLabWeights w = IMPORTED.get(BundledDeepLabModel.MOBILENET_V2_DM05);
    assertTrue(w.variables().containsKey("aspp0/weights"));
    assertThrows(UnsupportedOperationException.class, () -> w.variables().remove("aspp0/weights"));
  }
}
