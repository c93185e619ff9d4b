package dev.deeplab.internal.nn;

import dev.deeplab.internal.weights.FloatTensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.types.TFloat32;

/**
 * What every layer of one network shares while the graph is built: whether batch norm and dropout
 * run in training mode, how atrous convs are built, the variables created so far (by official
 * name), the batch-norm moving-average updates, and the seed counter that makes initialisation
 * deterministic.
 */
public final class NetState {
  private final boolean trainBatchNorm;
  private final boolean training;
  private final AtrousMode atrousMode;
  private final long seed;
  private long seedCounter;
  private final Map<String, ModelVariable> variables;
  private final boolean reuse;
  private final List<Op> updateOps = new ArrayList<>();
  /** The weights to build in as constants, or null: layers read their variables. */
  private final Map<String, FloatTensor> weights;
  /** The constants made from {@link #weights} so far, by name; shared with reusing copies. */
  private final Map<String, Operand<TFloat32>> constants;

  /**
   * @param training dropout active (the official {@code is_training})
   * @param trainBatchNorm batch norm uses batch statistics and updates its moving averages (the
   *     official {@code is_training and fine_tune_batch_norm}); with {@code training} false this
   *     gives a deterministic training-mode graph, as gradient checks need
   * @param atrousMode how dilated convs are built
   * @param seed graph-level seed of the initialisers
   */
  public NetState(boolean training, boolean trainBatchNorm, AtrousMode atrousMode, long seed) {
    if ((training || trainBatchNorm) && atrousMode != AtrousMode.SPACE_TO_BATCH) {
      throw new IllegalArgumentException(
          "training needs AtrousMode.SPACE_TO_BATCH: dilated conv gradients are wrong in TF 2.18");
    }
    this.training = training;
    this.trainBatchNorm = trainBatchNorm;
    this.atrousMode = atrousMode;
    this.seed = seed;
    this.variables = new LinkedHashMap<>();
    this.reuse = false;
    this.weights = null;
    this.constants = null;
  }

  private NetState(AtrousMode atrousMode, Map<String, FloatTensor> weights) {
    this.training = false;
    this.trainBatchNorm = false;
    this.atrousMode = atrousMode;
    this.seed = 0;
    this.variables = new LinkedHashMap<>();
    this.reuse = false;
    this.weights = Map.copyOf(weights);
    this.constants = new HashMap<>();
  }

  private NetState(NetState owner) {
    this.training = owner.training;
    this.trainBatchNorm = owner.trainBatchNorm;
    this.atrousMode = owner.atrousMode;
    this.seed = owner.seed;
    this.variables = owner.variables;
    this.reuse = true;
    this.weights = owner.weights;
    this.constants = owner.constants;
  }

  /**
   * A state for another copy of the same network in the same graph (another input size, say):
   * its layers take the variables {@code owner} created, by official name, instead of creating
   * new ones. Batch norm must be in inference mode (no moving-average updates to share).
   */
  public static NetState reusing(NetState owner) {
    if (owner.trainBatchNorm) {
      throw new IllegalArgumentException("variables are shared only by inference networks");
    }
    return new NetState(owner);
  }

  /** The variable of that official name when this state reuses another's, else null. */
  ModelVariable reused(String name) {
    if (!reuse) {
      return null;
    }
    ModelVariable v = variables.get(name);
    if (v == null) {
      throw new IllegalStateException("no variable " + name + " to reuse");
    }
    return v;
  }

  /** Inference: batch norm on moving statistics, no dropout, space-to-batch atrous convs. */
  public static NetState inference() {
    return new NetState(false, false, AtrousMode.SPACE_TO_BATCH, 0);
  }

  /**
   * Inference with {@code weights} built into the graph as constants, batch norm folded into the
   * convolution before it at build time ({@link BatchNormSpec#foldInto}): the inference graph of a
   * frozen export, with no per-run work on the weights. The variables are still created under
   * their official names (so that the weights can be saved and read back by name), but the
   * network does not read them. A variable that {@code weights} lacks, or holds with another
   * shape, is read as a variable (callers check the weights against {@link #variables()}).
   */
  public static NetState folded(AtrousMode atrousMode, Map<String, FloatTensor> weights) {
    return new NetState(atrousMode, weights);
  }

  /** Whether layers build their weights in as constants ({@link #folded}). */
  public boolean foldsWeights() {
    return weights != null;
  }

  /** The weight of that name if this state folds weights and holds it with that shape. */
  FloatTensor weight(String name, long[] shape) {
    FloatTensor w = weights == null ? null : weights.get(name);
    return w != null && java.util.Arrays.equals(w.shape(), shape) ? w : null;
  }

  /**
   * The constant named {@code name} in the graph, made by {@code make} on first use (so that
   * copies of the network share one node per weight).
   */
  Operand<TFloat32> constant(String name, java.util.function.Supplier<Operand<TFloat32>> make) {
    Operand<TFloat32> c = constants.get(name);
    if (c == null) {
      c = make.get();
      constants.put(name, c);
    }
    return c;
  }

  public boolean training() {
    return training;
  }

  public boolean trainBatchNorm() {
    return trainBatchNorm;
  }

  public AtrousMode atrousMode() {
    return atrousMode;
  }

  /** The next op-level seed pair; a fixed sequence for a fixed graph and seed. */
  long[] nextSeed() {
    return new long[] {seed, ++seedCounter};
  }

  void register(ModelVariable v) {
    if (variables.putIfAbsent(v.name(), v) != null) {
      throw new IllegalStateException("variable " + v.name() + " created twice");
    }
  }

  /** Adds a batch-norm moving-average update to run with each training step. */
  public void addUpdate(Op op) {
    updateOps.add(op);
  }

  /** The variables in creation order, keyed by official name. */
  public Map<String, ModelVariable> variables() {
    return Collections.unmodifiableMap(variables);
  }

  /** Batch-norm moving-average updates to run with each training step. */
  public List<Op> updateOps() {
    return Collections.unmodifiableList(updateOps);
  }
}
