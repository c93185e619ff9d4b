package dev.deeplab.internal.train;

import com.google.protobuf.ByteString;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorProto;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Merges copies of the network, each built in a graph of its own, into one {@code GraphDef} in
 * which all copies share one set of variables: the equivalent of TF1's {@code
 * variable_scope(reuse=True)} towers, which the library's layers cannot do within one graph (every
 * layer creates its variables under the official name, and TF Java uniquifies repeated names).
 *
 * <p>The first fragment <em>owns</em> the variables: its {@code VariableV2} nodes, their
 * initialisers and the {@code Init} op that TF Java's {@code Graph.toGraphDef()} adds keep their
 * names. Every other node of every fragment is renamed under the fragment's prefix. Later
 * fragments keep only what their roots need, without their own {@code VariableV2} nodes, so that
 * their reads resolve to the shared variables by name.
 *
 * <p>Each fragment's nodes are placed on its device (gradients included, like Python's {@code
 * colocate_gradients_with_ops}); variables, their initialisers and assignments go to the variable
 * device, as slim's {@code model_deploy} puts variables on the CPU.
 *
 * <p>Optionally the stateful dropout {@code RandomUniform} ops are rewritten to {@code
 * StatelessRandomUniform} seeded by {@code (op seed, a per-step seed tensor)}, so that dropout
 * masks depend only on the step and replica: training resumed from a checkpoint then draws the
 * same masks as an uninterrupted run.
 */
public final class GraphMerger {
  static final String INIT_OP = "Init";
  private static final String VARIABLE_OP = "VariableV2";
  private static final Set<String> ASSIGN_OPS = Set.of("Assign", "AssignSub", "AssignAdd");

  private GraphMerger() {}

  /**
   * One copy of the network.
   *
   * @param graphDef the graph it was built in ({@code Graph.toGraphDef()})
   * @param prefix name prefix of its nodes in the merged graph, e.g. {@code replica_1}
   * @param device its device, or "" for default placement
   * @param ownsVariables whether this fragment contributes the shared variables (exactly one)
   * @param roots node names this fragment must keep (with all their inputs); ignored for the
   *     owner, which keeps everything
   * @param dropoutSeed name of an int64 scalar node of the fragment that seeds its dropout, or
   *     null to leave random ops unchanged
   */
  public record Fragment(GraphDef graphDef, String prefix, String device, boolean ownsVariables,
      Set<String> roots, String dropoutSeed) {}

  /** The merged graph and, per fragment, the new name of each of its kept nodes. */
  public record Merged(GraphDef graphDef, List<Map<String, String>> names) {
    /** The merged name of a tensor {@code node:index} or node of fragment {@code f}. */
    public String rename(int f, String name) {
      String base = baseName(name);
      String renamed = names.get(f).get(base);
      if (renamed == null) {
        throw new IllegalArgumentException("node " + base + " is not in merged fragment " + f);
      }
      return renamed + name.substring(base.length());
    }
  }

  public static Merged merge(List<Fragment> fragments, String variableDevice) {
    Fragment owner = fragments.stream().filter(Fragment::ownsVariables).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no fragment owns the variables"));
    Set<String> shared = new HashSet<>();
    for (NodeDef n : owner.graphDef().getNodeList()) {
      if (n.getOp().equals(VARIABLE_OP)) {
        shared.add(n.getName());
      }
    }
    GraphDef.Builder out = GraphDef.newBuilder().setVersions(owner.graphDef().getVersions());
    List<Map<String, String>> allNames = new ArrayList<>();
    for (Fragment f : fragments) {
      out.getLibraryBuilder().mergeFrom(f.graphDef().getLibrary());
      allNames.add(add(f, shared, variableDevice, out));
    }
    return new Merged(out.build(), allNames);
  }

  private static Map<String, String> add(Fragment f, Set<String> shared, String variableDevice,
      GraphDef.Builder out) {
    Map<String, NodeDef> nodes = new LinkedHashMap<>();
    for (NodeDef n : f.graphDef().getNodeList()) {
      nodes.put(n.getName(), n);
    }
    Set<String> init = f.ownsVariables() && nodes.containsKey(INIT_OP)
        ? ancestors(nodes, Set.of(INIT_OP)) : Set.of();
    Set<String> keep = f.ownsVariables() ? new HashSet<>(nodes.keySet()) : ancestors(nodes, f.roots());
    if (!f.ownsVariables()) {
      for (String name : List.copyOf(keep)) {
        if (nodes.get(name).getOp().equals(VARIABLE_OP)) {
          if (!shared.contains(name)) {
            throw new IllegalArgumentException("fragment " + f.prefix()
                + " reads variable " + name + " that the first replica does not create");
          }
          keep.remove(name);
        }
      }
    }
    if (f.dropoutSeed() != null) {
      statelessDropout(nodes, keep, init, f.dropoutSeed());
    }
    Map<String, String> names = new HashMap<>();
    for (String name : keep) {
      NodeDef n = nodes.get(name);
      boolean fixed = n.getOp().equals(VARIABLE_OP) || (f.ownsVariables() && name.equals(INIT_OP));
      names.put(name, fixed ? name : f.prefix() + "/" + name);
    }
    if (!f.ownsVariables()) {
      for (String v : shared) {
        names.putIfAbsent(v, v);
      }
    }
    for (String name : keep) {
      NodeDef n = nodes.get(name);
      NodeDef.Builder b = n.toBuilder().setName(names.get(name)).clearInput();
      for (String in : n.getInputList()) {
        boolean control = in.startsWith("^");
        String tensor = control ? in.substring(1) : in;
        String base = baseName(tensor);
        String renamed = names.get(base);
        if (renamed == null) {
          throw new IllegalStateException("input " + in + " of " + name + " was not kept");
        }
        b.addInput((control ? "^" : "") + renamed + tensor.substring(base.length()));
      }
      boolean onVariableDevice = f.ownsVariables() && (init.contains(name)
          || n.getOp().equals(VARIABLE_OP) || ASSIGN_OPS.contains(n.getOp()));
      b.setDevice(onVariableDevice ? variableDevice : f.device());
      renameColocation(b, names);
      out.addNode(b);
    }
    return names;
  }

  /** Rewrites {@code _class: loc:@name} colocation hints to the new names (drops stale ones). */
  private static void renameColocation(NodeDef.Builder b, Map<String, String> names) {
    AttrValue cls = b.getAttrMap().get("_class");
    if (cls == null) {
      return;
    }
    AttrValue.ListValue.Builder list = AttrValue.ListValue.newBuilder();
    for (ByteString s : cls.getList().getSList()) {
      String v = s.toStringUtf8();
      if (v.startsWith("loc:@") && names.containsKey(v.substring(5))) {
        list.addS(ByteString.copyFromUtf8("loc:@" + names.get(v.substring(5))));
      }
    }
    if (list.getSCount() == 0) {
      b.removeAttr("_class");
    } else {
      b.putAttr("_class", AttrValue.newBuilder().setList(list).build());
    }
  }

  /** Replaces the kept non-initialiser {@code RandomUniform} ops by stateless ones. */
  private static void statelessDropout(Map<String, NodeDef> nodes, Set<String> keep,
      Set<String> init, String seedNode) {
    for (String name : List.copyOf(keep)) {
      NodeDef n = nodes.get(name);
      if (!n.getOp().equals("RandomUniform") || init.contains(name)) {
        continue;
      }
      long opSeed = n.getAttrOrThrow("seed").getI() * 1_000_003L + n.getAttrOrThrow("seed2").getI();
      String constName = name + "/op_seed";
      String packName = name + "/stateless_seed";
      NodeDef constNode = NodeDef.newBuilder().setName(constName).setOp("Const")
          .putAttr("dtype", type(DataType.DT_INT64))
          .putAttr("value", AttrValue.newBuilder().setTensor(TensorProto.newBuilder()
              .setDtype(DataType.DT_INT64).setTensorShape(TensorShapeProto.getDefaultInstance())
              .addInt64Val(opSeed)).build())
          .build();
      NodeDef pack = NodeDef.newBuilder().setName(packName).setOp("Pack")
          .addInput(constName).addInput(seedNode)
          .putAttr("N", AttrValue.newBuilder().setI(2).build())
          .putAttr("T", type(DataType.DT_INT64))
          .putAttr("axis", AttrValue.newBuilder().setI(0).build())
          .build();
      NodeDef stateless = n.toBuilder().setOp("StatelessRandomUniform").clearInput()
          .addInput(n.getInput(0)).addInput(packName)
          .removeAttr("seed").removeAttr("seed2")
          .putAttr("Tseed", type(DataType.DT_INT64))
          .build();
      nodes.put(constName, constNode);
      nodes.put(packName, pack);
      nodes.put(name, stateless);
      keep.add(constName);
      keep.add(packName);
    }
  }

  private static AttrValue type(DataType t) {
    return AttrValue.newBuilder().setType(t).build();
  }

  /** The roots and every node they depend on, through data and control inputs. */
  static Set<String> ancestors(Map<String, NodeDef> nodes, Set<String> roots) {
    Set<String> seen = new HashSet<>();
    Deque<String> todo = new ArrayDeque<>();
    for (String r : roots) {
      todo.add(baseName(r));
    }
    while (!todo.isEmpty()) {
      String name = todo.pop();
      NodeDef n = nodes.get(name);
      if (n == null) {
        throw new IllegalArgumentException("no node " + name + " in the fragment");
      }
      if (seen.add(name)) {
        for (String in : n.getInputList()) {
          todo.add(baseName(in));
        }
      }
    }
    return seen;
  }

  /** The node name of {@code ^node}, {@code node:3} or {@code node}. */
  static String baseName(String input) {
    String s = input.startsWith("^") ? input.substring(1) : input;
    int colon = s.lastIndexOf(':');
    return colon >= 0 && s.substring(colon + 1).chars().allMatch(Character::isDigit)
        ? s.substring(0, colon) : s;
  }
}
