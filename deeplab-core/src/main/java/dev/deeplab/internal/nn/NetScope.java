package dev.deeplab.internal.nn;

import dev.deeplab.internal.weights.FloatTensor;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * A variable scope of the network under construction: a TF name scope plus its slash-separated
 * path, so that variables get the official checkpoint names (TF Java rejects slashes in names, so
 * scopes are chained one level at a time).
 *
 * <p>TF Java uniquifies repeated names silently ({@code conv1} twice gives {@code conv1_1}), so
 * each scope must be entered once; {@link NetState} fails loudly on a duplicate variable name.
 */
public final class NetScope {
  private final Ops tf;
  private final NetState state;
  private final String path;

  private NetScope(Ops tf, NetState state, String path) {
    this.tf = tf;
    this.state = state;
    this.path = path;
  }

  /** The root scope of a graph. */
  public static NetScope root(Ops tf, NetState state) {
    return new NetScope(tf, state, "");
  }

  /** A child scope; {@code name} may contain slashes, each part becomes one level. */
  public NetScope child(String name) {
    NetScope s = this;
    for (String part : name.split("/")) {
      s = new NetScope(s.tf.withSubScope(part), state, s.path.isEmpty() ? part : s.path + "/" + part);
    }
    return s;
  }

  /** Ops that create operations inside this scope. */
  public Ops tf() {
    return tf;
  }

  public NetState state() {
    return state;
  }

  /** The slash-separated path of this scope ("" at the root). */
  public String path() {
    return path;
  }

  /**
   * Creates a {@code VariableV2} named {@code path/name}, initialised in the init scope (so {@code
   * Session.initialize()} sets it, and {@code Session.save} writes it).
   */
  public Variable<TFloat32> variable(String name, long[] shape, Initializer init, Role role) {
    String full = path.isEmpty() ? name : path + "/" + name;
    ModelVariable shared = state.reused(full);
    if (shared != null) {
      if (!java.util.Arrays.equals(shared.shape(), shape)) {
        throw new IllegalStateException("variable " + full + " reused with shape "
            + java.util.Arrays.toString(shape) + ", created with " + shared.shapeString());
      }
      return shared.variable();
    }
    Shape s = Shape.of(shape);
    Ops initOps = tf.withInitScope();
    Variable<TFloat32> v =
        tf.withName(name).variable(init.create(initOps, s, state.nextSeed()));
    if (!v.op().name().equals(full)) {
      throw new IllegalStateException(
          "variable scope entered twice: wanted " + full + ", TF named it " + v.op().name());
    }
    state.register(new ModelVariable(full, v, shape.clone(), role));
    return v;
  }

  /**
   * The value a layer computes with: variable {@code path/name} ({@link #variable}, created or
   * reused in any case), or, when the state folds weights ({@link NetState#folded}), a constant
   * holding its weight.
   */
  public Operand<TFloat32> value(String name, long[] shape, Initializer init, Role role) {
    return constantOr(name, shape, variable(name, shape, init, role));
  }

  /**
   * The constant of weight {@code path/name} when the state folds weights and holds it, else
   * {@code variable} (the variable of that name, already created).
   */
  Operand<TFloat32> constantOr(String name, long[] shape, Operand<TFloat32> variable) {
    FloatTensor w = weight(name, shape);
    return w == null ? variable : constant(fullName(name), name + "_frozen", w);
  }

  /** The state's weight {@code path/name} if it folds weights and holds it, else null. */
  FloatTensor weight(String name, long[] shape) {
    return state.weight(fullName(name), shape);
  }

  private String fullName(String name) {
    return path.isEmpty() ? name : path + "/" + name;
  }

  /**
   * A constant {@code opName} in this scope holding {@code value}, made once per graph for
   * {@code key} and shared by every copy of the network.
   */
  Operand<TFloat32> constant(String key, String opName, FloatTensor value) {
    return state.constant(key, () -> tf.withName(opName).constant(Shape.of(value.shape()),
        DataBuffers.of(value.data(), true, false)));
  }
}
