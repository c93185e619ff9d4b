package dev.deeplab.bench;

import dev.deeplab.internal.train.Devices;
import dev.deeplab.internal.train.Replica;
import dev.deeplab.internal.train.Sessions;
import dev.deeplab.internal.train.VariableInfo;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.train.TrainConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TUint8;

/**
 * What the transfers of one cluster training step cost without the computation: a graph that
 * moves exactly what a step of {@code TrainingGraph} moves between the chief and each replica on
 * another task — the replica's slice of the batch fed from the chief, every trainable variable to
 * the replica, a gradient of each variable's shape back — and does no other work. Its time per
 * run is the transfer cost per step (on loopback: serialisation and copies, no network).
 */
public final class ClusterTransferBenchmark {
  private ClusterTransferBenchmark() {}

  /**
   * A measurement.
   *
   * @param remoteReplicas replicas on tasks other than the chief's
   * @param megabytesPerStep bytes sent and received by the chief per step, in MB (10^6)
   * @param millisecondsPerStep median time of one transfer-only step
   */
  public record Result(int remoteReplicas, double megabytesPerStep, double millisecondsPerStep) {

    /** One line. */
    public String describe() {
      return String.format(Locale.ROOT, "transfers alone: %d remote replica(s), %.1f MB per step, "
          + "%.1f ms per step (median)", remoteReplicas, megabytesPerStep, millisecondsPerStep);
    }
  }

  /**
   * Builds the transfer graph of {@code config} (whose devices name the cluster's tasks, the
   * chief's first) and times {@code runs} runs after 3 warm-up runs through {@code target}.
   */
  public static Result run(TrainConfig config, String target, int runs) {
    ModelConfig m = config.model();
    int n = config.replicaBatchSize();
    Replica replica = Replica.training(config, 0);
    String chief = Devices.variableDevice(config.devices());
    String chiefTask = chief.substring(0, chief.indexOf("/device:"));
    long parameters = 0;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Ops onChief = tf.withDevice(Devices.spec(chief));
      List<Variable<TFloat32>> variables = new ArrayList<>();
      List<Operand<TFloat32>> inits = new ArrayList<>();
      for (String name : replica.trainable()) {
        VariableInfo v = replica.variables().get(name);
        Variable<TFloat32> var = onChief.variable(Shape.of(v.shape()), TFloat32.class);
        inits.add(onChief.assign(var, onChief.fill(onChief.constant(v.shape()),
            onChief.constant(0.5f))));
        variables.add(var);
        parameters += Shape.of(v.shape()).size();
      }
      List<Placeholder<TFloat32>> pixels = new ArrayList<>();
      List<Placeholder<TUint8>> labels = new ArrayList<>();
      List<Operand<TFloat32>> sums = new ArrayList<>();
      for (String device : config.devices()) {
        if (device.startsWith(chiefTask)) {
          continue;
        }
        Ops on = tf.withDevice(Devices.spec(device));
        Placeholder<TFloat32> px = on.placeholder(TFloat32.class,
            Placeholder.shape(Shape.of(n, m.cropHeight(), m.cropWidth(), 3)));
        Placeholder<TUint8> lb = on.placeholder(TUint8.class,
            Placeholder.shape(Shape.of(n, m.cropHeight(), m.cropWidth())));
        pixels.add(px);
        labels.add(lb);
        // a scalar that depends on the inputs, so that they must arrive; zero for any input
        Operand<TFloat32> zero = on.math.mul(on.math.add(on.reduceSum(px, on.constant(new int[] {
            0, 1, 2, 3})), on.reduceSum(on.dtypes.cast(lb, TFloat32.class),
            on.constant(new int[] {0, 1, 2}))), on.constant(0f));
        for (Variable<TFloat32> var : variables) {
          Operand<TFloat32> gradient = on.math.add(var, zero); // the variable in, a tensor back
          sums.add(onChief.reduceSum(gradient, onChief.range(onChief.constant(0),
              onChief.rank(gradient), onChief.constant(1))));
        }
      }
      if (pixels.isEmpty()) {
        throw new IllegalArgumentException("no replica on a task other than the chief");
      }
      Operand<TFloat32> total = onChief.math.addN(sums);
      try (Session s = Sessions.open(g, target, Devices.sessionConfig(config.devices()))) {
        Session.Runner init = s.runner();
        inits.forEach(init::addTarget);
        init.run().close();
        try (TFloat32 px = TFloat32.tensorOf(Shape.of(n, m.cropHeight(), m.cropWidth(), 3));
            TUint8 lb = TUint8.tensorOf(Shape.of(n, m.cropHeight(), m.cropWidth()))) {
          double[] times = new double[runs];
          for (int r = -3; r < runs; r++) {
            Session.Runner runner = s.runner().fetch(total);
            for (int k = 0; k < pixels.size(); k++) {
              runner.feed(pixels.get(k), px).feed(labels.get(k), lb);
            }
            long t0 = System.nanoTime();
            runner.run().close();
            if (r >= 0) {
              times[r] = (System.nanoTime() - t0) / 1e6;
            }
          }
          java.util.Arrays.sort(times);
          long inputBytes = (long) n * m.cropHeight() * m.cropWidth() * (3 * 4 + 1);
          double mb = pixels.size() * (2.0 * parameters * 4 + inputBytes) / 1e6;
          return new Result(pixels.size(), mb, times[runs / 2]);
        }
      }
    }
  }
}
