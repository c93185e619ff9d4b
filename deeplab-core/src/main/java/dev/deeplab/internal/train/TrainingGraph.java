package dev.deeplab.internal.train;

import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.nn.Role;
import dev.deeplab.train.Optimizer;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TType;

/**
 * The complete training graph, built once before the loop, and its session.
 *
 * <p>Contents, following the official {@code train.py} with slim's {@code model_deploy}:
 *
 * <ul>
 *   <li>one network replica per device, each with its own slice of the batch and its own
 *       batch-norm statistics (no sync BN, as the official code), sharing one set of variables
 *       ({@link GraphMerger}); the moving averages are updated from the first replica only;
 *   <li>the loss of each replica ({@link Loss}) and its gradients, computed per replica on its
 *       device by TF's C++ gradients ({@code Graph.addGradients}) with respect to the trainable
 *       model variables only;
 *   <li>on the variable device: gradients summed over replicas and divided by the number of
 *       counted pixels of the whole batch (so that any number of replicas computes the update of
 *       one device with the global batch), plus {@code weightDecay * w} for the conv weights (the
 *       gradient of {@code wd * l2_loss(w)}), times the official {@link GradientMultipliers};
 *       the learning rate from {@code global_step} ({@link LearningRateGraph}); {@link
 *       MomentumUpdate} or {@link AdamUpdate}; then {@code global_step += 1};
 *   <li>save/restore ops for every variable ({@link CheckpointOps});
 *   <li>optionally the evaluation network (inference mode, whole padded image, arg-max).
 * </ul>
 *
 * <p>On a cluster ({@link dev.deeplab.train.ClusterSpec}) the devices are those of several
 * processes and the session runs through the chief's TensorFlow server: the variables, the
 * optimizer, the checkpoint ops and the evaluation network are on the chief's CPU ({@link
 * Devices#variableDevice}); each step the chief feeds every replica its slice of the batch, sends
 * it the variables and receives its gradients (TensorFlow's gRPC transfers).
 */
public final class TrainingGraph implements AutoCloseable {
  private final TrainConfig config;
  private final Graph graph;
  private final Session session;
  private final List<String> pixelInputs;
  private final List<String> labelInputs;
  private final Output<TFloat32> loss;
  private final Output<TFloat32> learningRate;
  private final Output<TInt64> globalStep;
  private final String samplePrediction;
  private final Op train;
  private final CheckpointOps checkpoints;
  private final Map<String, VariableInfo> variables;
  private final String evalPixels;
  private final String evalPredictions;
  private final int evalHeight;
  private final int evalWidth;
  private final List<BatchNormStatistics> batchNorms = new ArrayList<>();
  private long step;
  private boolean abandoned;

  /**
   * One batch-norm layer of the first replica in training mode: its moving-average variables
   * and the batch statistics its {@code FusedBatchNormV3} computes.
   */
  private record BatchNormStatistics(Output<TFloat32> batchMean, Output<TFloat32> batchVariance,
      Placeholder<TFloat32> newMean, Placeholder<TFloat32> newVariance, Op set) {}

  private TrainingGraph(TrainConfig config, int evalHeight, int evalWidth, String target) {
    this.config = config;
    this.evalHeight = evalHeight;
    this.evalWidth = evalWidth;
    List<Replica> replicas = new ArrayList<>();
    List<GraphMerger.Fragment> fragments = new ArrayList<>();
    boolean placed = !config.devices().isEmpty();
    for (int k = 0; k < config.replicas(); k++) {
      Replica r = Replica.training(config, k);
      replicas.add(r);
      fragments.add(new GraphMerger.Fragment(r.graphDef(), "replica_" + k,
          placed ? config.devices().get(k) : "", k == 0, r.roots(), r.dropoutSeed()));
    }
    Replica eval = null;
    if (evalHeight > 0) {
      eval = Replica.evaluation(config.model(), evalHeight, evalWidth);
      fragments.add(new GraphMerger.Fragment(eval.graphDef(), "eval",
          placed ? config.devices().get(0) : "", false, eval.roots(), null));
    }
    String variableDevice = Devices.variableDevice(config.devices());
    GraphMerger.Merged merged = GraphMerger.merge(fragments, variableDevice);
    this.variables = Collections.unmodifiableMap(new LinkedHashMap<>(replicas.get(0).variables()));

    graph = new Graph();
    try {
      graph.importGraphDef(merged.graphDef());
      Ops tf = Ops.create(graph).withSubScope("train");
      if (placed) {
        tf = tf.withDevice(Devices.spec(variableDevice));
      }
      pixelInputs = new ArrayList<>();
      labelInputs = new ArrayList<>();
      List<Operand<TFloat32>> sums = new ArrayList<>();
      List<Operand<TFloat32>> counts = new ArrayList<>();
      List<String> updates = new ArrayList<>();
      for (int k = 0; k < replicas.size(); k++) {
        Replica r = replicas.get(k);
        pixelInputs.add(merged.rename(k, r.pixels()));
        labelInputs.add(merged.rename(k, r.labels()));
        sums.add(output(merged.rename(k, r.lossSum())));
        counts.add(output(merged.rename(k, r.normalizer())));
        if (k == 0) {
          for (String u : r.updateOps()) {
            updates.add(merged.rename(k, u));
          }
        }
      }
      globalStep = output(Replica.GLOBAL_STEP);
      samplePrediction = merged.rename(0, Replica.SAMPLE_PREDICTION);
      Update update = buildUpdate(tf, merged, replicas, sums, counts, updates);
      loss = update.loss();
      learningRate = update.learningRate();
      train = update.train();
      if (config.fineTuneBatchNorm()) {
        findBatchNorms(replicas.get(0).graphDef(), merged, tf.withSubScope("precise_bn"));
      }
      checkpoints = CheckpointOps.build(graph, tf.withSubScope("checkpoint"));
      if (eval != null) {
        int f = fragments.size() - 1;
        evalPixels = merged.rename(f, eval.pixels());
        evalPredictions = merged.rename(f, eval.predictions());
      } else {
        evalPixels = null;
        evalPredictions = null;
      }
      session = Sessions.open(graph, target, Devices.sessionConfig(config.devices()));
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
    try {
      session.initialize();
    } catch (RuntimeException e) {
      if (target.isEmpty()) { // on a cluster, closing could wait for a lost task forever
        session.close();
        graph.close();
      }
      throw e;
    }
    step = 0;
  }

  /** The ops of one training step: loss, learning rate, and the update run as a target. */
  private record Update(Output<TFloat32> loss, Output<TFloat32> learningRate, Op train) {}

  /**
   * Averages the replicas' gradients over the counted pixels of the whole batch, adds weight
   * decay and the bias multiplier, and applies momentum once every gradient is computed; then
   * runs the batch-norm updates of replica 0 and increments {@code global_step}.
   */
  private Update buildUpdate(Ops tf, GraphMerger.Merged merged, List<Replica> replicas,
      List<Operand<TFloat32>> sums, List<Operand<TFloat32>> counts, List<String> updates) {
    Operand<TFloat32> pixels = tf.math.maximum(addAll(tf, counts), tf.constant(1f));
    Operand<TFloat32> dataLoss = tf.math.div(addAll(tf, sums), pixels);
    Output<TFloat32> learningRate = tf.withName("learning_rate").identity(
        LearningRateGraph.build(tf, config, globalStep)).asOutput();

    List<Operand<TFloat32>> grads = new ArrayList<>();
    List<org.tensorflow.Operation> computed = new ArrayList<>();
    List<Operand<TFloat32>> decayTerms = new ArrayList<>();
    Operand<TFloat32> wd = tf.constant((float) config.weightDecay());
    Replica first = replicas.get(0);
    for (int i = 0; i < first.trainable().size(); i++) {
      String name = first.trainable().get(i);
      VariableInfo info = variables.get(name);
      Operand<TFloat32> var = output(name);
      List<Operand<TFloat32>> perReplica = new ArrayList<>();
      for (int k = 0; k < replicas.size(); k++) {
        Operand<TFloat32> g = output(merged.rename(k, replicas.get(k).gradients().get(i)));
        perReplica.add(g);
        computed.add(g.op());
      }
      Operand<TFloat32> grad = tf.math.div(addAll(tf, perReplica), pixels);
      if (info.role().regularized() && config.weightDecay() > 0) {
        grad = tf.math.add(grad, tf.math.mul(wd, var));
        decayTerms.add(tf.nn.l2Loss(var));
      }
      float multiplier = GradientMultipliers.of(name, info.role(), config);
      if (multiplier != 1f) {
        grad = tf.math.mul(grad, tf.constant(multiplier));
      }
      grads.add(grad);
    }
    Operand<TFloat32> total = decayTerms.isEmpty() ? dataLoss
        : tf.math.add(dataLoss, tf.math.mul(wd, addAll(tf, decayTerms)));
    Output<TFloat32> loss = tf.withName("total_loss").identity(total).asOutput();
    // Variables are ref-typed and updated in place: no update may start before every op that
    // reads a variable for the gradients (e.g. a conv's input gradient reads its filter) has
    // run. Python's optimizers gate the same way (gate_gradients); without it the result of a
    // step depends on thread timing.
    computed.add(loss.op());
    Op gate = tf.withControlDependencyOps(computed).withName("gradients_ready").noOp();
    Ops gated = tf.withControlDependencies(List.of(gate));
    List<Op> applies = new ArrayList<>();
    AdamUpdate adam = config.optimizer().kind() == Optimizer.Kind.ADAM
        ? new AdamUpdate(graph, tf, config.optimizer()) : null;
    for (int i = 0; i < first.trainable().size(); i++) {
      String name = first.trainable().get(i);
      long[] shape = variables.get(name).shape();
      applies.add(adam != null
          ? adam.apply(gated, name, shape, output(name), learningRate, grads.get(i))
          : MomentumUpdate.apply(graph, tf, gated, name, shape, output(name), learningRate,
              grads.get(i), (float) config.optimizer().momentum()));
    }
    List<org.tensorflow.Operation> deps = new ArrayList<>();
    applies.forEach(a -> deps.add(a.op()));
    if (adam != null) {
      adam.finish(applies).forEach(a -> deps.add(a.op()));
    }
    for (String u : updates) {
      deps.add(graph.operationOrThrow(u));
    }
    Op train = tf.withControlDependencyOps(deps).withName("step")
        .assignAdd(globalStep, tf.constant(1L));
    return new Update(loss, learningRate, train);
  }

  /**
   * Builds the training graph and initialises all variables (initialisers of the model, zero
   * momentum slots, {@code global_step} 0).
   *
   * @param config what to train
   * @param evalHeight height of the evaluation network input (images are padded to it), or 0
   *     for no evaluation network
   * @param evalWidth its width
   */
  public static TrainingGraph build(TrainConfig config, int evalHeight, int evalWidth) {
    return new TrainingGraph(config, evalHeight, evalWidth, "");
  }

  /**
   * {@link #build(TrainConfig, int, int)} with the session through the TensorFlow server at
   * {@code target} ({@code grpc://host:port}, the chief of a cluster whose tasks the {@link
   * TrainConfig#devices} name), or a local session for "".
   */
  public static TrainingGraph build(TrainConfig config, int evalHeight, int evalWidth,
      String target) {
    return new TrainingGraph(config, evalHeight, evalWidth, target);
  }

  /** {@link #build(TrainConfig, int, int)} without an evaluation network. */
  public static TrainingGraph build(TrainConfig config) {
    return new TrainingGraph(config, 0, 0, "");
  }

  private static Operand<TFloat32> addAll(Ops tf, List<Operand<TFloat32>> xs) {
    return xs.size() == 1 ? xs.get(0) : tf.math.addN(xs);
  }

  @SuppressWarnings("unchecked")
  private <T extends TType> Output<T> output(String name) {
    return (Output<T>) graph.outputOrThrow(name);
  }

  /**
   * The result of one step.
   *
   * @param step the value of {@code global_step} after the step
   * @param loss the total loss before the update (data loss + weight decay)
   * @param learningRate the learning rate used
   * @param samplePrediction class ids of the first image of the batch, row-major at the crop
   *     size: the arg-max of this step's logits (before the update); null unless asked for
   */
  public record StepResult(long step, float loss, float learningRate, int[] samplePrediction) {}

  /**
   * Runs one training step on {@code batch} (the global batch; replica k gets images {@code
   * [k*n, (k+1)*n)}).
   */
  public StepResult step(Batch batch) {
    return step(batch, false);
  }

  /**
   * {@link #step(Batch)}, also fetching the {@link StepResult#samplePrediction} when {@code
   * withSample} (from the same run: no extra forward pass).
   */
  public StepResult step(Batch batch, boolean withSample) {
    int n = config.replicaBatchSize();
    int h = config.model().cropHeight();
    int w = config.model().cropWidth();
    if (batch.size() != config.batchSize() || batch.height() != h || batch.width() != w) {
      throw new IllegalArgumentException("batch is " + batch.size() + "x" + batch.height() + "x"
          + batch.width() + ", the graph needs " + config.batchSize() + "x" + h + "x" + w);
    }
    List<Tensor> inputs = new ArrayList<>();
    try {
      Session.Runner runner = session.runner();
      int pixelsPer = n * h * w * 3;
      int labelsPer = n * h * w;
      for (int k = 0; k < config.replicas(); k++) {
        TFloat32 px = TFloat32.tensorOf(Shape.of(n, h, w, 3),
            DataBuffers.of(batch.pixels(), true, false).slice((long) k * pixelsPer, pixelsPer));
        inputs.add(px);
        TUint8 lb = TUint8.tensorOf(Shape.of(n, h, w),
            DataBuffers.of(batch.labels(), true, false).slice((long) k * labelsPer, labelsPer));
        inputs.add(lb);
        runner.feed(pixelInputs.get(k), px).feed(labelInputs.get(k), lb);
      }
      // global_step is not fetched: its read would race with the increment of the same run.
      runner.addTarget(train).fetch(loss).fetch(learningRate);
      if (withSample) {
        runner.fetch(samplePrediction);
      }
      try (Result r = runner.run()) {
        step++;
        int[] sample = null;
        if (withSample) {
          sample = new int[h * w];
          ((TInt32) r.get(2)).copyTo(DataBuffers.of(sample, false, false));
        }
        return new StepResult(step, ((TFloat32) r.get(0)).getFloat(),
            ((TFloat32) r.get(1)).getFloat(), sample);
      }
    } finally {
      inputs.forEach(Tensor::close);
    }
  }

  /** Finds the training-mode batch norms of replica 0 behind each moving mean. */
  private void findBatchNorms(org.tensorflow.proto.GraphDef first, GraphMerger.Merged merged,
      Ops tf) {
    Map<String, String> byGamma = new java.util.HashMap<>();
    for (org.tensorflow.proto.NodeDef n : first.getNodeList()) {
      if (n.getOp().equals("FusedBatchNormV3") && n.getInputCount() > 1) {
        byGamma.put(GraphMerger.baseName(n.getInput(1)), n.getName());
      }
    }
    for (VariableInfo v : variables.values()) {
      if (v.role() != Role.BN_MOVING_MEAN) {
        continue;
      }
      // slim's scope/{gamma,moving_mean,moving_variance} or PyTorch's
      // name.{weight,running_mean,running_var}
      boolean torch = v.name().endsWith(".running_mean");
      String scope = v.name().substring(0, v.name().length() - (torch ? 13 : 12));
      String gamma = scope + (torch ? ".weight" : "/gamma");
      String node = byGamma.get(gamma);
      if (node == null) {
        throw new IllegalStateException("no training batch norm reads " + gamma);
      }
      org.tensorflow.GraphOperation bn = graph.operationOrThrow(merged.rename(0, node));
      Placeholder<TFloat32> mean = tf.placeholder(TFloat32.class);
      Placeholder<TFloat32> variance = tf.placeholder(TFloat32.class);
      Op set = tf.withControlDependencies(List.of(
          tf.assign(output(v.name()), mean),
          tf.assign(output(scope + (torch ? ".running_var" : "/moving_variance")), variance)))
          .noOp();
      batchNorms.add(new BatchNormStatistics(bn.output(1), bn.output(2), mean, variance, set));
    }
  }

  /**
   * Sets the batch-norm moving averages to the mean of the batch statistics of the first
   * replica over {@code batches} ("precise BN", Wu &amp; Johnson, "Rethinking 'Batch' in
   * BatchNorm", 2021): useful when a short run leaves the slow official moving averages (decay
   * 0.997..0.9997) far from the statistics the weights now produce. Does not change the trained
   * weights; needs batch-norm fine-tuning.
   */
  public void recalibrateBatchNorm(List<Batch> batches) {
    if (batchNorms.isEmpty()) {
      throw new IllegalStateException("batch norm is not trained, there is nothing to recalibrate");
    }
    int n = config.replicaBatchSize();
    int h = config.model().cropHeight();
    int w = config.model().cropWidth();
    List<float[]> sums = new ArrayList<>();
    for (Batch b : batches) {
      try (TFloat32 px = TFloat32.tensorOf(Shape.of(n, h, w, 3),
          DataBuffers.of(b.pixels(), true, false).slice(0, (long) n * h * w * 3))) {
        Session.Runner runner = session.runner().feed(pixelInputs.get(0), px);
        for (BatchNormStatistics s : batchNorms) {
          runner.fetch(s.batchMean()).fetch(s.batchVariance());
        }
        try (Result r = runner.run()) {
          for (int i = 0; i < 2 * batchNorms.size(); i++) {
            accumulate(sums, i, (TFloat32) r.get(i));
          }
        }
      }
    }
    List<Tensor> values = new ArrayList<>();
    try {
      Session.Runner runner = session.runner();
      for (int i = 0; i < sums.size(); i++) {
        float[] avg = sums.get(i);
        for (int j = 0; j < avg.length; j++) {
          avg[j] /= batches.size();
        }
        TFloat32 t = TFloat32.tensorOf(Shape.of(avg.length), DataBuffers.of(avg, true, false));
        values.add(t);
        BatchNormStatistics s = batchNorms.get(i / 2);
        runner.feed(i % 2 == 0 ? s.newMean() : s.newVariance(), t);
        if (i % 2 == 1) {
          runner.addTarget(s.set());
        }
      }
      runner.run().close();
    } finally {
      values.forEach(Tensor::close);
    }
  }

  private static void accumulate(List<float[]> sums, int i, TFloat32 t) {
    float[] v = new float[(int) t.shape().size()];
    t.copyTo(DataBuffers.of(v, false, false));
    if (sums.size() <= i) {
      sums.add(new float[v.length]);
    }
    float[] sum = sums.get(i);
    for (int j = 0; j < v.length; j++) {
      sum[j] += v[j];
    }
  }

  /** The current value of {@code global_step}: the number of steps trained. */
  public long globalStep() {
    return step;
  }

  private long readGlobalStep() {
    try (Result r = session.runner().fetch(globalStep).run()) {
      return ((TInt64) r.get(0)).getObject();
    }
  }

  /** Whether the graph has the evaluation network. */
  public boolean canEvaluate() {
    return evalPixels != null;
  }

  /** Input height of the evaluation network. */
  public int evalHeight() {
    return evalHeight;
  }

  /** Input width of the evaluation network. */
  public int evalWidth() {
    return evalWidth;
  }

  /**
   * Runs the evaluation network on one padded image.
   *
   * @param pixels {@code evalHeight*evalWidth*3} float RGB values 0..255
   * @return class ids, {@code evalHeight*evalWidth}
   */
  public int[] predict(float[] pixels) {
    if (evalPixels == null) {
      throw new IllegalStateException("the training graph was built without evaluation");
    }
    try (TFloat32 px = TFloat32.tensorOf(Shape.of(1, evalHeight, evalWidth, 3),
            DataBuffers.of(pixels, true, false));
        Result r = session.runner().feed(evalPixels, px).fetch(evalPredictions).run()) {
      int[] out = new int[evalHeight * evalWidth];
      ((TInt32) r.get(0)).copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  /** Writes every variable (model, momentum slots, global step) to the checkpoint {@code prefix}. */
  void save(String prefix) {
    checkpoints.save(session, prefix);
  }

  /** Restores every variable from the checkpoint {@code prefix}. */
  public void restore(String prefix) {
    checkpoints.restore(session, prefix);
    step = readGlobalStep();
  }

  /** The model variables (name, shape, role) by official name. */
  public Map<String, VariableInfo> variables() {
    return variables;
  }

  /** The current values of the model variables, by official name. */
  public Map<String, FloatTensor> modelWeights() {
    return read(new ArrayList<>(variables.keySet()));
  }

  /** The current values of some float variables (model variables or momentum slots). */
  public Map<String, FloatTensor> read(List<String> names) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    Session.Runner runner = session.runner();
    names.forEach(runner::fetch);
    try (Result r = runner.run()) {
      for (int i = 0; i < names.size(); i++) {
        out.put(names.get(i), FloatTensor.copyOf((TFloat32) r.get(i)));
      }
    }
    return out;
  }

  /**
   * Overwrites some model variables (e.g. pretrained weights); all others keep their values. Goes
   * through a temporary checkpoint and the restore op, so the graph does not grow.
   */
  public void assign(Map<String, FloatTensor> values) throws IOException {
    for (Map.Entry<String, FloatTensor> e : values.entrySet()) {
      VariableInfo v = variables.get(e.getKey());
      if (v == null) {
        throw new IllegalArgumentException("the model has no variable " + e.getKey());
      }
      if (!java.util.Arrays.equals(v.shape(), e.getValue().shape())) {
        throw new IllegalArgumentException("variable " + e.getKey() + " is "
            + java.util.Arrays.toString(v.shape()) + ", got " + e.getValue().shapeString());
      }
    }
    Path dir = Files.createTempDirectory("deeplab-assign");
    List<String> names = checkpoints.names();
    Map<String, TType> all = new LinkedHashMap<>();
    Session.Runner runner = session.runner();
    names.forEach(runner::fetch);
    try (Result current = runner.run()) {
      for (int i = 0; i < names.size(); i++) {
        FloatTensor given = values.get(names.get(i));
        all.put(names.get(i), given == null ? (TType) current.get(i) : TFloat32.tensorOf(
            Shape.of(given.shape()), DataBuffers.of(given.data(), true, false)));
      }
      Path prefix = dir.resolve("assign");
      Checkpoints.write(prefix, all);
      restore(prefix.toString());
    } catch (CheckpointException e) {
      throw new IOException(e.getMessage(), e);
    } finally {
      for (String name : values.keySet()) {
        TType t = all.get(name);
        if (t != null) {
          t.close();
        }
      }
      try (var walk = Files.walk(dir)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Number of operations in the graph (constant once built: the loop adds none). */
  public int operationCount() {
    int n = 0;
    for (var it = graph.operations(); it.hasNext(); it.next()) {
      n++;
    }
    return n;
  }

  public TrainConfig config() {
    return config;
  }

  /** The graph (read-only use: the loop must not add operations). */
  public Graph graph() {
    return graph;
  }

  /** The session. */
  public Session session() {
    return session;
  }

  /**
   * Leaves the session and the graph open for good, so that {@link #close} does nothing: after a
   * task of the cluster is lost, closing the session waits for that task forever ({@code
   * TF_CloseSession}). Their memory is freed when the process ends, as the chief's TensorFlow
   * server, which cannot be stopped, is.
   */
  public void abandon() {
    abandoned = true;
  }

  @Override
  public void close() {
    if (abandoned) {
      return;
    }
    session.close();
    graph.close();
  }
}
