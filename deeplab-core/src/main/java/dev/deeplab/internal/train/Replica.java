package dev.deeplab.internal.train;

import dev.deeplab.internal.model.DeepLab;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.nn.GraphOps;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.train.TrainConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TUint8;

/**
 * Builds one copy of the network in a graph of its own, for {@link GraphMerger}: either a
 * training replica (network, loss, gradients of its loss sum) or the evaluation network (inference
 * mode, arg-max predictions). Records the names of the nodes the trainer needs.
 *
 * @param graphDef the graph
 * @param pixels placeholder {@code [n, H, W, 3]} float pixel values 0..255
 * @param labels placeholder {@code [n, H, W]} uint8 class ids (training only)
 * @param lossSum scalar sum of the counted pixel losses (training only)
 * @param normalizer scalar number of counted pixels (training only)
 * @param gradients gradient tensor of {@code lossSum} for each of {@code trainable} (training only)
 * @param updateOps batch-norm moving-average updates (training only)
 * @param dropoutSeed int64 scalar node seeding dropout (training only)
 * @param predictions {@code [1, H, W]} int32 class ids (evaluation only)
 * @param variables the model variables by official name (name, shape, role)
 * @param trainable the names of the trainable variables, in {@code gradients} order
 */
public record Replica(
    GraphDef graphDef,
    String pixels,
    String labels,
    String lossSum,
    String normalizer,
    List<String> gradients,
    List<String> updateOps,
    String dropoutSeed,
    String predictions,
    Map<String, VariableInfo> variables,
    List<String> trainable) {

  /** Name of the shared int64 step variable, as the official {@code global_step}. */
  static final String GLOBAL_STEP = "global_step";

  /**
   * Name of a training replica's int32 {@code [1, H, W]} class ids of its first image: the
   * arg-max of the step's logits upsampled to the crop, for image summaries (computed only when
   * fetched).
   */
  static final String SAMPLE_PREDICTION = "sample_prediction";

  /** The nodes a non-owning copy must keep. */
  public Set<String> roots() {
    Set<String> r = new HashSet<>();
    if (predictions != null) {
      r.add(predictions);
    } else {
      r.add(lossSum);
      r.add(normalizer);
      r.addAll(gradients);
    }
    if (dropoutSeed != null) {
      r.add(dropoutSeed);
    }
    return r;
  }

  /**
   * A training replica of {@code config.replicaBatchSize()} images.
   *
   * @param replica its index, which also seeds its dropout
   */
  public static Replica training(TrainConfig config, int replica) {
    ModelConfig model = config.model();
    try (Graph g = new Graph()) {
      Ops tf = GraphOps.create(g);
      Variable<TInt64> step = tf.withName(GLOBAL_STEP).variable(tf.withInitScope().constant(0L));
      NetState state = new NetState(config.dropout(), config.fineTuneBatchNorm(),
          AtrousMode.SPACE_TO_BATCH, config.seed());
      int n = config.replicaBatchSize();
      Placeholder<TFloat32> pixels = tf.withName("pixels").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(n, model.cropHeight(), model.cropWidth(), 3)));
      Placeholder<TUint8> labels = tf.withName("labels").placeholder(TUint8.class,
          Placeholder.shape(Shape.of(n, model.cropHeight(), model.cropWidth())));
      Operand<TFloat32> logits = DeepLab.logits(NetScope.root(tf, state), pixels, model);
      Loss.Parts loss = Loss.build(tf.withSubScope("loss"), logits, labels, config.loss(), step,
          model.variant());
      Ops sample = tf.withSubScope("sample");
      Operand<TFloat32> first = sample.slice(logits, sample.constant(new int[] {0, 0, 0, 0}),
          sample.constant(new int[] {1, -1, -1, -1}));
      tf.withName(SAMPLE_PREDICTION).math.argMax(DeepLab.upsample(sample, first,
          model.cropHeight(), model.cropWidth(), model.variant()), tf.constant(3), TInt32.class);
      Operand<TInt64> seed = tf.withName("dropout_seed").math.add(
          tf.math.mul(step, tf.constant((long) config.replicas())), tf.constant((long) replica));

      List<String> trainable = new ArrayList<>();
      List<Output<?>> xs = new ArrayList<>();
      for (ModelVariable v : state.variables().values()) {
        if (v.role().trainable()) {
          trainable.add(v.name());
          xs.add(v.variable().asOutput());
        }
      }
      Output<?>[] grads = g.addGradients("gradients", new Output<?>[] {loss.sum().asOutput()},
          xs.toArray(new Output<?>[0]), null);
      List<String> gradNames = new ArrayList<>();
      for (int i = 0; i < grads.length; i++) {
        if (grads[i] == null) {
          throw new IllegalStateException("no gradient for " + trainable.get(i));
        }
        gradNames.add(name(grads[i]));
      }
      List<String> updates = new ArrayList<>();
      for (Op op : state.updateOps()) {
        updates.add(op.op().name());
      }
      return new Replica(g.toGraphDef(), pixels.op().name(), labels.op().name(),
          name(loss.sum().asOutput()), name(loss.normalizer().asOutput()), gradNames, updates,
          seed.op().name(), null, info(state), trainable);
    }
  }

  /**
   * The evaluation network: batch norm on moving statistics, no dropout, one image of {@code
   * height x width} in, arg-max of the upsampled logits out.
   */
  static Replica evaluation(ModelConfig model, int height, int width) {
    ModelConfig m = model.withCropSize(height, width);
    try (Graph g = new Graph()) {
      Ops tf = GraphOps.create(g);
      NetState state = NetState.inference();
      Placeholder<TFloat32> pixels = tf.withName("pixels").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(1, height, width, 3)));
      Operand<TFloat32> logits = DeepLab.logits(NetScope.root(tf, state), pixels, m);
      Operand<TInt32> predictions = tf.withName("predictions").math.argMax(
          DeepLab.upsample(tf, logits, height, width, m.variant()), tf.constant(3), TInt32.class);
      return new Replica(g.toGraphDef(), pixels.op().name(), null, null, null, List.of(),
          List.of(), null, name(predictions.asOutput()), info(state), List.of());
    }
  }

  private static Map<String, VariableInfo> info(NetState state) {
    Map<String, VariableInfo> out = new LinkedHashMap<>();
    for (ModelVariable v : state.variables().values()) {
      out.put(v.name(), new VariableInfo(v.name(), v.shape(), v.role()));
    }
    return out;
  }

  private static String name(Output<?> o) {
    return o.op().name() + ":" + o.index();
  }
}
