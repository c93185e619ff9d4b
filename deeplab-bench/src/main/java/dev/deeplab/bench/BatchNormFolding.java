package dev.deeplab.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * An inference-graph rewrite for measurement: every inference-mode {@code FusedBatchNormV3} is
 * folded into the convolution before it. With {@code s = gamma / sqrt(var + eps)}, the conv's
 * filter becomes {@code filter · s} (per output channel; {@code [c,1]} for depthwise) and the
 * batch norm becomes {@code BiasAdd(beta - mean · s)}; a batch norm with no conv of its own before
 * it (through at most a {@code BatchToSpaceND}) becomes {@code BiasAdd(x · s, shift)}.
 *
 * <p>Why: under oneDNN, TF 2.18 runs a batch norm that follows a depthwise conv as a separate
 * {@code _MklNativeFusedBatchNormV3}, which is very slow on this machine, while {@code
 * Conv2D/DepthwiseConv2dNative + BiasAdd + Relu/Relu6} fuse into one kernel. The variables keep
 * their official names (the folding ops read them every run), so checkpoints restore unchanged.
 * Node names of the original graph are kept, so feeds and fetches work as before.
 */
public final class BatchNormFolding {
  private BatchNormFolding() {}

  /**
   * The result of a rewrite.
   *
   * @param graph the rewritten graph
   * @param foldedIntoConv batch norms folded into a conv filter
   * @param scaleShift batch norms turned into a multiply and a bias add
   */
  public record Result(GraphDef graph, int foldedIntoConv, int scaleShift) {}

  /** Folds every inference-mode batch norm of {@code in}. */
  public static Result fold(GraphDef in) {
    return fold(in, false);
  }

  /**
   * Folds the inference-mode batch norms of {@code in}; with {@code depthwiseOnly} only those
   * after a depthwise conv (tiny filters, so folding them costs nothing per run; dense {@code
   * Conv2D + FusedBatchNorm} are left to Grappler's own fusion, which both oneDNN and Eigen do).
   */
  public static Result fold(GraphDef in, boolean depthwiseOnly) {
    Map<String, NodeDef.Builder> nodes = new LinkedHashMap<>();
    for (NodeDef n : in.getNodeList()) {
      nodes.put(n.getName(), n.toBuilder());
    }
    Map<String, Integer> consumers = new HashMap<>();
    Map<String, Boolean> sideOutputsUsed = new HashMap<>();
    for (NodeDef n : in.getNodeList()) {
      for (String input : n.getInputList()) {
        if (input.startsWith("^")) {
          continue;
        }
        String producer = producer(input);
        consumers.merge(producer, 1, Integer::sum);
        if (outputIndex(input) > 0) {
          sideOutputsUsed.put(producer, true);
        }
      }
    }
    List<NodeDef> added = new ArrayList<>();
    int intoConv = 0;
    int scaleShift = 0;
    for (NodeDef.Builder n : new ArrayList<>(nodes.values())) {
      boolean bn = n.getOp().equals("FusedBatchNormV3") || n.getOp().equals("FusedBatchNorm");
      if (!bn || attr(n, "is_training").getB() || sideOutputsUsed.containsKey(n.getName())
          || !attr(n, "data_format").getS().toStringUtf8().equals("NHWC")
          || attr(n, "T").getType() != DataType.DT_FLOAT) {
        continue;
      }
      String name = n.getName();
      String x = n.getInput(0);
      String gamma = n.getInput(1);
      String beta = n.getInput(2);
      String mean = n.getInput(3);
      String variance = n.getInput(4);
      List<String> control = n.getInputList().stream().filter(s -> s.startsWith("^")).toList();
      NodeDef.Builder conv = convBefore(x, nodes, consumers);
      if (depthwiseOnly && (conv == null || !conv.getOp().equals("DepthwiseConv2dNative"))) {
        continue;
      }
      float eps = attr(n, "epsilon").getF();
      String p = name + "/fold_";
      added.add(scalarConst(p + "eps", eps));
      added.add(binary(p + "var_eps", "AddV2", variance, p + "eps"));
      added.add(unary(p + "rsqrt", "Rsqrt", p + "var_eps"));
      added.add(binary(p + "scale", "Mul", gamma, p + "rsqrt"));
      added.add(binary(p + "mean_scale", "Mul", mean, p + "scale"));
      added.add(binary(p + "shift", "Sub", beta, p + "mean_scale"));
      String biasInput;
      if (conv != null) {
        String filter = conv.getInput(1);
        if (conv.getOp().equals("Conv2D")) {
          added.add(binary(p + "filter", "Mul", filter, p + "scale"));
        } else {
          added.add(intVectorConst(p + "dw_shape", new int[] {-1, 1}));
          added.add(reshape(p + "dw_scale", p + "scale", p + "dw_shape"));
          added.add(binary(p + "filter", "Mul", filter, p + "dw_scale"));
        }
        conv.setInput(1, p + "filter");
        biasInput = x;
        intoConv++;
      } else {
        added.add(binary(p + "mul", "Mul", x, p + "scale"));
        biasInput = p + "mul";
        scaleShift++;
      }
      n.clearInput().clearAttr().setOp("BiasAdd").addInput(biasInput).addInput(p + "shift")
          .addAllInput(control)
          .putAttr("T", AttrValue.newBuilder().setType(DataType.DT_FLOAT).build())
          .putAttr("data_format", AttrValue.newBuilder()
              .setS(com.google.protobuf.ByteString.copyFromUtf8("NHWC")).build());
    }
    GraphDef.Builder out = in.toBuilder().clearNode();
    nodes.values().forEach(b -> out.addNode(b.build()));
    added.forEach(out::addNode);
    return new Result(out.build(), intoConv, scaleShift);
  }

  /** The conv whose only consumer leads (directly or through one BatchToSpaceND) to {@code x}. */
  private static NodeDef.Builder convBefore(String x, Map<String, NodeDef.Builder> nodes,
      Map<String, Integer> consumers) {
    if (outputIndex(x) != 0) {
      return null;
    }
    NodeDef.Builder p = nodes.get(producer(x));
    if (p == null || consumers.getOrDefault(p.getName(), 0) != 1) {
      return null;
    }
    if (p.getOp().equals("BatchToSpaceND")) {
      String in = p.getInput(0);
      if (outputIndex(in) != 0) {
        return null;
      }
      p = nodes.get(producer(in));
      if (p == null || consumers.getOrDefault(p.getName(), 0) != 1) {
        return null;
      }
    }
    boolean conv = p.getOp().equals("Conv2D") || (p.getOp().equals("DepthwiseConv2dNative")
        && p.getInput(1) != null);
    if (!conv || !attr(p, "data_format").getS().toStringUtf8().equals("NHWC")
        || attr(p, "T").getType() != DataType.DT_FLOAT) {
      return null;
    }
    return p;
  }

  private static AttrValue attr(NodeDef.Builder n, String key) {
    AttrValue v = n.getAttrMap().get(key);
    return v == null ? AttrValue.getDefaultInstance() : v;
  }

  static String producer(String input) {
    String s = input.startsWith("^") ? input.substring(1) : input;
    int colon = s.lastIndexOf(':');
    return colon < 0 ? s : s.substring(0, colon);
  }

  static int outputIndex(String input) {
    int colon = input.lastIndexOf(':');
    return colon < 0 ? 0 : Integer.parseInt(input.substring(colon + 1));
  }

  private static AttrValue floatType() {
    return AttrValue.newBuilder().setType(DataType.DT_FLOAT).build();
  }

  private static NodeDef binary(String name, String op, String a, String b) {
    return NodeDef.newBuilder().setName(name).setOp(op).addInput(a).addInput(b)
        .putAttr("T", floatType()).build();
  }

  private static NodeDef unary(String name, String op, String a) {
    return NodeDef.newBuilder().setName(name).setOp(op).addInput(a).putAttr("T", floatType())
        .build();
  }

  private static NodeDef reshape(String name, String tensor, String shape) {
    return NodeDef.newBuilder().setName(name).setOp("Reshape").addInput(tensor).addInput(shape)
        .putAttr("T", floatType())
        .putAttr("Tshape", AttrValue.newBuilder().setType(DataType.DT_INT32).build()).build();
  }

  private static NodeDef scalarConst(String name, float v) {
    TensorProto t = TensorProto.newBuilder().setDtype(DataType.DT_FLOAT)
        .setTensorShape(TensorShapeProto.getDefaultInstance()).addFloatVal(v).build();
    return NodeDef.newBuilder().setName(name).setOp("Const")
        .putAttr("dtype", floatType()).putAttr("value", AttrValue.newBuilder().setTensor(t).build())
        .build();
  }

  private static NodeDef intVectorConst(String name, int[] v) {
    TensorProto.Builder t = TensorProto.newBuilder().setDtype(DataType.DT_INT32)
        .setTensorShape(TensorShapeProto.newBuilder()
            .addDim(TensorShapeProto.Dim.newBuilder().setSize(v.length)));
    for (int i : v) {
      t.addIntVal(i);
    }
    return NodeDef.newBuilder().setName(name).setOp("Const")
        .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_INT32).build())
        .putAttr("value", AttrValue.newBuilder().setTensor(t).build()).build();
  }
}
