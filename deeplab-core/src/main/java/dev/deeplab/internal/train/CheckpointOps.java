package dev.deeplab.internal.train;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.train.Restore;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * Save and restore ops for every {@code VariableV2} of a graph (model variables, momentum slots,
 * {@code global_step}), built once before the training loop: {@code SaveV2} / {@code RestoreV2}
 * with a fed file prefix, each variable under its op name, as Python's {@code tf.train.Saver} does.
 * The files are TF tensor-bundle V2 checkpoints that Python TF and {@code
 * io.checkpoint.Checkpoints} read by the official names.
 *
 * <p>{@link Session#save} would do the same but adds its saver ops to the graph on first use,
 * i.e. inside the loop.
 */
final class CheckpointOps {
  private final Placeholder<TString> prefix;
  private final Op save;
  private final Op restore;
  private final List<String> names;

  private CheckpointOps(Placeholder<TString> prefix, Op save, Op restore, List<String> names) {
    this.prefix = prefix;
    this.save = save;
    this.restore = restore;
    this.names = names;
  }

  /** Builds the ops for all variables now in {@code graph}. */
  @SuppressWarnings("unchecked")
  static CheckpointOps build(Graph graph, Ops tf) {
    List<String> names = new ArrayList<>();
    List<Operand<?>> values = new ArrayList<>();
    List<Class<? extends TType>> types = new ArrayList<>();
    for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      if (op.type().equals("VariableV2")) {
        names.add(op.name());
        values.add(op.output(0));
        types.add(typeOf(op));
      }
    }
    Placeholder<TString> prefix = tf.withName("checkpoint_prefix").placeholder(TString.class);
    Operand<TString> tensorNames = tf.constant(NdArrays.vectorOfObjects(names.toArray(new String[0])));
    String[] empty = new String[names.size()];
    java.util.Arrays.fill(empty, "");
    Operand<TString> slices = tf.constant(NdArrays.vectorOfObjects(empty));
    Op save = tf.train.save(prefix, tensorNames, slices, values);
    Restore restored = tf.train.restore(prefix, tensorNames, slices, types);
    List<Op> assigns = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      assigns.add(tf.assign((Operand<TType>) values.get(i), (Operand<TType>) restored.tensors().get(i)));
    }
    Op restore = tf.withControlDependencies(assigns).withName("restore_all").noOp();
    return new CheckpointOps(prefix, save, restore, List.copyOf(names));
  }

  private static Class<? extends TType> typeOf(GraphOperation variable) {
    DataType t = variable.output(0).dataType();
    return switch (t) {
      case DT_FLOAT, DT_FLOAT_REF -> TFloat32.class;
      case DT_INT64, DT_INT64_REF -> TInt64.class;
      default -> throw new IllegalStateException(
          "variable " + variable.name() + " has unsupported type " + t);
    };
  }

  /** The names of the variables saved, in order. */
  List<String> names() {
    return names;
  }

  /** Writes all variables to the checkpoint {@code path} (files {@code path.index}, {@code .data-*}). */
  void save(Session session, String path) {
    try (TString p = TString.scalarOf(path)) {
      session.runner().feed(prefix, p).addTarget(save).run().close();
    }
  }

  /** Sets all variables from the checkpoint {@code path}, which must hold every one of them. */
  void restore(Session session, String path) {
    try (TString p = TString.scalarOf(path)) {
      session.runner().feed(prefix, p).addTarget(restore).run().close();
    }
  }
}
