package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.train.Sessions;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.tensorflow.DeviceSpec;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.types.TFloat32;

/**
 * Two workers in separate JVMs on loopback ports ({@link ClusterChild}); this JVM is a client
 * only (it starts no server): a session through worker 0's server feeds a placeholder and runs an
 * op placed on worker 1 and one on worker 0, and the trace shows both devices.
 */
class RemoteSessionTest {

  @Test
  void runsOpsPlacedOnOtherProcesses() {
    assertTimeoutPreemptively(Duration.ofSeconds(120), this::run);
  }

  private void run() throws Exception {
    int[] ports = ClusterProcess.freePorts(2);
    String cluster = "{\"cluster\": {\"worker\": [\"127.0.0.1:" + ports[0] + "\", \"127.0.0.1:"
        + ports[1] + "\"]}, \"task\": {\"type\": \"worker\", \"index\": %d}}";
    try (ClusterProcess w0 = new ClusterProcess("worker", String.format(cluster, 0));
        ClusterProcess w1 = new ClusterProcess("worker", String.format(cluster, 1))) {
      w0.await("SERVING", 60);
      w1.await("SERVING", 60);
      try (Graph g = new Graph()) {
        Ops tf = Ops.create(g);
        Placeholder<TFloat32> input = tf.withDevice(cpuOf(1)).placeholder(TFloat32.class);
        Operand<TFloat32> x = tf.withDevice(cpuOf(1)).math.square(input);
        Operand<TFloat32> y = tf.withDevice(cpuOf(0)).math.add(x, tf.constant(1f));
        try (Session s = Sessions.open(g, "grpc://127.0.0.1:" + ports[0],
                ConfigProto.getDefaultInstance());
            TFloat32 fed = TFloat32.vectorOf(1.5f, -2f, 3f);
            Result r = s.runner().feed(input, fed).fetch(y).setOptions(RunOptions.newBuilder()
                .setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build()).runAndFetchMetadata()) {
          float[] out = new float[3];
          ((TFloat32) r.get(0)).copyTo(DataBuffers.of(out, false, false));
          // 1.5^2 + 1, (-2)^2 + 1, 3^2 + 1
          assertArrayEquals(new float[] {3.25f, 5f, 10f}, out);
          Set<String> devices = new TreeSet<>();
          for (DeviceStepStats d : r.getMetadata().orElseThrow().getStepStats().getDevStatsList()) {
            devices.add(d.getDevice());
          }
          System.out.println("remote session: ops ran on " + devices);
          assertTrue(devices.contains("/job:worker/replica:0/task:1/device:CPU:0"),
              devices.toString());
          assertTrue(devices.contains("/job:worker/replica:0/task:0/device:CPU:0"),
              devices.toString());
        }
      }
    }
  }

  private static DeviceSpec cpuOf(int task) {
    return DeviceSpec.newBuilder().job("worker").replica(0).task(task)
        .deviceType(DeviceSpec.DeviceType.CPU).deviceIndex(0).build();
  }
}
