package dev.deeplab.internal.onnx;

import com.google.protobuf.ByteString;
import dev.deeplab.internal.onnx.proto.Onnx.AttributeProto;
import dev.deeplab.internal.onnx.proto.Onnx.GraphProto;
import dev.deeplab.internal.onnx.proto.Onnx.ModelProto;
import dev.deeplab.internal.onnx.proto.Onnx.NodeProto;
import dev.deeplab.internal.onnx.proto.Onnx.OperatorSetIdProto;
import dev.deeplab.internal.onnx.proto.Onnx.TensorProto;
import dev.deeplab.internal.onnx.proto.Onnx.TensorShapeProto;
import dev.deeplab.internal.onnx.proto.Onnx.TypeProto;
import dev.deeplab.internal.onnx.proto.Onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;

/**
 * An ONNX graph under construction (<a href="https://onnx.ai/onnx/repo-docs/IR.html">ONNX IR</a>,
 * default domain at {@link #OPSET}): nodes in the order added (which must be topological),
 * initializers, typed inputs and outputs. Names are made unique here; {@link #node} returns the
 * name of the node's (first) output. Not thread-safe.
 */
public final class OnnxGraph {
  /** The operator set written: 17 has every op we emit with its current signature. */
  public static final int OPSET = 17;
  /** IR version 8 goes with opset 17 (ONNX's versioning table). */
  private static final int IR_VERSION = 8;

  private final GraphProto.Builder graph = GraphProto.newBuilder();
  private final Set<String> names = new HashSet<>();
  private int counter;

  public OnnxGraph(String name) {
    graph.setName(name);
  }

  /** A name not used yet, made from {@code hint}. */
  public String fresh(String hint) {
    String base = hint.replace(':', '_');
    String name = base;
    while (!names.add(name)) {
      name = base + "_" + ++counter;
    }
    return name;
  }

  /** Adds a graph input of {@code elemType} ({@link TensorProto.DataType}) and dims (a string for
   * a symbolic dimension, a {@link Long} for a fixed one). */
  public String input(String name, TensorProto.DataType elemType, Object... dims) {
    names.add(name);
    graph.addInput(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declares {@code value} a graph output under its own name. */
  public void output(String value, TensorProto.DataType elemType, Object... dims) {
    graph.addOutput(valueInfo(value, elemType, dims));
  }

  private static ValueInfoProto valueInfo(String name, TensorProto.DataType type, Object... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
      if (d instanceof String s) {
        dim.setDimParam(s);
      } else {
        dim.setDimValue(((Number) d).longValue());
      }
      shape.addDim(dim);
    }
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
            .setElemType(type.getNumber()).setShape(shape)))
        .build();
  }

  /** A float initializer of {@code shape}; returns its name. */
  public String floats(String hint, float[] values, long... shape) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return raw(hint, TensorProto.DataType.FLOAT, b.array(), shape);
  }

  /** An int64 initializer of {@code shape}; returns its name. */
  public String longs(String hint, long[] values, long... shape) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    b.asLongBuffer().put(values);
    return raw(hint, TensorProto.DataType.INT64, b.array(), shape);
  }

  /** A 1-D int64 initializer. */
  public String longs(String hint, long... values) {
    return longs(hint, values, values.length);
  }

  /** A float scalar initializer. */
  public String scalar(String hint, float value) {
    return floats(hint, new float[] {value});
  }

  /** An initializer of raw little-endian bytes. */
  public String raw(String hint, TensorProto.DataType type, byte[] bytes, long... shape) {
    String name = fresh(hint);
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber())
        .setRawData(ByteString.copyFrom(bytes));
    for (long d : shape) {
      t.addDims(d);
    }
    graph.addInitializer(t);
    return name;
  }

  /**
   * Adds a node of {@code op} with {@code inputs} ("" for an omitted optional input) and one
   * output named after {@code hint}; returns the output's name.
   */
  public String node(String op, String hint, String[] inputs, Attr... attrs) {
    return node(op, inputs, new String[] {fresh(hint)}, attrs)[0];
  }

  /** Adds a node with the given output names (made unique); returns them. */
  public String[] node(String op, String[] inputs, String[] outputs, Attr... attrs) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(outputs[0]);
    for (String in : inputs) {
      n.addInput(in);
    }
    for (String out : outputs) {
      names.add(out);
      n.addOutput(out);
    }
    for (Attr a : attrs) {
      n.addAttribute(a.proto);
    }
    graph.addNode(n);
    return outputs;
  }

  /** The model: this graph, opset {@value #OPSET}, producer {@code producer}. */
  public ModelProto model(String producer, String version, String docString) {
    return ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .setProducerName(producer)
        .setProducerVersion(version)
        .setDocString(docString)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
        .setGraph(graph)
        .build();
  }

  /** A node attribute. */
  public static final class Attr {
    private final AttributeProto proto;

    private Attr(AttributeProto proto) {
      this.proto = proto;
    }

    public static Attr i(String name, long v) {
      return new Attr(AttributeProto.newBuilder().setName(name)
          .setType(AttributeProto.AttributeType.INT).setI(v).build());
    }

    public static Attr s(String name, String v) {
      return new Attr(AttributeProto.newBuilder().setName(name)
          .setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(v)).build());
    }

    public static Attr ints(String name, long... v) {
      AttributeProto.Builder b = AttributeProto.newBuilder().setName(name)
          .setType(AttributeProto.AttributeType.INTS);
      for (long x : v) {
        b.addInts(x);
      }
      return new Attr(b.build());
    }
  }
}
