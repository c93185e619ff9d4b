package dev.deeplab.internal.tflite;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the layers of the DeepLabv3 + MobileNetV2 graph (official {@code research/deeplab/model.py}
 * with {@code model_variant=mobilenet_v2}, no atrous ASPP branches, no decoder) in a TFLite
 * subgraph, by tensor names and op order, and checks the wiring between them.
 *
 * <p>TFLite converters name a constant after the TF ops it was folded from, joined by {@code ';'},
 * e.g. {@code MobilenetV2/Conv/Conv2D_Fold;MobilenetV2/Conv/weights_quant/FakeQuantWithMinMaxVars}.
 * The fused names of biases can mention neighbouring layers ({@code
 * .../expanded_conv_14/project/add_fold;.../expanded_conv_15/project/Conv2D_Fold;...}), so the
 * scope is taken from the last component that names a known scope.
 */
final class DeepLabGraphMatcher {

  /** Head scopes (graph root), from the scope constants of {@code research/deeplab/model.py}. */
  static final String IMAGE_POOLING = "image_pooling";

  static final String ASPP0 = "aspp0";
  static final String CONCAT_PROJECTION = "concat_projection";
  static final String LOGITS = "logits/semantic";

  /** The order of the branches in the official concat ({@code model.py} extract_features). */
  static final List<String> OFFICIAL_CONCAT_ORDER = List.of(IMAGE_POOLING, ASPP0);

  private static final Pattern SCOPE =
      Pattern.compile(
          "^(MobilenetV2/(?:Conv|expanded_conv(?:_\\d+)?/(?:expand|depthwise|project))"
              + "|image_pooling|aspp\\d+|concat_projection|logits/semantic)(?:/|$)");

  private static final Set<String> ALLOWED_OPS =
      Set.of(
          "CONV_2D",
          "DEPTHWISE_CONV_2D",
          "ADD",
          "AVERAGE_POOL_2D",
          "RESIZE_BILINEAR",
          "QUANTIZE",
          "DEQUANTIZE",
          "CONCATENATION",
          "ARG_MAX");

  /** Ops a branch passes through between its conv and the concat. */
  private static final Set<String> PASS_THROUGH =
      Set.of("RESIZE_BILINEAR", "QUANTIZE", "DEQUANTIZE");

  /**
   * One conv operator and its tensors.
   *
   * @param scope the official variable scope
   * @param op the operator
   * @param weights the filter tensor (TFLite layout)
   * @param bias the bias tensor
   */
  record ConvOp(String scope, TfliteOperator op, TfliteTensor weights, TfliteTensor bias) {

    int input() {
      return op.inputs()[0];
    }

    int output() {
      return op.outputs()[0];
    }

    int outChannels() {
      return weights.shape()[op.name().equals("CONV_2D") ? 0 : 3];
    }
  }

  /**
   * The matched graph.
   *
   * @param input the image input tensor
   * @param depthMultiplier the MobileNetV2 depth multiplier implied by the channel counts
   * @param backbone the backbone convs, in graph order
   * @param head the head convs by scope: image_pooling, aspp0, concat_projection, logits/semantic
   * @param features the backbone output tensor
   * @param imagePool the AVERAGE_POOL_2D operator of the image-pooling branch
   * @param concatOrder the head scopes in the order the TFLite concat stacks them
   */
  record Match(
      TfliteTensor input,
      double depthMultiplier,
      List<ConvOp> backbone,
      Map<String, ConvOp> head,
      TfliteTensor features,
      TfliteOperator imagePool,
      List<String> concatOrder) {}

  private final TfliteSubGraph graph;
  private final Map<Integer, TfliteOperator> producers = new HashMap<>();
  private final Map<String, ConvOp> convs = new LinkedHashMap<>();
  private final List<TfliteOperator> adds = new ArrayList<>();
  private final List<TfliteOperator> pools = new ArrayList<>();
  private final List<TfliteOperator> concats = new ArrayList<>();

  private DeepLabGraphMatcher(TfliteSubGraph graph) {
    this.graph = graph;
  }

  /** Matches {@code model}'s main subgraph, or explains in one line why it is not this graph. */
  static Match match(TfliteModel model) throws TfliteFormatException {
    return new DeepLabGraphMatcher(model.mainSubGraph()).run(model);
  }

  private Match run(TfliteModel model) throws TfliteFormatException {
    TfliteTensor input = imageInput();
    collectOps(model);
    ConvOp last = require(MobileNetV2Spec.SCOPE + "/expanded_conv_16/project");
    double dm = (double) last.outChannels() / MobileNetV2Spec.LAST_CHANNELS;
    List<MobileNetV2Spec.Layer> spec = MobileNetV2Spec.layers(dm);
    checkScopes(spec);

    List<ConvOp> backbone = new ArrayList<>();
    int current = input.index();
    int blockInput = current;
    String block = "";
    for (MobileNetV2Spec.Layer layer : spec) {
      ConvOp conv = convs.get(layer.scope());
      checkShape(conv, layer, dm);
      String layerBlock = layer.scope().substring(0, layer.scope().lastIndexOf('/'));
      if (!layerBlock.equals(block)) { // first layer of Conv or of an expanded_conv block
        block = layerBlock;
        blockInput = current;
      }
      requireWired(conv, current);
      current = conv.output();
      if (layer.residualAfter()) {
        current = residualAdd(conv, blockInput);
      }
      backbone.add(conv);
    }
    checkOrder(backbone);
    TfliteTensor features = graph.tensor(current);
    return matchHead(input, dm, backbone, features, last.outChannels());
  }

  private TfliteTensor imageInput() throws TfliteFormatException {
    if (graph.inputs().length != 1) {
      throw notDeepLab("expected 1 graph input, found " + graph.inputs().length);
    }
    TfliteTensor in = graph.tensor(graph.inputs()[0]);
    int[] s = in.shape();
    if (s.length != 4 || s[0] != 1 || s[1] < 1 || s[2] < 1 || s[3] != 3) {
      throw notDeepLab(
          "input '"
              + in.name()
              + "' has shape "
              + in.shapeString()
              + ", expected [1,height,width,3]");
    }
    return in;
  }

  private void collectOps(TfliteModel model) throws TfliteFormatException {
    for (TfliteOperator op : graph.operators()) {
      String name = op.name();
      if (!ALLOWED_OPS.contains(name)) {
        throw notDeepLab("unexpected operator " + name + " (op " + op.index() + ")");
      }
      for (int out : op.outputs()) {
        producers.put(out, op);
      }
      switch (name) {
        case "CONV_2D", "DEPTHWISE_CONV_2D" -> addConv(model, op);
        case "ADD" -> adds.add(op);
        case "AVERAGE_POOL_2D" -> pools.add(op);
        case "CONCATENATION" -> concats.add(op);
        default -> {}
      }
    }
  }

  private void addConv(TfliteModel model, TfliteOperator op) throws TfliteFormatException {
    int[] in = op.inputs();
    if (in.length != 3 || in[0] < 0 || in[1] < 0 || in[2] < 0 || op.outputs().length != 1) {
      throw notDeepLab(op.name() + " op " + op.index() + " does not have input, filter and bias");
    }
    boolean depthwise = op.name().equals("DEPTHWISE_CONV_2D");
    if (depthwise
        ? !(op.options() instanceof TfliteOptions.DepthwiseConv2D)
        : !(op.options() instanceof TfliteOptions.Conv2D)) {
      throw notDeepLab(op.name() + " op " + op.index() + " lacks its builtin options");
    }
    TfliteTensor weights = graph.tensor(in[1]);
    TfliteTensor bias = graph.tensor(in[2]);
    String scope = scopeOf(weights.name());
    if (scope == null) {
      throw notDeepLab(
          "conv op " + op.index() + " has unrecognised filter '" + weights.name() + "'");
    }
    if (!scope.equals(scopeOf(bias.name()))) {
      throw notDeepLab(
          "conv op "
              + op.index()
              + " filter is in scope '"
              + scope
              + "' but its bias is '"
              + bias.name()
              + "'");
    }
    if (model.buffers().get(weights.buffer()).length() == 0
        || model.buffers().get(bias.buffer()).length() == 0) {
      throw notDeepLab("conv '" + scope + "' has non-constant filter or bias");
    }
    if (weights.shape().length != 4 || bias.shape().length != 1) {
      throw notDeepLab(
          "conv '"
              + scope
              + "' has filter "
              + weights.shapeString()
              + " and bias "
              + bias.shapeString()
              + ", expected rank 4 and rank 1");
    }
    if (convs.put(scope, new ConvOp(scope, op, weights, bias)) != null) {
      throw notDeepLab("two conv ops in scope '" + scope + "'");
    }
  }

  /** The official scope named by a TFLite tensor name, or null if it names none. */
  static String scopeOf(String tensorName) {
    String[] parts = tensorName.split(";");
    for (int i = parts.length - 1; i >= 0; i--) {
      Matcher m = SCOPE.matcher(parts[i]);
      if (m.find()) {
        return m.group(1);
      }
    }
    return null;
  }

  private ConvOp require(String scope) throws TfliteFormatException {
    ConvOp conv = convs.get(scope);
    if (conv == null) {
      throw notDeepLab("no conv layer '" + scope + "'");
    }
    return conv;
  }

  private void checkScopes(List<MobileNetV2Spec.Layer> spec) throws TfliteFormatException {
    Set<String> expected = new LinkedHashSet<>();
    spec.forEach(l -> expected.add(l.scope()));
    expected.addAll(List.of(IMAGE_POOLING, ASPP0, CONCAT_PROJECTION, LOGITS));
    for (String scope : expected) {
      require(scope);
    }
    for (String scope : convs.keySet()) {
      if (!expected.contains(scope)) {
        throw notDeepLab("unexpected conv layer '" + scope + "'");
      }
    }
  }

  private static void checkShape(ConvOp conv, MobileNetV2Spec.Layer layer, double dm)
      throws TfliteFormatException {
    int k = layer.kernel();
    int[] expected =
        layer.depthwise()
            ? new int[] {1, k, k, layer.out()}
            : new int[] {layer.out(), k, k, layer.in()};
    boolean rightOp = conv.op().name().equals(layer.depthwise() ? "DEPTHWISE_CONV_2D" : "CONV_2D");
    if (!rightOp
        || !Arrays.equals(conv.weights().shape(), expected)
        || conv.bias().shape()[0] != layer.out()) {
      throw notDeepLab(
          "layer '"
              + layer.scope()
              + "' is "
              + conv.op().name()
              + " with filter "
              + conv.weights().shapeString()
              + ", but MobileNetV2 at depth multiplier "
              + dm
              + " has "
              + Arrays.toString(expected).replace(" ", ""));
    }
  }

  private static void requireWired(ConvOp conv, int expectedInput) throws TfliteFormatException {
    if (conv.input() != expectedInput) {
      throw notDeepLab(
          "layer '"
              + conv.scope()
              + "' reads tensor "
              + conv.input()
              + ", expected tensor "
              + expectedInput);
    }
  }

  private int residualAdd(ConvOp project, int blockInput) throws TfliteFormatException {
    for (TfliteOperator add : adds) {
      int[] in = add.inputs();
      if (in.length == 2
          && add.outputs().length == 1
          && ((in[0] == project.output() && in[1] == blockInput)
              || (in[1] == project.output() && in[0] == blockInput))) {
        return add.outputs()[0];
      }
    }
    throw notDeepLab("no residual ADD after '" + project.scope() + "'");
  }

  private void checkOrder(List<ConvOp> backbone) throws TfliteFormatException {
    for (int i = 1; i < backbone.size(); i++) {
      if (backbone.get(i).op().index() < backbone.get(i - 1).op().index()) {
        throw notDeepLab(
            "layer '"
                + backbone.get(i).scope()
                + "' runs before '"
                + backbone.get(i - 1).scope()
                + "'");
      }
    }
    int lastBackbone = backbone.get(backbone.size() - 1).op().index();
    for (String scope : List.of(IMAGE_POOLING, ASPP0, CONCAT_PROJECTION, LOGITS)) {
      if (convs.get(scope).op().index() < lastBackbone) {
        throw notDeepLab("head layer '" + scope + "' runs before the end of the backbone");
      }
    }
  }

  private Match matchHead(
      TfliteTensor input,
      double dm,
      List<ConvOp> backbone,
      TfliteTensor features,
      int featureChannels)
      throws TfliteFormatException {
    if (pools.size() != 1 || concats.size() != 1) {
      throw notDeepLab(
          "expected one AVERAGE_POOL_2D and one CONCATENATION, found "
              + pools.size()
              + " and "
              + concats.size());
    }
    TfliteOperator pool = pools.get(0);
    TfliteOperator concat = concats.get(0);
    firstInput(concat);
    if (firstInput(pool) != features.index()) {
      throw notDeepLab("the image-pooling AVERAGE_POOL_2D does not read the backbone output");
    }
    Map<String, ConvOp> head = new LinkedHashMap<>();
    for (String scope : List.of(IMAGE_POOLING, ASPP0, CONCAT_PROJECTION, LOGITS)) {
      head.put(scope, convs.get(scope));
    }
    requireWired(head.get(IMAGE_POOLING), pool.outputs()[0]);
    requireWired(head.get(ASPP0), features.index());
    requireWired(head.get(CONCAT_PROJECTION), concat.outputs()[0]);
    requireWired(head.get(LOGITS), head.get(CONCAT_PROJECTION).output());

    List<String> order = new ArrayList<>();
    for (int t : concat.inputs()) {
      order.add(branchScope(t));
    }
    if (order.size() != 2
        || !order.containsAll(OFFICIAL_CONCAT_ORDER)
        || !(concat.options() instanceof TfliteOptions.Concatenation c)
        || (c.axis() != 3 && c.axis() != -1)) {
      throw notDeepLab("the CONCATENATION does not stack image_pooling and aspp0 on channels");
    }
    checkHeadShapes(head, featureChannels);
    return new Match(input, dm, backbone, head, features, pool, order);
  }

  private static int firstInput(TfliteOperator op) throws TfliteFormatException {
    if (op.inputs().length == 0 || op.outputs().length == 0) {
      throw notDeepLab(op.name() + " op " + op.index() + " has no input or no output");
    }
    return op.inputs()[0];
  }

  /** The scope of the conv whose output reaches tensor {@code t} through resizes/requantises. */
  private String branchScope(int t) throws TfliteFormatException {
    for (int hops = 0; hops < 8; hops++) {
      TfliteOperator op = producers.get(t);
      if (op == null || op.inputs().length == 0) {
        break;
      }
      if (op.name().equals("CONV_2D")) {
        for (ConvOp conv : convs.values()) {
          if (conv.op() == op) {
            return conv.scope();
          }
        }
      }
      if (!PASS_THROUGH.contains(op.name())) {
        break;
      }
      t = op.inputs()[0];
    }
    throw notDeepLab("a CONCATENATION input does not come from a head conv");
  }

  private static void checkHeadShapes(Map<String, ConvOp> head, int featureChannels)
      throws TfliteFormatException {
    int depth = head.get(ASPP0).outChannels();
    int projDepth = head.get(CONCAT_PROJECTION).outChannels();
    int classes = head.get(LOGITS).outChannels();
    checkHead(head.get(IMAGE_POOLING), depth, featureChannels);
    checkHead(head.get(ASPP0), depth, featureChannels);
    checkHead(head.get(CONCAT_PROJECTION), projDepth, 2 * depth);
    checkHead(head.get(LOGITS), classes, projDepth);
  }

  private static void checkHead(ConvOp conv, int out, int in) throws TfliteFormatException {
    int[] expected = {out, 1, 1, in};
    if (!conv.op().name().equals("CONV_2D")
        || !Arrays.equals(conv.weights().shape(), expected)
        || conv.bias().shape()[0] != out) {
      throw notDeepLab(
          "head layer '"
              + conv.scope()
              + "' has filter "
              + conv.weights().shapeString()
              + ", expected "
              + Arrays.toString(expected).replace(" ", ""));
    }
  }

  private static TfliteFormatException notDeepLab(String detail) {
    return new TfliteFormatException("not the DeepLabv3 MobileNetV2 TFLite graph: " + detail);
  }
}
