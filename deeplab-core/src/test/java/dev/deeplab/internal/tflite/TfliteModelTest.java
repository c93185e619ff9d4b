package dev.deeplab.internal.tflite;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.flatbuffers.FlatBufferBuilder;
import dev.deeplab.internal.weights.FloatTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Tests of the TFLite reader: the bundled DeepLab files (tensors, operator order, options, raw
 * values) and a tiny model written with {@link FlatBufferBuilder} that exercises what the DeepLab
 * files do not (per-axis int8, newer operator codes, custom ops, optional inputs).
 */
class TfliteModelTest {

  static TfliteModel bundled(BundledDeepLabModel which) throws Exception {
    return TfliteModel.parse(which.readBytes());
  }

  static TfliteTensor tensorNamed(TfliteSubGraph g, String suffix) {
    return g.tensors().stream()
        .filter(t -> t.name().endsWith(suffix))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no tensor named *" + suffix));
  }

  @ParameterizedTest
  @EnumSource(BundledDeepLabModel.class)
  void bundledFilesParse(BundledDeepLabModel which) throws Exception {
    TfliteModel m = bundled(which);
    assertEquals(3, m.version());
    assertEquals(1, m.subgraphs().size());
    TfliteSubGraph g = m.mainSubGraph();
    assertEquals(1, g.inputs().length);
    TfliteTensor in = g.tensor(g.inputs()[0]);
    assertEquals("MobilenetV2/MobilenetV2/input", in.name());
    assertEquals(TensorType.UINT8, in.type());
    assertArrayEquals(new int[] {1, 513, 513, 3}, in.shape());
    assertEquals(1f / 128, in.quantization().scale()[0]);
    assertEquals(128, in.quantization().zeroPoint()[0]);
    TfliteTensor out = g.tensor(g.outputs()[0]);
    assertEquals("ArgMax", out.name());
    assertEquals(TensorType.INT64, out.type());
    assertArrayEquals(new int[] {1, 513, 513}, out.shape());
    for (TfliteTensor t : g.tensors()) {
      assertTrue(t.buffer() < m.buffers().size());
      if (t.quantization().isQuantized()) {
        assertTrue(!t.quantization().isPerAxis(), "per-tensor quantisation only: " + t);
      }
    }
  }

  /**
   * The documented op order: per MobileNetV2 block (expand), depthwise, project (+ residual ADD
   * when stride 1 and channels unchanged), then the DeepLabv3 head.
   */
  @ParameterizedTest
  @EnumSource(BundledDeepLabModel.class)
  void operatorsInDocumentedOrder(BundledDeepLabModel which) throws Exception {
    List<String> expected = new ArrayList<>(List.of("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D"));
    int[][] blocks = {{24, 2, 2}, {32, 3, 2}, {64, 4, 2}, {96, 3, 1}, {160, 3, 2}, {320, 1, 1}};
    for (int[] b : blocks) {
      for (int r = 0; r < b[1]; r++) {
        expected.addAll(List.of("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D"));
        if (r > 0) {
          expected.add("ADD"); // repeats keep stride 1 and the channel count
        }
      }
    }
    expected.addAll(
        List.of(
            "AVERAGE_POOL_2D",
            "CONV_2D",
            "CONV_2D",
            "RESIZE_BILINEAR",
            "QUANTIZE",
            "CONCATENATION",
            "CONV_2D",
            "CONV_2D",
            "RESIZE_BILINEAR",
            "RESIZE_BILINEAR",
            "ARG_MAX"));
    List<String> actual =
        bundled(which).mainSubGraph().operators().stream().map(TfliteOperator::name).toList();
    assertEquals(expected, actual);
  }

  @ParameterizedTest
  @EnumSource(BundledDeepLabModel.class)
  void optionsDecoded(BundledDeepLabModel which) throws Exception {
    TfliteSubGraph g = bundled(which).mainSubGraph();
    List<TfliteOperator> ops = g.operators();
    TfliteOptions.Conv2D stem = assertInstanceOf(TfliteOptions.Conv2D.class, ops.get(0).options());
    assertEquals(
        new TfliteOptions.Conv2D(
            TfliteOptions.Padding.SAME, 2, 2, 1, 1, TfliteOptions.Activation.RELU6),
        stem);
    TfliteOperator pool =
        ops.stream().filter(o -> o.name().equals("AVERAGE_POOL_2D")).findFirst().orElseThrow();
    assertEquals(
        new TfliteOptions.Pool2D(
            TfliteOptions.Padding.VALID, 1, 1, 33, 33, TfliteOptions.Activation.NONE),
        pool.options());
    for (TfliteOperator o : ops) {
      if (o.name().equals("RESIZE_BILINEAR")) {
        assertEquals(new TfliteOptions.ResizeBilinear(true, false), o.options());
      }
      if (o.name().equals("ARG_MAX")) {
        assertEquals(new TfliteOptions.ArgMax(TensorType.INT64), o.options());
      }
      if (o.name().equals("DEPTHWISE_CONV_2D")) {
        var d = (TfliteOptions.DepthwiseConv2D) o.options();
        String w = g.tensor(o.inputs()[1]).name();
        boolean atrous =
            w.contains("expanded_conv_14/")
                || w.contains("expanded_conv_15/")
                || w.contains("expanded_conv_16/");
        assertEquals(atrous ? 2 : 1, d.dilationH(), w);
        assertEquals(d.dilationH(), d.dilationW(), w);
      }
    }
  }

  /** Raw bytes at known file offsets (checked with {@code od}) and their dequantised values. */
  @Test
  void dequantisesRawValuesByHand() throws Exception {
    byte[] bytes = BundledDeepLabModel.MOBILENET_V2_DM10.readBytes();
    TfliteModel m = TfliteModel.parse(bytes);
    TfliteSubGraph g = m.mainSubGraph();

    TfliteTensor w = tensorNamed(g, "MobilenetV2/Conv/weights_quant/FakeQuantWithMinMaxVars");
    assertEquals(TensorType.UINT8, w.type());
    assertArrayEquals(new int[] {32, 3, 3, 3}, w.shape());
    assertEquals(0.024886128f, w.quantization().scale()[0]);
    assertEquals(146, w.quantization().zeroPoint()[0]);
    assertEquals(2115852, m.buffers().get(w.buffer()).offset());
    int[] q = {163, 123, 151, 162};
    FloatTensor deq = m.dequantize(w);
    for (int i = 0; i < q.length; i++) {
      assertEquals(q[i], bytes[2115852 + i] & 0xFF);
      assertEquals((float) (0.024886128f * (double) (q[i] - 146)), deq.data()[i]);
    }
    assertEquals(0.42306417f, deq.data()[0], 1e-7f);

    TfliteTensor b = tensorNamed(g, "MobilenetV2/Conv/BatchNorm_Fold/bias");
    assertEquals(TensorType.INT32, b.type());
    ByteBuffer raw = ByteBuffer.wrap(bytes, 2116892, 16).order(ByteOrder.LITTLE_ENDIAN);
    int[] qb = {1209, -9369, -7249, 13289};
    float sb = b.quantization().scale()[0];
    assertEquals(0, b.quantization().zeroPoint()[0]);
    FloatTensor bias = m.dequantize(b);
    for (int i = 0; i < qb.length; i++) {
      assertEquals(qb[i], raw.getInt());
      assertEquals((float) (sb * (double) qb[i]), bias.data()[i]);
    }
  }

  /** As the README states: bias scale = input scale × filter scale, zero point 0. */
  @ParameterizedTest
  @EnumSource(BundledDeepLabModel.class)
  void biasScaleIsInputTimesFilterScale(BundledDeepLabModel which) throws Exception {
    TfliteSubGraph g = bundled(which).mainSubGraph();
    for (TfliteOperator op : g.operators()) {
      if (op.name().endsWith("CONV_2D")) {
        double in = g.tensor(op.inputs()[0]).quantization().scale()[0];
        double w = g.tensor(op.inputs()[1]).quantization().scale()[0];
        TfliteQuantization b = g.tensor(op.inputs()[2]).quantization();
        assertEquals(in * w, b.scale()[0], 1e-6 * in * w, op.toString());
        assertEquals(0, b.zeroPoint()[0]);
      }
    }
  }

  @Test
  void tinyModelRoundTrip() throws Exception {
    TfliteModel m = TfliteModel.parse(TinyModel.build());
    assertEquals("tiny", m.description());
    TfliteSubGraph g = m.mainSubGraph();
    assertEquals("main", g.name());
    assertEquals(6, g.tensors().size());
    assertEquals(
        List.of("CONV_2D", "GELU", "MyOp"),
        g.operators().stream().map(TfliteOperator::name).toList());
    assertEquals(
        new TfliteOptions.Conv2D(
            TfliteOptions.Padding.VALID, 2, 1, 4, 3, TfliteOptions.Activation.RELU6),
        g.operators().get(0).options());
    assertNull(g.operators().get(1).options());
    assertArrayEquals(new int[] {-1, 4}, g.operators().get(2).inputs());
    assertEquals(2, m.operatorCodes().get(0).version());

    // per-axis int8 along dimension 0: scales {0.5, 0.25}, zero points {0, 1}
    TfliteTensor w = g.tensor(1);
    assertTrue(w.quantization().isPerAxis());
    FloatTensor deq = m.dequantize(w);
    assertArrayEquals(new long[] {2, 1, 1, 3}, deq.shape());
    assertArrayEquals(
        new float[] {0f, 1f, -2f, 0.25f * (3 - 1), 0.25f * (5 - 1), 0.25f * (-7 - 1)}, deq.data());
    assertArrayEquals(new float[] {12.5f, -6.25f}, m.dequantize(g.tensor(2)).data());
    assertArrayEquals(new float[] {1.5f, -2.25f}, m.dequantize(g.tensor(4)).data());
    assertArrayEquals(new float[] {-64f, 0f, 63.5f}, m.dequantize(g.tensor(5)).data());
  }

  @Test
  void builtinOperatorNamesFollowTheSchemaCodes() {
    assertEquals("ADD", BuiltinOperators.name(0));
    assertEquals("CONV_2D", BuiltinOperators.name(BuiltinOperators.CONV_2D));
    assertEquals("DEPTHWISE_CONV_2D", BuiltinOperators.name(BuiltinOperators.DEPTHWISE_CONV_2D));
    assertEquals("CUSTOM", BuiltinOperators.name(BuiltinOperators.CUSTOM));
    assertEquals("ARG_MAX", BuiltinOperators.name(56));
    assertEquals("QUANTIZE", BuiltinOperators.name(114));
    assertEquals("GELU", BuiltinOperators.name(150));
    assertEquals("STABLEHLO_CASE", BuiltinOperators.name(209));
    assertEquals("BUILTIN_210", BuiltinOperators.name(210));
  }

  /** Per-axis quantisation along the last axis (the layout of TFLite depthwise filters). */
  @Test
  void perAxisAlongLastDimension() throws Exception {
    TfliteTensor t =
        new TfliteTensor(
            0,
            "dw",
            TensorType.INT8,
            new int[] {1, 2, 1, 3},
            1,
            new TfliteQuantization(
                new float[0], new float[0], new float[] {1f, 2f, 4f}, new long[] {0, 0, 0}, 3));
    ByteBuffer data = ByteBuffer.wrap(new byte[] {1, 1, 1, -1, -1, -1});
    assertArrayEquals(
        new float[] {1, 2, 4, -1, -2, -4}, TfliteDequantizer.dequantize(t, data).data());
  }

  /**
   * Writes a small TFLite flatbuffer with {@link FlatBufferBuilder}, following the field numbers of
   * the TFLite schema, so the reader can be checked against values it did not produce.
   */
  static final class TinyModel {

    private TinyModel() {}

    static byte[] build() {
      FlatBufferBuilder b = new FlatBufferBuilder(1024);
      int[] buffers = {
        buffer(b, new byte[0]),
        buffer(b, new byte[] {0, 2, -4, 3, 5, -7}),
        buffer(b, le(100, -50)),
        buffer(b, leFloats(1.5f, -2.25f)),
        buffer(b, new byte[] {0, (byte) 128, (byte) 255}),
      };
      int[] tensors = {
        tensor(b, "input", 0, new int[] {1, 4, 4, 3}, 0, 0),
        tensor(
            b,
            "w",
            9,
            new int[] {2, 1, 1, 3},
            1,
            quant(b, new float[] {0.5f, 0.25f}, new long[] {0, 1}, 0)),
        tensor(b, "b", 2, new int[] {2}, 2, quant(b, new float[] {0.125f}, new long[] {0}, 0)),
        tensor(b, "out", 0, new int[] {1, 2, 2, 2}, 0, 0),
        tensor(b, "f", 0, new int[] {2}, 3, 0),
        tensor(b, "u", 3, new int[] {3}, 4, quant(b, new float[] {0.5f}, new long[] {128}, 0)),
      };
      int[] codes = {
        opcode(b, 3, 0, null, 2), opcode(b, 127, 150, null, 1), opcode(b, 32, 0, "MyOp", 1)
      };
      b.startTable(7); // Conv2DOptions
      b.addByte(0, (byte) 1, 0); // VALID
      b.addInt(1, 1, 0); // stride_w
      b.addInt(2, 2, 0); // stride_h
      b.addByte(3, (byte) 3, 0); // RELU6
      b.addInt(4, 3, 1); // dilation_w
      b.addInt(5, 4, 1); // dilation_h
      int convOptions = b.endTable();
      int[] ops = {
        operator(b, 0, new int[] {0, 1, 2}, new int[] {3}, 1, convOptions),
        operator(b, 1, new int[] {3}, new int[] {4}, 0, 0),
        operator(b, 2, new int[] {-1, 4}, new int[] {5}, 0, 0),
      };
      int tensorsVec = b.createVectorOfTables(tensors);
      int opsVec = b.createVectorOfTables(ops);
      int inputs = ints(b, 0);
      int outputs = ints(b, 5);
      int name = b.createString("main");
      b.startTable(5);
      b.addOffset(0, tensorsVec, 0);
      b.addOffset(1, inputs, 0);
      b.addOffset(2, outputs, 0);
      b.addOffset(3, opsVec, 0);
      b.addOffset(4, name, 0);
      int subgraph = b.endTable();
      int codesVec = b.createVectorOfTables(codes);
      int subgraphsVec = b.createVectorOfTables(new int[] {subgraph});
      int desc = b.createString("tiny");
      int buffersVec = b.createVectorOfTables(buffers);
      b.startTable(5);
      b.addInt(0, 3, 0);
      b.addOffset(1, codesVec, 0);
      b.addOffset(2, subgraphsVec, 0);
      b.addOffset(3, desc, 0);
      b.addOffset(4, buffersVec, 0);
      b.finish(b.endTable(), "TFL3");
      return b.sizedByteArray();
    }

    private static int buffer(FlatBufferBuilder b, byte[] data) {
      int vec = data.length == 0 ? 0 : b.createByteVector(data);
      b.startTable(3);
      if (vec != 0) {
        b.addOffset(0, vec, 0);
      }
      return b.endTable();
    }

    private static int tensor(
        FlatBufferBuilder b, String name, int type, int[] shape, int buffer, int quant) {
      int shapeVec = ints(b, shape);
      int nameStr = b.createString(name);
      b.startTable(11);
      b.addOffset(0, shapeVec, 0);
      b.addByte(1, (byte) type, 0);
      b.addInt(2, buffer, 0);
      b.addOffset(3, nameStr, 0);
      b.addOffset(4, quant, 0);
      return b.endTable();
    }

    private static int quant(FlatBufferBuilder b, float[] scale, long[] zp, int dim) {
      b.startVector(4, scale.length, 4);
      for (int i = scale.length - 1; i >= 0; i--) {
        b.addFloat(scale[i]);
      }
      int scaleVec = b.endVector();
      b.startVector(8, zp.length, 8);
      for (int i = zp.length - 1; i >= 0; i--) {
        b.addLong(zp[i]);
      }
      int zpVec = b.endVector();
      b.startTable(7);
      b.addOffset(2, scaleVec, 0);
      b.addOffset(3, zpVec, 0);
      b.addInt(6, dim, 0);
      return b.endTable();
    }

    private static int opcode(
        FlatBufferBuilder b, int deprecated, int builtin, String custom, int version) {
      int customStr = custom == null ? 0 : b.createString(custom);
      b.startTable(4);
      b.addByte(0, (byte) deprecated, 0);
      b.addOffset(1, customStr, 0);
      b.addInt(2, version, 1);
      b.addInt(3, builtin, 0);
      return b.endTable();
    }

    private static int operator(
        FlatBufferBuilder b, int opcode, int[] in, int[] out, int optionsType, int options) {
      int inVec = ints(b, in);
      int outVec = ints(b, out);
      b.startTable(5);
      b.addInt(0, opcode, 0);
      b.addOffset(1, inVec, 0);
      b.addOffset(2, outVec, 0);
      b.addByte(3, (byte) optionsType, 0);
      b.addOffset(4, options, 0);
      return b.endTable();
    }

    private static int ints(FlatBufferBuilder b, int... v) {
      b.startVector(4, v.length, 4);
      for (int i = v.length - 1; i >= 0; i--) {
        b.addInt(v[i]);
      }
      return b.endVector();
    }

    private static byte[] le(int... v) {
      ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      for (int x : v) {
        bb.putInt(x);
      }
      return bb.array();
    }

    private static byte[] leFloats(float... v) {
      ByteBuffer bb = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      for (float x : v) {
        bb.putFloat(x);
      }
      return bb.array();
    }
  }
}
