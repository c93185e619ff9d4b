package dev.deeplab.internal.onnx;

import dev.deeplab.internal.onnx.OnnxGraph.Attr;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;

/**
 * Writes a TensorFlow inference network (the graph of {@code ModelGraph}: a float NHWC pixel
 * placeholder, variables, logits) as ONNX nodes in NCHW, the layout ONNX's convolutions take.
 *
 * <p>Every node that does not depend on the placeholder (variables, the batch-norm folding ops of
 * depthwise convs, filter reshapes) is evaluated once by {@link Constants} and written as an
 * initializer. A convolution absorbs the bias add and inference-mode batch norm that are its only
 * consumers: {@code W' = W·s}, {@code b' = (b - mean)·s + beta} with {@code s = gamma /
 * sqrt(var + eps)} per output channel, computed in double. Dilations stay dilations, and TF's
 * {@code SAME} padding becomes the explicit (bottom/right-heavy) pads it means for the static
 * input size. Tensors that TF reshapes or multiplies as matrices are transposed back to NHWC
 * around those ops, so any mix of the two layouts stays correct.
 */
final class NetworkConverter {
  /** Values of the nodes that do not depend on the input. */
  interface Constants {
    /** The value of output {@code index} of node {@code node}. */
    Constant eval(String node, int index);
  }

  /** A constant: its shape, and its values as floats or as integers (one of the two is null). */
  record Constant(long[] shape, float[] floats, long[] ints) {
    int rank() {
      return shape.length;
    }

    long size() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }

    long[] asLongs() {
      if (ints != null) {
        return ints;
      }
      long[] l = new long[floats.length];
      for (int i = 0; i < l.length; i++) {
        l[i] = (long) floats[i];
      }
      return l;
    }

    float[] asFloats() {
      if (floats != null) {
        return floats;
      }
      float[] f = new float[ints.length];
      for (int i = 0; i < f.length; i++) {
        f[i] = ints[i];
      }
      return f;
    }
  }

  /** An ONNX value and whether it is a 4-D tensor in NCHW (else it has TF's layout). */
  record Value(String name, boolean nchw) {}

  private final OnnxGraph onnx;
  private final Graph tf;
  private final Constants constants;
  private final Map<String, NodeDef> nodes = new HashMap<>();
  private final Map<String, Integer> consumers = new HashMap<>();
  private final Map<String, Boolean> constantNodes = new HashMap<>();
  private final Map<String, Value> values = new HashMap<>();
  private int foldedBatchNorms;

  /**
   * @param input the TF placeholder's name, and the ONNX value (NCHW float pixels) it stands for
   */
  NetworkConverter(OnnxGraph onnx, Graph tf, GraphDef def, Constants constants, String input,
      String onnxInput) {
    this.onnx = onnx;
    this.tf = tf;
    this.constants = constants;
    for (NodeDef n : def.getNodeList()) {
      nodes.put(n.getName(), n);
      for (String in : n.getInputList()) {
        if (!in.startsWith("^")) {
          consumers.merge(nodeName(in), 1, Integer::sum);
        }
      }
    }
    values.put(input + ":0", new Value(onnxInput, true));
    constantNodes.put(input, false);
  }

  /**
   * The constant tensors the conversion of {@code output} reads: every output of a node that does
   * not depend on the input and feeds one that does. Evaluating them in one run is much faster
   * than one run each (every new set of fetches makes TF prune and optimise the graph again).
   */
  List<String> constantsNeeded(String output) {
    java.util.Set<String> seen = new java.util.HashSet<>();
    java.util.Set<String> needed = new java.util.LinkedHashSet<>();
    java.util.ArrayDeque<String> todo = new java.util.ArrayDeque<>(List.of(nodeName(output)));
    while (!todo.isEmpty()) {
      String name = todo.pop();
      if (!seen.add(name) || isConstant(name)) {
        continue;
      }
      for (String in : node(name).getInputList()) {
        if (in.startsWith("^")) {
          continue;
        }
        if (isConstant(nodeName(in))) {
          needed.add(nodeName(in) + ":" + outputIndex(in));
        } else {
          todo.push(nodeName(in));
        }
      }
    }
    return List.copyOf(needed);
  }

  /** The ONNX value of TF tensor {@code output} ({@code node} or {@code node:i}), in NCHW. */
  String convert(String output) {
    return nchw(value(output)).name();
  }

  /** Batch norms folded into convolution weights so far. */
  int foldedBatchNorms() {
    return foldedBatchNorms;
  }

  private Value value(String output) {
    String key = output.contains(":") ? output : output + ":0";
    Value v = values.get(key);
    if (v == null) {
      v = isConstant(nodeName(key)) ? constantValue(key) : convertNode(key);
      values.put(key, v);
    }
    return v;
  }

  private boolean isConstant(String node) {
    Boolean known = constantNodes.get(node);
    if (known != null) {
      return known;
    }
    NodeDef n = node(node);
    boolean c = !n.getOp().equals("Placeholder");
    for (String in : n.getInputList()) {
      if (c && !in.startsWith("^")) {
        c = isConstant(nodeName(in));
      }
    }
    constantNodes.put(node, c);
    return c;
  }

  private Constant constant(String output) {
    return constants.eval(nodeName(output), outputIndex(output));
  }

  private Value constantValue(String output) {
    Constant c = constant(output);
    if (c.floats() == null) {
      return new Value(onnx.longs(nodeName(output), c.ints(), c.shape()), false);
    }
    return new Value(onnx.floats(nodeName(output), c.floats(), c.shape()), false);
  }

  private Value convertNode(String output) {
    if (outputIndex(output) != 0) {
      throw unsupported(node(nodeName(output)), "output " + outputIndex(output) + " is used");
    }
    NodeDef n = node(nodeName(output));
    String name = n.getName();
    ConvParts conv = foldable(n);
    if (conv != null) {
      return conv.emit(name);
    }
    return switch (n.getOp()) {
      case "Identity" -> value(n.getInput(0));
      case "Add", "AddV2" -> binary("Add", n);
      case "Sub" -> binary("Sub", n);
      case "Mul" -> binary("Mul", n);
      case "RealDiv" -> binary("Div", n);
      case "Maximum" -> binary("Max", n);
      case "Minimum" -> binary("Min", n);
      case "BiasAdd" -> biasAdd(n);
      case "FusedBatchNorm", "FusedBatchNormV3" -> batchNorm(n);
      case "Relu" -> same(n, onnx.node("Relu", name, new String[] {value(n.getInput(0)).name()}));
      case "Relu6" -> same(n, onnx.node("Clip", name, new String[] {value(n.getInput(0)).name(),
          onnx.scalar(name + "/min", 0f), onnx.scalar(name + "/max", 6f)}));
      case "AvgPool" -> pool("AveragePool", n, ints(n, "ksize"), ints(n, "strides"));
      case "MaxPool" -> pool("MaxPool", n, ints(n, "ksize"), ints(n, "strides"));
      case "MaxPoolV2" -> pool("MaxPool", n, constant(n.getInput(1)).asLongs(),
          constant(n.getInput(2)).asLongs());
      case "ResizeBilinear" -> resizeBilinear(n);
      case "ConcatV2" -> concat(n);
      case "AddN" -> sum(n);
      case "Pad", "PadV2" -> pad(n);
      case "Reshape" -> new Value(onnx.node("Reshape", name, new String[] {
          nhwc(value(n.getInput(0))).name(),
          onnx.longs(name + "/shape", constant(n.getInput(1)).asLongs())}), false);
      case "MatMul" -> matMul(n);
      default -> throw unsupported(n, "no ONNX form is written for it");
    };
  }

  // ---- convolutions and what folds into them

  /** A convolution being assembled: its input, OIHW weights, bias and attributes. */
  private final class ConvParts {
    Value input;
    long[] wShape;
    double[] w;
    double[] bias;
    long group;
    long[] strides;
    long[] dilations;
    long[] pads;

    int outChannels() {
      return (int) wShape[0];
    }

    void scale(double[] s, double[] shift) {
      int per = w.length / outChannels();
      for (int o = 0; o < outChannels(); o++) {
        for (int k = 0; k < per; k++) {
          w[o * per + k] *= s[o];
        }
        bias[o] = bias[o] * s[o] + shift[o];
      }
    }

    Value emit(String name) {
      String out = onnx.node("Conv", name, new String[] {nchw(input).name(),
          onnx.floats(name + "/weights", toFloats(w), wShape),
          onnx.floats(name + "/bias", toFloats(bias), wShape[0])},
          Attr.ints("kernel_shape", wShape[2], wShape[3]), Attr.ints("strides", strides),
          Attr.ints("dilations", dilations), Attr.ints("pads", pads), Attr.i("group", group));
      return new Value(out, true);
    }
  }

  /**
   * The convolution that {@code n} is, or that {@code n} (a bias add or an inference batch norm
   * with constant parameters) can be folded into; null if neither.
   */
  private ConvParts foldable(NodeDef n) {
    switch (n.getOp()) {
      case "Conv2D", "DepthwiseConv2dNative" -> {
        return isConstant(nodeName(n.getInput(1))) ? convParts(n) : null;
      }
      case "BiasAdd" -> {
        ConvParts c = foldableInput(n);
        if (c != null) {
          float[] b = constant(n.getInput(1)).asFloats();
          for (int o = 0; o < b.length; o++) {
            c.bias[o] += b[o];
          }
        }
        return c;
      }
      case "FusedBatchNorm", "FusedBatchNormV3" -> {
        if (n.getAttrOrThrow("is_training").getB()) {
          throw unsupported(n, "batch norm in training mode");
        }
        ConvParts c = foldableInput(n);
        if (c != null) {
          double[][] ss = batchNormScaleShift(n);
          c.scale(ss[0], ss[1]);
          foldedBatchNorms++;
        }
        return c;
      }
      default -> {
        return null;
      }
    }
  }

  /** The foldable convolution feeding {@code n} when {@code n} is its only consumer. */
  private ConvParts foldableInput(NodeDef n) {
    for (int i = 1; i < n.getInputCount(); i++) {
      if (!n.getInput(i).startsWith("^") && !isConstant(nodeName(n.getInput(i)))) {
        return null;
      }
    }
    String in = n.getInput(0);
    if (outputIndex(in) != 0 || consumers.getOrDefault(nodeName(in), 0) != 1
        || values.containsKey(nodeName(in) + ":0")) {
      return null;
    }
    return foldable(node(nodeName(in)));
  }

  private ConvParts convParts(NodeDef n) {
    requireNhwc(n);
    boolean depthwise = n.getOp().equals("DepthwiseConv2dNative");
    Constant f = constant(n.getInput(1));
    long kh = f.shape()[0];
    long kw = f.shape()[1];
    long ci = f.shape()[2];
    long co = f.shape()[3];
    float[] src = f.asFloats();
    ConvParts c = new ConvParts();
    c.input = value(n.getInput(0));
    long out = depthwise ? ci * co : co;
    c.wShape = depthwise ? new long[] {out, 1, kh, kw} : new long[] {out, ci, kh, kw};
    c.w = new double[src.length];
    for (int y = 0; y < kh; y++) {
      for (int x = 0; x < kw; x++) {
        for (int i = 0; i < ci; i++) {
          for (int o = 0; o < co; o++) {
            double v = src[(int) (((y * kw + x) * ci + i) * co + o)];
            if (depthwise) {
              c.w[(int) (((i * co + o) * kh + y) * kw + x)] = v;
            } else {
              c.w[(int) (((o * ci + i) * kh + y) * kw + x)] = v;
            }
          }
        }
      }
    }
    c.bias = new double[(int) out];
    c.group = depthwise ? ci : 1;
    long[] strides = ints(n, "strides");
    long[] dilations = n.containsAttr("dilations") ? ints(n, "dilations") : new long[] {1, 1, 1, 1};
    c.strides = new long[] {strides[1], strides[2]};
    c.dilations = new long[] {dilations[1], dilations[2]};
    c.pads = pads(n, kh, kw, c.strides, c.dilations);
    return c;
  }

  /** ONNX pads {@code [top, left, bottom, right]} for the node's TF padding. */
  private long[] pads(NodeDef n, long kh, long kw, long[] strides, long[] dilations) {
    String padding = n.getAttrOrThrow("padding").getS().toStringUtf8();
    switch (padding) {
      case "VALID" -> {
        return new long[] {0, 0, 0, 0};
      }
      case "SAME" -> {
        Shape in = shape(n.getInput(0));
        if (in.numDimensions() != 4 || in.size(1) < 0 || in.size(2) < 0) {
          throw unsupported(n, "SAME padding needs a static input size, got " + in);
        }
        long[] h = samePads(in.size(1), kh, strides[0], dilations[0]);
        long[] w = samePads(in.size(2), kw, strides[1], dilations[1]);
        return new long[] {h[0], w[0], h[1], w[1]};
      }
      case "EXPLICIT" -> {
        long[] e = ints(n, "explicit_paddings");
        return new long[] {e[2], e[4], e[3], e[5]};
      }
      default -> throw unsupported(n, "padding " + padding);
    }
  }

  /** TF's SAME padding of one dimension: output ceil(in/stride), the extra pixel at the end. */
  static long[] samePads(long in, long kernel, long stride, long dilation) {
    long out = (in + stride - 1) / stride;
    long effective = (kernel - 1) * dilation + 1;
    long total = Math.max((out - 1) * stride + effective - in, 0);
    return new long[] {total / 2, total - total / 2};
  }

  /** {@code [scale, shift]} of an inference batch norm, per channel, in double. */
  private double[][] batchNormScaleShift(NodeDef n) {
    float[] gamma = constant(n.getInput(1)).asFloats();
    float[] beta = constant(n.getInput(2)).asFloats();
    float[] mean = constant(n.getInput(3)).asFloats();
    float[] var = constant(n.getInput(4)).asFloats();
    double eps = n.getAttrOrThrow("epsilon").getF();
    double[] s = new double[gamma.length];
    double[] shift = new double[gamma.length];
    for (int c = 0; c < s.length; c++) {
      s[c] = gamma[c] / Math.sqrt((double) var[c] + eps);
      shift[c] = beta[c] - mean[c] * s[c];
    }
    return new double[][] {s, shift};
  }

  private Value batchNorm(NodeDef n) {
    requireNhwc(n);
    double[][] ss = batchNormScaleShift(n);
    Value x = value(n.getInput(0));
    String name = n.getName();
    long[] shape = x.nchw() ? new long[] {ss[0].length, 1, 1} : new long[] {ss[0].length};
    String scaled = onnx.node("Mul", name + "/scale", new String[] {x.name(),
        onnx.floats(name + "/s", toFloats(ss[0]), shape)});
    return new Value(onnx.node("Add", name, new String[] {scaled,
        onnx.floats(name + "/shift", toFloats(ss[1]), shape)}), x.nchw());
  }

  private Value biasAdd(NodeDef n) {
    requireNhwc(n);
    Value x = value(n.getInput(0));
    float[] b = constant(n.getInput(1)).asFloats();
    long[] shape = x.nchw() ? new long[] {b.length, 1, 1} : new long[] {b.length};
    return new Value(onnx.node("Add", n.getName(), new String[] {x.name(),
        onnx.floats(n.getName() + "/bias", b, shape)}), x.nchw());
  }

  // ---- other ops

  private Value binary(String op, NodeDef n) {
    String a = n.getInput(0);
    String b = n.getInput(1);
    boolean ca = isConstant(nodeName(a));
    boolean cb = isConstant(nodeName(b));
    Value va;
    Value vb;
    if (!ca && !cb) {
      va = value(a);
      vb = value(b);
      if (va.nchw() != vb.nchw()) {
        va = nchw(va);
        vb = nchw(vb);
      }
    } else if (ca) {
      vb = value(b);
      va = constantFor(a, vb.nchw());
    } else {
      va = value(a);
      vb = constantFor(b, va.nchw());
    }
    return new Value(onnx.node(op, n.getName(), new String[] {va.name(), vb.name()}),
        va.nchw() || vb.nchw());
  }

  /** A constant operand laid out to broadcast against an NCHW tensor as it did against NHWC. */
  private Value constantFor(String output, boolean nchw) {
    Constant c = constant(output);
    float[] v = c.asFloats();
    String name = nodeName(output);
    if (!nchw || c.size() == 1) {
      return new Value(onnx.floats(name, v, c.size() == 1 ? new long[0] : c.shape()), false);
    }
    if (c.rank() == 1) {
      return new Value(onnx.floats(name, v, c.shape()[0], 1, 1), false);
    }
    if (c.rank() == 4) {
      long[] s = c.shape();
      float[] t = new float[v.length];
      for (int i = 0; i < s[0]; i++) {
        for (int y = 0; y < s[1]; y++) {
          for (int x = 0; x < s[2]; x++) {
            for (int ch = 0; ch < s[3]; ch++) {
              t[(int) (((i * s[3] + ch) * s[1] + y) * s[2] + x)] =
                  v[(int) (((i * s[1] + y) * s[2] + x) * s[3] + ch)];
            }
          }
        }
      }
      return new Value(onnx.floats(name, t, s[0], s[3], s[1], s[2]), false);
    }
    throw new IllegalArgumentException("cannot lay out constant " + name + " of rank " + c.rank()
        + " for an NCHW operand");
  }

  private Value pool(String op, NodeDef n, long[] ksize, long[] strides) {
    requireNhwc(n);
    long[] k = {ksize[1], ksize[2]};
    long[] s = {strides[1], strides[2]};
    long[] pads = pads(n, k[0], k[1], s, new long[] {1, 1});
    List<Attr> attrs = new ArrayList<>(List.of(Attr.ints("kernel_shape", k),
        Attr.ints("strides", s), Attr.ints("pads", pads)));
    if (op.equals("AveragePool")) {
      attrs.add(Attr.i("count_include_pad", 0)); // TF averages over the pixels inside
    }
    return new Value(onnx.node(op, n.getName(), new String[] {nchw(value(n.getInput(0))).name()},
        attrs.toArray(Attr[]::new)), true);
  }

  private Value resizeBilinear(NodeDef n) {
    Value x = nchw(value(n.getInput(0)));
    long[] size = constant(n.getInput(1)).asLongs();
    boolean alignCorners = n.containsAttr("align_corners") && n.getAttrOrThrow("align_corners").getB();
    boolean halfPixel = n.containsAttr("half_pixel_centers")
        && n.getAttrOrThrow("half_pixel_centers").getB();
    String name = n.getName();
    Shape in = shape(n.getInput(0));
    if (in.numDimensions() == 4 && in.size(1) == 1 && in.size(2) == 1) {
      // image pooling's 1x1 map: every coordinate mode gives each output pixel the one input
      // pixel, so a broadcast does it (ONNX Runtime's Resize took 0.35 ms here, 33x33x256)
      return new Value(onnx.node("Expand", name, new String[] {x.name(),
          sizes(onnx, name, x.name(), size[0], size[1])}), true);
    }
    return new Value(resize(onnx, name, x.name(), size[0], size[1], "linear",
        alignCorners ? "align_corners" : halfPixel ? "half_pixel" : "asymmetric"), true);
  }

  /**
   * An ONNX {@code Resize} of NCHW {@code x} to {@code [N, C, height, width]} (N and C read from
   * {@code x} at run time).
   */
  static String resize(OnnxGraph onnx, String name, String x, long height, long width,
      String mode, String coordinates) {
    return onnx.node("Resize", name, new String[] {x, "", "", sizes(onnx, name, x, height, width)},
        Attr.s("mode", mode), Attr.s("coordinate_transformation_mode", coordinates));
  }

  /** {@code [N, C, height, width]} with N and C read from NCHW {@code x} at run time. */
  private static String sizes(OnnxGraph onnx, String name, String x, long height, long width) {
    return onnx.node("Concat", name + "/sizes", new String[] {
        onnx.node("Slice", name + "/nc", new String[] {
            onnx.node("Shape", name + "/shape", new String[] {x}),
            onnx.longs(name + "/start", 0), onnx.longs(name + "/end", 2)}),
        onnx.longs(name + "/hw", height, width)}, Attr.i("axis", 0));
  }

  /** {@code AddN} (DeepLabv2's summed logits branches): ONNX {@code Sum} of same-shape inputs. */
  private Value sum(NodeDef n) {
    List<Value> in = new ArrayList<>();
    for (String input : n.getInputList()) {
      if (!input.startsWith("^")) {
        in.add(value(input));
      }
    }
    boolean four = in.stream().anyMatch(Value::nchw);
    String[] names = in.stream().map(v -> four ? nchw(v).name() : v.name())
        .toArray(String[]::new);
    return new Value(onnx.node("Sum", n.getName(), names), four);
  }

  private Value concat(NodeDef n) {
    int count = n.getInputCount() - 1;
    while (n.getInput(count).startsWith("^")) {
      count--;
    }
    long axis = constant(n.getInput(count)).asLongs()[0];
    List<Value> in = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      in.add(value(n.getInput(i)));
    }
    boolean four = shape(n.getInput(0)).numDimensions() == 4;
    List<String> names = new ArrayList<>();
    for (Value v : in) {
      names.add(four ? nchw(v).name() : nhwc(v).name());
    }
    long rank = shape(n.getInput(0)).numDimensions();
    long a = axis < 0 ? axis + rank : axis;
    long onnxAxis = four ? new long[] {0, 2, 3, 1}[(int) a] : a;
    return new Value(onnx.node("Concat", n.getName(), names.toArray(String[]::new),
        Attr.i("axis", onnxAxis)), four);
  }

  private Value pad(NodeDef n) {
    long[] p = constant(n.getInput(1)).asLongs();
    if (p.length != 8) {
      throw unsupported(n, "padding of a tensor that is not 4-D");
    }
    float value = n.getOp().equals("PadV2") ? constant(n.getInput(2)).asFloats()[0] : 0f;
    String name = n.getName();
    long[] pads = {p[0], p[6], p[2], p[4], p[1], p[7], p[3], p[5]};
    return new Value(onnx.node("Pad", name, new String[] {nchw(value(n.getInput(0))).name(),
        onnx.longs(name + "/pads", pads), onnx.scalar(name + "/value", value)},
        Attr.s("mode", "constant")), true);
  }

  private Value matMul(NodeDef n) {
    boolean ta = n.getAttrOrThrow("transpose_a").getB();
    boolean tb = n.getAttrOrThrow("transpose_b").getB();
    Value a = nhwc(value(n.getInput(0)));
    if (ta || !isConstant(nodeName(n.getInput(1)))) {
      throw unsupported(n, "only x·W with a constant W is written");
    }
    Constant w = constant(n.getInput(1));
    float[] v = w.asFloats();
    long rows = w.shape()[0];
    long cols = w.shape()[1];
    if (tb) {
      float[] t = new float[v.length];
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) {
          t[(int) (j * rows + i)] = v[(int) (i * cols + j)];
        }
      }
      v = t;
      long r = rows;
      rows = cols;
      cols = r;
    }
    return new Value(onnx.node("MatMul", n.getName(), new String[] {a.name(),
        onnx.floats(n.getName() + "/weights", v, rows, cols)}), false);
  }

  private Value same(NodeDef n, String out) {
    return new Value(out, value(n.getInput(0)).nchw());
  }

  // ---- layouts

  private Value nchw(Value v) {
    if (v.nchw()) {
      return v;
    }
    return new Value(onnx.node("Transpose", v.name() + "/nchw", new String[] {v.name()},
        Attr.ints("perm", 0, 3, 1, 2)), true);
  }

  private Value nhwc(Value v) {
    if (!v.nchw()) {
      return v;
    }
    return new Value(onnx.node("Transpose", v.name() + "/nhwc", new String[] {v.name()},
        Attr.ints("perm", 0, 2, 3, 1)), false);
  }

  // ---- helpers

  private NodeDef node(String name) {
    NodeDef n = nodes.get(name);
    if (n == null) {
      throw new IllegalArgumentException("the graph has no node " + name);
    }
    return n;
  }

  private Shape shape(String output) {
    GraphOperation op = tf.operation(nodeName(output));
    return op.output(outputIndex(output)).shape();
  }

  private static void requireNhwc(NodeDef n) {
    AttrValue f = n.getAttrOrDefault("data_format", null);
    if (f != null && !f.getS().toStringUtf8().equals("NHWC")) {
      throw unsupported(n, "data format " + f.getS().toStringUtf8());
    }
  }

  private static long[] ints(NodeDef n, String attr) {
    return n.getAttrOrThrow(attr).getList().getIList().stream().mapToLong(Long::longValue)
        .toArray();
  }

  private static float[] toFloats(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }

  static String nodeName(String output) {
    String s = output.startsWith("^") ? output.substring(1) : output;
    int colon = s.lastIndexOf(':');
    return colon < 0 ? s : s.substring(0, colon);
  }

  static int outputIndex(String output) {
    int colon = output.lastIndexOf(':');
    return colon < 0 ? 0 : Integer.parseInt(output.substring(colon + 1));
  }

  private static IllegalArgumentException unsupported(NodeDef n, String why) {
    return new IllegalArgumentException(
        "cannot write " + n.getOp() + " node " + n.getName() + " as ONNX: " + why);
  }
}
