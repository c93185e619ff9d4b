package dev.deeplab.internal.serving;

import dev.deeplab.internal.nn.GraphOps;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.AssertThat;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * The graph loops of the {@code serving_default} signatures ({@link ServingGraph}, {@link
 * TorchServingGraph}), which take a batch of encoded images of any sizes: a map over the batch,
 * and the header check that refuses the whole request before anything is decoded.
 */
final class BatchLoops {
  private BatchLoops() {}

  /** Builds the per-item outputs of one loop iteration (in the loop body's graph). */
  @FunctionalInterface
  interface ItemBuilder {
    List<Operand<? extends TType>> build(Ops body, Operand<TInt32> i, Operand<TString> items,
        List<Operand<?>> carried);
  }

  /**
   * A graph loop over {@code i = 0 .. n-1} that builds per-item tensors with {@code item} and
   * stacks each kind into {@code [n, shape...]} (a map over the batch; TensorFlow's own map_fn
   * lowers to the same While loop and TensorLists). {@code items} and {@code carried} enter the
   * loop unchanged. The body cannot see tensors outside the loop, only what enters it.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static List<Operand<? extends TType>> map(Graph graph, Ops tf, String name, Operand<TInt32> n,
      Operand<TString> items, List<Operand<? extends TType>> carried, ItemBuilder item,
      List<int[]> shapes, List<Class<? extends TType>> types) {
    int kinds = shapes.size();
    List<Output<?>> inputs = new ArrayList<>();
    inputs.add(tf.constant(0).asOutput());
    inputs.add(items.asOutput());
    carried.forEach(c -> inputs.add(c.asOutput()));
    for (int k = 0; k < kinds; k++) {
      inputs.add(tf.tensorListReserve(tf.constant(shapes.get(k)), n, (Class) types.get(k))
          .asOutput());
    }
    int lists = 2 + carried.size();
    Output<?>[] outputs = graph.whileLoop(inputs.toArray(new Output<?>[0]),
        (cg, in, out) -> {
          Ops c = GraphOps.create(cg);
          out[0] = c.math.less((Operand<TInt32>) in[0],
              c.size((Operand<TString>) in[1], TInt32.class)).asOutput();
        },
        (bg, in, out) -> {
          Ops b = GraphOps.create(bg);
          Operand<TInt32> i = (Operand<TInt32>) in[0];
          List<Operand<?>> extra = new ArrayList<>();
          for (int c = 2; c < lists; c++) {
            extra.add(in[c]);
          }
          List<Operand<? extends TType>> values = item.build(b, i, (Operand<TString>) in[1], extra);
          out[0] = b.math.add(i, b.constant(1)).asOutput();
          for (int c = 1; c < lists; c++) {
            out[c] = b.identity((Operand) in[c]).asOutput();
          }
          for (int k = 0; k < kinds; k++) {
            out[lists + k] = b.tensorListSetItem((Operand) in[lists + k], i, values.get(k))
                .asOutput();
          }
        }, name);
    List<Operand<? extends TType>> stacked = new ArrayList<>();
    for (int k = 0; k < kinds; k++) {
      int[] shape = shapes.get(k);
      int[] full = new int[shape.length + 1];
      full[0] = -1;
      System.arraycopy(shape, 0, full, 1, shape.length);
      Operand<? extends TType> s = tf.tensorListStack((Operand) outputs[lists + k],
          tf.constant(shape), (Class) types.get(k));
      stacked.add(tf.reshape((Operand) s, tf.constant(full)));
    }
    return stacked;
  }

  /**
   * {@code imageBytes} behind an assertion that every image's header names a JPEG, PNG, GIF or
   * BMP of at least one and at most {@code maxPixels} pixels (InvalidArgument otherwise, HTTP 400
   * in TF Serving), built in {@code check}'s scope; {@code n} is the number of images.
   */
  @SuppressWarnings("unchecked")
  static Operand<TString> checkedImageBytes(Graph graph, Ops check, Operand<TInt32> n,
      Operand<TString> imageBytes, long maxPixels) {
    Operand<TInt64> dims = (Operand<TInt64>) map(graph, check, "header_loop", n, imageBytes,
        List.of(),
        (b, i, bytes, extra) -> List.of(ImageHeaders.dims(b, b.gather(bytes, i, b.constant(0)))),
        List.of(new int[] {3}), List.of(TInt64.class)).get(0);
    Operand<TInt64> h = check.gather(dims, check.constant(0), check.constant(1));
    Operand<TInt64> w = check.gather(dims, check.constant(1), check.constant(1));
    Operand<TInt64> known = check.gather(dims, check.constant(2), check.constant(1));
    Operand<TBool> ok = check.reduceAll(check.math.logicalAnd(check.math.logicalAnd(
        check.math.equal(known, check.constant(1L)),
        check.math.logicalAnd(check.math.greater(h, check.constant(0L)),
            check.math.greater(w, check.constant(0L)))),
        check.math.lessEqual(check.math.mul(h, w), check.constant(maxPixels))),
        check.constant(0));
    AssertThat assertion = check.assertThat(ok, List.of(
        check.constant("image_bytes: every image must be a JPEG, PNG, GIF or BMP of at most "
            + maxPixels + " pixels; [height, width, recognised] read from the headers:"),
        dims), AssertThat.summarize(64L));
    return check.withControlDependencies(List.of(assertion)).identity(imageBytes);
  }
}
