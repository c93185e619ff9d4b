package dev.deeplab.bench;

import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.model.ModelConfig;
import java.util.Iterator;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.ndarray.Shape;

/**
 * Counts multiply-adds from the static shapes of a graph's {@code Conv2D}, {@code
 * DepthwiseConv2dNative} and {@code MatMul} ops (NHWC): a conv costs {@code N·Ho·Wo·Cout·kh·kw·Cin},
 * a depthwise conv {@code N·Ho·Wo·C·m·kh·kw}, a product {@code M·N·K} (a 1×1 conv built as a
 * product counts as the conv). Batch norm, activations, pooling and resizing are not counted, as
 * in the papers' MAdds.
 *
 * <p>{@link #forConfig} counts the network of a configuration as the papers do, on a graph with
 * native dilations. Do not count a space-to-batch graph with an unknown batch: its convs run on
 * {@code rate²·N} shards, and the unknown batch would be taken as {@code unknownDim}.
 */
public final class FlopCounter {
  private FlopCounter() {}

  /**
   * Counts the ops of {@code graph}; a dimension left unknown ({@code -1}, e.g. the batch) counts
   * as {@code unknownDim}.
   *
   * @throws IllegalArgumentException if a counted op has an unknown dimension other than the batch
   */
  public static FlopCount count(Graph graph, long unknownDim) {
    long conv = 0;
    long dw = 0;
    long mm = 0;
    int convOps = 0;
    int dwOps = 0;
    for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      switch (op.type()) {
        case "Conv2D" -> {
          long[] out = dims(op.output(0).shape(), unknownDim, op);
          long[] f = dims(op.input(1).shape(), unknownDim, op);
          conv += out[0] * out[1] * out[2] * out[3] * f[0] * f[1] * f[2];
          convOps++;
        }
        case "DepthwiseConv2dNative" -> {
          long[] out = dims(op.output(0).shape(), unknownDim, op);
          long[] f = dims(op.input(1).shape(), unknownDim, op);
          dw += out[0] * out[1] * out[2] * out[3] * f[0] * f[1];
          dwOps++;
        }
        case "MatMul" -> {
          long[] out = dims(op.output(0).shape(), unknownDim, op);
          long[] a = dims(op.input(0).shape(), unknownDim, op);
          boolean transposeA = op.attributes().getAttrBool("transpose_a");
          long k = transposeA ? a[0] : a[1];
          mm += rows(op, out[0], unknownDim) * out[1] * k;
        }
        default -> { }
      }
    }
    return new FlopCount(conv, dw, mm, convOps, dwOps);
  }

  /** The multiply-adds of one image through the network of {@code config} at its crop size. */
  public static FlopCount forConfig(ModelConfig config) {
    try (ModelGraph g = ModelGraph.build(config, AtrousMode.NATIVE_DILATION)) {
      return count(g.graph(), 1);
    }
  }

  /**
   * The rows of a product; when unknown, those of a 1×1 conv built as one ({@code Conv}): the
   * {@code N·H·W} of the {@code [N,H,W,C]} tensor reshaped into its left operand.
   */
  private static long rows(GraphOperation op, long rows, long unknownDim) {
    if (op.output(0).shape().size(0) >= 0
        || op.attributes().getAttrBool("transpose_a")
        || !op.input(0).op().type().equals("Reshape")) {
      return rows;
    }
    GraphOperation reshape = (GraphOperation) op.input(0).op();
    long[] in = dims(reshape.input(0).shape(), unknownDim, reshape);
    long n = 1;
    for (int i = 0; i < in.length - 1; i++) {
      n *= in[i];
    }
    return n;
  }

  private static long[] dims(Shape s, long unknownDim, GraphOperation op) {
    if (s.isUnknown()) {
      throw new IllegalArgumentException("op " + op.name() + " has an unknown shape");
    }
    long[] d = s.asArray();
    for (int i = 0; i < d.length; i++) {
      if (d[i] < 0) {
        if (i != 0) {
          throw new IllegalArgumentException(
              "op " + op.name() + " has an unknown dimension " + i + ": " + s);
        }
        d[i] = unknownDim;
      }
    }
    return d;
  }
}
