package dev.deeplab.internal.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.op.Op;

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
  }

  private NetState(NetState owner) {
    this.training = owner.training;
    this.trainBatchNorm = owner.trainBatchNorm;
    this.atrousMode = owner.atrousMode;
    this.seed = owner.seed;
    this.variables = owner.variables;
    this.reuse = true;
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
