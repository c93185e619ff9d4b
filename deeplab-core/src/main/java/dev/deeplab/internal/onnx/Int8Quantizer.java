package dev.deeplab.internal.onnx;

import com.google.protobuf.ByteString;
import dev.deeplab.internal.onnx.proto.Onnx.AttributeProto;
import dev.deeplab.internal.onnx.proto.Onnx.GraphProto;
import dev.deeplab.internal.onnx.proto.Onnx.ModelProto;
import dev.deeplab.internal.onnx.proto.Onnx.NodeProto;
import dev.deeplab.internal.onnx.proto.Onnx.TensorProto;
import dev.deeplab.internal.onnx.proto.Onnx.TensorProto.DataType;
import dev.deeplab.internal.onnx.proto.Onnx.TypeProto;
import dev.deeplab.internal.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Static post-training int8 quantisation of one of our ONNX models, in ONNX's QDQ form ({@code
 * QuantizeLinear}/{@code DequantizeLinear} pairs around float operators, which ONNX Runtime fuses
 * into {@code QLinearConv}, {@code QLinearAdd}, ...: <a
 * href="https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html">ONNX
 * Runtime's quantisation guide</a>; the scheme is Jacob et al., "Quantization and Training of Neural
 * Networks for Efficient Integer-Arithmetic-Only Inference", CVPR 2018):
 *
 * <ul>
 *   <li>activations: uint8, asymmetric, one scale and zero point per tensor from the range seen on
 *       calibration images (widened to hold 0: {@code scale = (max - min) / 255}, {@code zero =
 *       round(-min / scale)});
 *   <li>convolution weights: int8, symmetric, one scale per output channel ({@code scale_c =
 *       max|w_c| / 127}, values in [-127, 127]);
 *   <li>convolution biases: int32 with scale {@code input scale × scale_c}, zero point 0.
 * </ul>
 *
 * <p>Which tensors: every float activation read by a {@code Conv}, {@code Add} or {@code Concat}
 * of the network (the nodes from the first convolution on; the pre-processing before it stays
 * float). The logits stay float (no quantised operator reads them), so the upsampling, argmax and
 * softmax after the network are unchanged. A dense convolution over fewer than {@value
 * #MIN_QUANTIZED_INPUT_CHANNELS} input channels (the stem over the RGB image) stays float with its
 * input: its integer GEMM has too short a dot product (27 for a 3x3 kernel) for the integer
 * kernels, and ONNX Runtime ran MobileNetV2's stem at 513x513 in 2.06 ms as {@code QLinearConv}
 * against 0.64 ms in float (BENCHMARKS.md §9c).
 */
public final class Int8Quantizer {
  private static final Set<String> QUANTIZED_CONSUMERS = Set.of("Conv", "Add", "Concat");
  static final int MIN_QUANTIZED_INPUT_CHANNELS = 8;
  private static final String MIN_SUFFIX = "/calibration_min";
  private static final String MAX_SUFFIX = "/calibration_max";
  private static final String MEAN_SUFFIX = "/calibration_channel_mean";

  private Int8Quantizer() {}

  /** The range of an activation seen during calibration. */
  public record Range(float min, float max) {
    /** The smallest range holding this one and {@code other}. */
    public Range union(Range other) {
      return new Range(Math.min(min, other.min), Math.max(max, other.max));
    }
  }

  /**
   * What calibration measured: the range of each activation, and the mean per channel of each
   * convolution input (over the images' pixels, images weighted equally).
   */
  public record Statistics(Map<String, Range> ranges, Map<String, float[]> channelMeans) {}

  /** uint8 quantisation parameters of one activation tensor. */
  record ActivationParams(float scale, int zeroPoint) {
    /** ONNX Runtime's MinMax rule for asymmetric uint8 (see the class comment). */
    static ActivationParams of(Range r) {
      double min = Math.min(r.min(), 0);
      double max = Math.max(r.max(), 0);
      double scale = (max - min) / 255.0;
      if (scale == 0 || !Double.isFinite(scale)) {
        scale = 1;
      }
      long zero = Math.round(-min / scale);
      return new ActivationParams((float) scale, (int) Math.max(0, Math.min(255, zero)));
    }
  }

  /** int8 per-output-channel weights: the values, one scale per channel. */
  record ChannelWeights(byte[] values, float[] scales) {
    /** Quantises {@code w} (channels first: {@code [out, ...]}) channel by channel. */
    static ChannelWeights of(float[] w, int channels) {
      int per = w.length / channels;
      byte[] q = new byte[w.length];
      float[] scales = new float[channels];
      for (int c = 0; c < channels; c++) {
        float amax = 0;
        for (int i = c * per; i < (c + 1) * per; i++) {
          amax = Math.max(amax, Math.abs(w[i]));
        }
        float scale = amax > 0 ? amax / 127f : 1f;
        scales[c] = scale;
        for (int i = c * per; i < (c + 1) * per; i++) {
          q[i] = (byte) Math.max(-127, Math.min(127, Math.round(w[i] / scale)));
        }
      }
      return new ChannelWeights(q, scales);
    }
  }

  /**
   * The float activations to quantise, in graph order: the input of the first convolution, and
   * the values computed from its output (not from shapes alone) that a {@code Conv}, {@code Add}
   * or {@code Concat} reads; never an initializer or a graph output.
   */
  public static List<String> activations(GraphProto graph) {
    Map<String, Integer> types = elementTypes(graph);
    Map<String, TensorProto> initializers = new HashMap<>();
    graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
    Set<String> outputs = new HashSet<>();
    graph.getOutputList().forEach(o -> outputs.add(o.getName()));
    Set<String> network = new HashSet<>();
    Set<String> found = new LinkedHashSet<>();
    for (NodeProto n : graph.getNodeList()) {
      boolean conv = n.getOpType().equals("Conv");
      if (conv && network.isEmpty()) {
        network.add(n.getInput(0));
      }
      boolean computed = !n.getOpType().equals("Shape")
          && n.getInputList().stream().anyMatch(network::contains);
      if (computed) {
        network.addAll(n.getOutputList());
      }
      if (!QUANTIZED_CONSUMERS.contains(n.getOpType()) || conv && staysFloat(n, initializers)) {
        continue;
      }
      List<String> inputs = conv ? n.getInputList().subList(0, 1) : n.getInputList();
      for (String in : inputs) {
        if (network.contains(in) && !outputs.contains(in)
            && types.get(in) == DataType.FLOAT.getNumber()) {
          found.add(in);
        }
      }
    }
    return new ArrayList<>(found);
  }

  /**
   * Whether convolution {@code n} stays float: dense (one group) over fewer than {@value
   * #MIN_QUANTIZED_INPUT_CHANNELS} input channels (see the class comment).
   */
  private static boolean staysFloat(NodeProto n, Map<String, TensorProto> initializers) {
    TensorProto w = initializers.get(n.getInput(1));
    long groups = n.getAttributeList().stream().filter(a -> a.getName().equals("group"))
        .mapToLong(AttributeProto::getI).findFirst().orElse(1);
    return w != null && w.getDimsCount() == 4 && groups == 1
        && w.getDims(1) < MIN_QUANTIZED_INPUT_CHANNELS;
  }

  /** The inputs of the graph's convolutions, whose per-channel means {@link #quantize} uses. */
  public static List<String> convolutionInputs(GraphProto graph) {
    Set<String> inputs = new LinkedHashSet<>();
    for (NodeProto n : graph.getNodeList()) {
      if (n.getOpType().equals("Conv")) {
        inputs.add(n.getInput(0));
      }
    }
    return new ArrayList<>(inputs);
  }

  /**
   * {@code model} with two scalar float outputs per activation, its minimum and its maximum
   * ({@link #minOutput}, {@link #maxOutput}), and one per convolution input, its mean per channel
   * ({@link #meanOutput}): one run per calibration image gives every statistic without fetching
   * the activations themselves.
   */
  public static ModelProto calibrationModel(ModelProto model, List<String> activations,
      List<String> convolutionInputs) {
    GraphProto.Builder g = model.getGraph().toBuilder();
    for (String t : activations) {
      reduction(g, "ReduceMin", t, minOutput(t));
      reduction(g, "ReduceMax", t, maxOutput(t));
    }
    for (String t : convolutionInputs) {
      reduction(g, "ReduceMean", t, meanOutput(t), 0, 2, 3);
    }
    return model.toBuilder().setGraph(g).build();
  }

  private static void reduction(GraphProto.Builder g, String op, String in, String out,
      long... axes) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(out).addInput(in)
        .addOutput(out).addAttribute(AttributeProto.newBuilder().setName("keepdims")
            .setType(AttributeProto.AttributeType.INT).setI(0));
    if (axes.length > 0) {
      AttributeProto.Builder a = AttributeProto.newBuilder().setName("axes")
          .setType(AttributeProto.AttributeType.INTS);
      for (long axis : axes) {
        a.addInts(axis);
      }
      n.addAttribute(a);
    }
    g.addNode(n);
    g.addOutput(ValueInfoProto.newBuilder().setName(out).setType(TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(DataType.FLOAT_VALUE))));
  }

  /** The calibration model's output holding the per-channel mean of {@code convolutionInput}. */
  public static String meanOutput(String convolutionInput) {
    return convolutionInput + MEAN_SUFFIX;
  }

  /** The calibration model's output holding the minimum of {@code activation}. */
  public static String minOutput(String activation) {
    return activation + MIN_SUFFIX;
  }

  /** The calibration model's output holding the maximum of {@code activation}. */
  public static String maxOutput(String activation) {
    return activation + MAX_SUFFIX;
  }

  /** What {@link #quantize} did. */
  public record Quantized(ModelProto model, int convolutions, int activations) {}

  /**
   * {@code model} in QDQ form: every activation with a range quantised after the node that
   * computes it, and every convolution whose input is quantised given int8 per-channel weights and
   * an int32 bias. The bias is corrected for the weights' rounding: the mean shift that rounding
   * causes in each output channel, {@code (W_q - W) · E[x]} with {@code E[x]} the calibration
   * mean of the input channels, is subtracted (the empirical bias correction of Nagel et al.,
   * "Data-Free Quantization Through Weight Equalization and Bias Correction", ICCV 2019; without
   * it, MobileNetV2's first blocks shift the logits enough to flip ambiguous pixels).
   *
   * @throws IllegalArgumentException if a range is missing for an activation of {@link
   *     #activations} or a channel mean for a quantised convolution's input, or a convolution's
   *     weights are not a float initializer
   */
  public static Quantized quantize(ModelProto model, Statistics statistics) {
    GraphProto graph = model.getGraph();
    Map<String, Range> ranges = statistics.ranges();
    for (String t : activations(graph)) {
      if (!ranges.containsKey(t)) {
        throw new IllegalArgumentException("no calibration range for " + t);
      }
    }
    Map<String, TensorProto> initializers = new HashMap<>();
    graph.getInitializerList().forEach(t -> initializers.put(t.getName(), t));
    Map<String, Integer> uses = new HashMap<>();
    for (NodeProto n : graph.getNodeList()) {
      n.getInputList().forEach(in -> uses.merge(in, 1, Integer::sum));
    }

    GraphProto.Builder out = graph.toBuilder().clearNode().clearInitializer();
    Set<String> replaced = new HashSet<>();
    Map<String, String> dequantized = new HashMap<>();
    Map<String, ActivationParams> params = new HashMap<>();
    for (ValueInfoProto in : graph.getInputList()) {
      if (ranges.containsKey(in.getName())) {
        quantizeActivation(out, in.getName(), ranges.get(in.getName()), dequantized, params);
      }
    }
    int convolutions = 0;
    for (NodeProto node : graph.getNodeList()) {
      NodeProto.Builder n = node.toBuilder();
      for (int i = 0; i < n.getInputCount(); i++) {
        String d = dequantized.get(n.getInput(i));
        if (d != null) {
          n.setInput(i, d);
        }
      }
      ActivationParams input = params.get(node.getInput(0));
      if (node.getOpType().equals("Conv") && input != null) {
        float[] means = statistics.channelMeans().get(node.getInput(0));
        if (means == null) {
          throw new IllegalArgumentException("no channel means for " + node.getInput(0));
        }
        quantizeConvolution(out, node, n, input, means, initializers, uses, replaced);
        convolutions++;
      }
      out.addNode(n);
      for (String o : node.getOutputList()) {
        if (ranges.containsKey(o)) {
          quantizeActivation(out, o, ranges.get(o), dequantized, params);
        }
      }
    }
    for (TensorProto t : graph.getInitializerList()) {
      if (!replaced.contains(t.getName())) {
        out.addInitializer(t);
      }
    }
    return new Quantized(model.toBuilder().setGraph(out).build(), convolutions, params.size());
  }

  /** Appends {@code t → QuantizeLinear → DequantizeLinear}; consumers read the latter. */
  private static void quantizeActivation(GraphProto.Builder g, String t, Range range,
      Map<String, String> dequantized, Map<String, ActivationParams> params) {
    ActivationParams p = ActivationParams.of(range);
    String scale = t + "/scale";
    String zero = t + "/zero_point";
    g.addInitializer(floats(scale, new float[] {p.scale()}));
    g.addInitializer(TensorProto.newBuilder().setName(zero).setDataType(DataType.UINT8_VALUE)
        .setRawData(ByteString.copyFrom(new byte[] {(byte) p.zeroPoint()})));
    String q = t + "/quantized";
    String d = t + "/dequantized";
    g.addNode(qdq("QuantizeLinear", t, scale, zero, q, -1));
    g.addNode(qdq("DequantizeLinear", q, scale, zero, d, -1));
    dequantized.put(t, d);
    params.put(t, p);
  }

  /**
   * Rewrites the convolution {@code n} (a copy of {@code node}) to read int8 weights and an int32
   * bias through {@code DequantizeLinear} nodes appended to {@code g} before it.
   */
  private static void quantizeConvolution(GraphProto.Builder g, NodeProto node,
      NodeProto.Builder n, ActivationParams input, float[] inputMeans,
      Map<String, TensorProto> initializers,
      Map<String, Integer> uses, Set<String> replaced) {
    String wName = node.getInput(1);
    TensorProto w = initializers.get(wName);
    if (w == null || w.getDataType() != DataType.FLOAT_VALUE) {
      throw new IllegalArgumentException("convolution " + node.getName()
          + " has no float weights initializer to quantise");
    }
    int channels = (int) w.getDims(0);
    float[] weights = floatValues(w);
    ChannelWeights q = ChannelWeights.of(weights, channels);
    String wq = wName + "/quantized";
    g.addInitializer(TensorProto.newBuilder().setName(wq).setDataType(DataType.INT8_VALUE)
        .addAllDims(w.getDimsList()).setRawData(ByteString.copyFrom(q.values())));
    g.addInitializer(floats(wName + "/scale", q.scales()));
    g.addInitializer(TensorProto.newBuilder().setName(wName + "/zero_point")
        .setDataType(DataType.INT8_VALUE).addDims(channels)
        .setRawData(ByteString.copyFrom(new byte[channels])));
    g.addNode(qdq("DequantizeLinear", wq, wName + "/scale", wName + "/zero_point",
        wName + "/dequantized", 0));
    n.setInput(1, wName + "/dequantized");
    if (uses.get(wName) == 1) {
      replaced.add(wName);
    }
    float[] bias = new float[channels];
    String bName = node.getInputCount() < 3 || node.getInput(2).isEmpty()
        ? wName + "/corrected_bias" : node.getInput(2);
    if (!bName.equals(wName + "/corrected_bias")) {
      TensorProto b = initializers.get(bName);
      if (b == null || b.getDataType() != DataType.FLOAT_VALUE) {
        throw new IllegalArgumentException("convolution " + node.getName()
            + " has no float bias initializer to quantise");
      }
      bias = floatValues(b);
      if (uses.get(bName) == 1) {
        replaced.add(bName);
      }
    }
    long[] shape = w.getDimsList().stream().mapToLong(Long::longValue).toArray();
    float[] corrected = correctedBias(bias, weights, shape, q, inputMeans);
    float[] scales = new float[channels];
    ByteBuffer bq = ByteBuffer.allocate(channels * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int c = 0; c < channels; c++) {
      scales[c] = input.scale() * q.scales()[c];
      double v = Math.rint(corrected[c] / (double) scales[c]);
      bq.putInt((int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, v)));
    }
    String biasQ = bName + "/quantized";
    g.addInitializer(TensorProto.newBuilder().setName(biasQ).setDataType(DataType.INT32_VALUE)
        .addDims(channels).setRawData(ByteString.copyFrom(bq.array())));
    g.addInitializer(floats(bName + "/scale", scales));
    g.addInitializer(TensorProto.newBuilder().setName(bName + "/zero_point")
        .setDataType(DataType.INT32_VALUE).addDims(channels)
        .setRawData(ByteString.copyFrom(new byte[channels * 4])));
    g.addNode(qdq("DequantizeLinear", biasQ, bName + "/scale", bName + "/zero_point",
        bName + "/dequantized", 0));
    if (n.getInputCount() < 3) {
      n.addInput(bName + "/dequantized");
    } else {
      n.setInput(2, bName + "/dequantized");
    }
  }

  /**
   * {@code bias - (W_q - W) · mean} per output channel, for weights of shape {@code [out, in /
   * groups, kh, kw]} ({@code in = means.length}).
   */
  static float[] correctedBias(float[] bias, float[] w, long[] shape, ChannelWeights q,
      float[] means) {
    int out = (int) shape[0];
    int groupInputs = (int) shape[1];
    int taps = (int) (shape[2] * shape[3]);
    int groups = means.length / groupInputs;
    if (groups < 1 || groups * groupInputs != means.length || out % groups != 0) {
      throw new IllegalArgumentException("weights of shape " + Arrays.toString(shape)
          + " do not fit " + means.length + " input channels");
    }
    float[] corrected = new float[out];
    for (int o = 0; o < out; o++) {
      int firstInput = (o / (out / groups)) * groupInputs;
      double shift = 0;
      for (int i = 0; i < groupInputs; i++) {
        double d = 0;
        for (int k = 0; k < taps; k++) {
          int at = (o * groupInputs + i) * taps + k;
          d += q.values()[at] * (double) q.scales()[o] - w[at];
        }
        shift += d * means[firstInput + i];
      }
      corrected[o] = (float) (bias[o] - shift);
    }
    return corrected;
  }

  private static NodeProto qdq(String op, String in, String scale, String zero, String out,
      int axis) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(out).addInput(in)
        .addInput(scale).addInput(zero).addOutput(out);
    if (axis >= 0) {
      n.addAttribute(AttributeProto.newBuilder().setName("axis")
          .setType(AttributeProto.AttributeType.INT).setI(axis));
    }
    return n.build();
  }

  private static TensorProto floats(String name, float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    TensorProto.Builder t = TensorProto.newBuilder().setName(name)
        .setDataType(DataType.FLOAT_VALUE).setRawData(ByteString.copyFrom(b.array()));
    if (values.length > 1) {
      t.addDims(values.length);
    }
    return t.build();
  }

  /** The values of a float initializer (raw little-endian data or the float_data field). */
  static float[] floatValues(TensorProto t) {
    if (!t.getRawData().isEmpty()) {
      float[] v = new float[t.getRawData().size() / 4];
      t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
      return v;
    }
    float[] v = new float[t.getFloatDataCount()];
    for (int i = 0; i < v.length; i++) {
      v[i] = t.getFloatData(i);
    }
    return v;
  }

  /**
   * The element type of every value of the graph: inputs and initializers as declared; {@code
   * Shape} gives int64, {@code ArgMax} int64, {@code Cast} its {@code to}; every other operator
   * we write keeps the type of its first input.
   */
  private static Map<String, Integer> elementTypes(GraphProto graph) {
    Map<String, Integer> types = new HashMap<>();
    graph.getInputList().forEach(i -> types.put(i.getName(),
        i.getType().getTensorType().getElemType()));
    graph.getInitializerList().forEach(t -> types.put(t.getName(), t.getDataType()));
    for (NodeProto n : graph.getNodeList()) {
      int type = switch (n.getOpType()) {
        case "Shape", "ArgMax" -> DataType.INT64_VALUE;
        case "Cast" -> (int) n.getAttributeList().stream()
            .filter(a -> a.getName().equals("to")).findFirst().orElseThrow().getI();
        default -> types.getOrDefault(n.getInput(0), DataType.UNDEFINED_VALUE);
      };
      n.getOutputList().forEach(o -> types.put(o, type));
    }
    return types;
  }
}
