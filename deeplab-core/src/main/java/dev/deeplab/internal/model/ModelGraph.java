package dev.deeplab.internal.model;

import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.nn.GraphOps;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * A graph holding one DeepLab network in inference mode: a float pixel placeholder {@code [N,
 * cropHeight, cropWidth, 3]} (values 0..255) and the logits at the output stride. The base for
 * tests, inspection and the serving graph; owns (and closes) its {@link Graph}.
 */
public final class ModelGraph implements AutoCloseable {
  private final Graph graph;
  private final ModelConfig config;
  private final NetState state;
  private final Placeholder<TFloat32> pixels;
  private final Operand<TFloat32> logits;

  private ModelGraph(ModelConfig config, AtrousMode atrous, Map<String, FloatTensor> frozen) {
    this.graph = new Graph();
    this.config = config;
    try {
      Ops tf = GraphOps.create(graph);
      this.state = frozen == null ? new NetState(false, false, atrous, 0)
          : NetState.folded(atrous, frozen);
      this.pixels = tf.withName("pixels").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, config.cropHeight(), config.cropWidth(), 3)));
      this.logits = tf.withName("logits_output").identity(
          DeepLab.logits(NetScope.root(tf, state), pixels, config));
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** Builds the inference network of {@code config}. */
  public static ModelGraph build(ModelConfig config) {
    return new ModelGraph(config, AtrousMode.SPACE_TO_BATCH, null);
  }

  /**
   * Builds the network with {@code weights} built in as constants and batch norm folded into
   * them ({@link NetState#folded}); its variables exist but the logits do not read them.
   */
  public static ModelGraph buildFrozen(ModelConfig config, Map<String, FloatTensor> weights) {
    return new ModelGraph(config, AtrousMode.SPACE_TO_BATCH, weights);
  }

  /** Builds it with a chosen atrous-conv form (for benchmarks). */
  public static ModelGraph build(ModelConfig config, AtrousMode atrous) {
    return new ModelGraph(config, atrous, null);
  }

  public Graph graph() {
    return graph;
  }

  public ModelConfig config() {
    return config;
  }

  public Placeholder<TFloat32> pixels() {
    return pixels;
  }

  public Operand<TFloat32> logits() {
    return logits;
  }

  /** The model variables by official name, in creation order. */
  public Map<String, ModelVariable> variables() {
    return state.variables();
  }

  /** Total number of scalars in the model variables. */
  public long parameterCount() {
    return state.variables().values().stream().mapToLong(ModelVariable::size).sum();
  }

  @Override
  public void close() {
    graph.close();
  }
}
