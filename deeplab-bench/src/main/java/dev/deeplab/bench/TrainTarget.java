package dev.deeplab.bench;

import dev.deeplab.internal.model.DeepLab;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * A minimal training step for throughput measurement only (the real trainer is {@code
 * dev.deeplab.train}): the network in training mode (batch statistics, dropout, space-to-batch
 * atrous convs), logits upsampled to the crop, mean softmax cross-entropy, gradients by {@link
 * Graph#addGradients} for every trainable variable, momentum 0.9 updates and the batch-norm
 * moving-average updates. Weights start from the graph's initialisers; inputs are fixed noise.
 * The loss is {@code -mean(sum(one_hot · log_softmax))}: TF 2.18 has no C++ gradient for {@code
 * SparseSoftmaxCrossEntropyWithLogits}.
 */
public final class TrainTarget implements AutoCloseable {
  private final Graph graph;
  private final Session session;
  private final Placeholder<TFloat32> pixels;
  private final Placeholder<TInt32> labels;
  private final Operand<TFloat32> loss;
  private final Op train;
  private final int batch;
  private final ModelConfig config;
  private final float[] pixelData;
  private final int[] labelData;

  private TrainTarget(ModelConfig config, int batch, SessionSettings settings, long seed) {
    this.config = config;
    this.batch = batch;
    graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      NetState state = new NetState(true, true, AtrousMode.SPACE_TO_BATCH, seed);
      int h = config.cropHeight();
      int w = config.cropWidth();
      pixels = tf.withName("train_pixels").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(batch, h, w, 3)));
      labels = tf.withName("train_labels").placeholder(TInt32.class,
          Placeholder.shape(Shape.of(batch, h, w)));
      Operand<TFloat32> logits = DeepLab.logits(NetScope.root(tf, state), pixels, config);
      Ops lt = tf.withSubScope("bench_loss");
      Operand<TFloat32> up = DeepLab.upsample(lt, logits, h, w);
      Operand<TFloat32> flat = lt.reshape(up, lt.constant(new int[] {-1, config.numClasses()}));
      Operand<TInt32> flatLabels = lt.reshape(labels, lt.constant(new int[] {-1}));
      // -mean(sum(one_hot · log_softmax)): TF 2.18 has no C++ gradient for the sparse op.
      Operand<TFloat32> oneHot = lt.oneHot(flatLabels, lt.constant(config.numClasses()),
          lt.constant(1f), lt.constant(0f));
      loss = lt.math.neg(lt.math.mean(lt.reduceSum(lt.math.mul(oneHot, lt.nn.logSoftmax(flat)),
          lt.constant(1)), lt.constant(0)));
      List<ModelVariable> trainable = state.variables().values().stream()
          .filter(v -> v.role().trainable()).toList();
      Output<?>[] xs = trainable.stream().map(v -> v.variable().asOutput())
          .toArray(Output<?>[]::new);
      Output<?>[] grads = graph.addGradients(loss.asOutput(), xs);
      Ops opt = tf.withSubScope("bench_momentum");
      Operand<TFloat32> lr = opt.constant(1e-4f);
      Operand<TFloat32> momentum = opt.constant(0.9f);
      List<Op> updates = new ArrayList<>(state.updateOps());
      Ops init = opt.withInitScope();
      for (int i = 0; i < trainable.size(); i++) {
        Variable<TFloat32> v = trainable.get(i).variable();
        Variable<TFloat32> accum = opt.variable(
            init.zeros(init.constant(trainable.get(i).shape()), TFloat32.class));
        @SuppressWarnings("unchecked")
        Operand<TFloat32> g = (Operand<TFloat32>) grads[i];
        updates.add(opt.train.applyMomentum(v, accum, lr, g, momentum));
      }
      train = tf.withControlDependencies(updates).withName("bench_train").noOp();
      session = new Session(graph, settings.toConfigProto());
      session.initialize();
      SplittableRandom r = new SplittableRandom(seed);
      pixelData = new float[batch * h * w * 3];
      for (int i = 0; i < pixelData.length; i++) {
        pixelData[i] = r.nextInt(256);
      }
      labelData = new int[batch * h * w];
      for (int i = 0; i < labelData.length; i++) {
        labelData[i] = r.nextInt(config.numClasses());
      }
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** Builds the step for {@code batch} crops of {@code config}'s crop size. */
  public static TrainTarget build(ModelConfig config, int batch, SessionSettings settings,
      long seed) {
    if (batch < 1) {
      throw new IllegalArgumentException("batch must be positive");
    }
    return new TrainTarget(config, batch, settings, seed);
  }

  /** Runs one step and returns its loss. */
  public float step() {
    int h = config.cropHeight();
    int w = config.cropWidth();
    try (TFloat32 p = TFloat32.tensorOf(Shape.of(batch, h, w, 3),
            DataBuffers.of(pixelData, true, false));
        TInt32 l = TInt32.tensorOf(Shape.of(batch, h, w), DataBuffers.of(labelData, true, false));
        Result r = session.runner().feed(pixels, p).feed(labels, l).addTarget(train)
            .fetch(loss).run()) {
      return ((TFloat32) r.get(0)).getFloat();
    }
  }

  /** Images per step. */
  public int batch() {
    return batch;
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }
}
