package dev.deeplab.train;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.tensorflow.Server;
import org.tensorflow.exceptions.TensorFlowException;

/**
 * This process's task in a {@link ClusterSpec}: TensorFlow's in-process gRPC server ({@link
 * Server}), which runs the parts of the chief's graph placed on its devices. A worker process
 * starts one and {@link #join}s it; the chief starts one too and trains through it ({@link
 * Trainer#onCluster}).
 *
 * <p>TensorFlow cannot stop a server ({@code Server.stop()} is not implemented): it serves until
 * its process ends, so a process starts at most one. Training uses the CPU kernels of every task,
 * so every task needs {@code TF_ENABLE_ONEDNN_OPTS=0}, as {@link Trainer} does.
 */
public final class ClusterServer {
  private final ClusterSpec spec;
  private final Server server;

  private ClusterServer(ClusterSpec spec, Server server) {
    this.spec = spec;
    this.server = server;
  }

  /**
   * Starts the server of the spec's task, listening on the port of its address.
   *
   * @throws IOException with one line if the port cannot be bound or TensorFlow refuses the spec
   * @throws IllegalArgumentException if the environment would train with oneDNN's wrong
   *     gradients
   */
  public static ClusterServer start(ClusterSpec spec) throws IOException {
    Trainer.requireCorrectCpuGradients(List.of());
    Server server;
    try {
      server = new Server(spec.serverDef());
      server.start();
    } catch (TensorFlowException | IllegalStateException e) {
      throw new IOException("cannot serve " + spec.taskType() + ":" + spec.taskIndex() + " on "
          + spec.address() + ": " + String.valueOf(e.getMessage()).strip().split("\\R", 2)[0], e);
    }
    return new ClusterServer(spec, server);
  }

  /** The cluster and this task. */
  public ClusterSpec spec() {
    return spec;
  }

  /** The session target of this server, {@code grpc://host:port}. */
  public String target() {
    return "grpc://" + spec.address();
  }

  /** Serves until the process ends. */
  public void join() {
    server.join();
  }

  /**
   * Waits until every other task of the cluster accepts connections.
   *
   * @throws ClusterException naming the first task that did not within {@code timeout}
   * @throws InterruptedException if interrupted while waiting
   */
  public void awaitTasks(Duration timeout) throws ClusterException, InterruptedException {
    awaitTasks(spec, timeout);
  }

  /** {@link #awaitTasks(Duration)} for the tasks other than {@code spec}'s. */
  static void awaitTasks(ClusterSpec spec, Duration timeout)
      throws ClusterException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<String> pending = new ArrayList<>(otherTasks(spec));
    while (!pending.isEmpty()) {
      pending.removeIf(t -> reachable(spec.address(t), Duration.ofSeconds(1)));
      if (pending.isEmpty()) {
        return;
      }
      if (System.nanoTime() > deadline) {
        String t = pending.get(0);
        throw new ClusterException(t, "task " + t + " (" + spec.address(t) + ") did not answer "
            + "within " + timeout.toSeconds() + " s" + (pending.size() > 1 ? " (nor "
            + pending.subList(1, pending.size()) + ")" : "") + "; start it with: deeplab server "
            + "--cluster SPEC " + jobAndTask(t));
      }
      Thread.sleep(200);
    }
  }

  /** The first other task that does not accept a connection within {@code timeout}, if any. */
  public Optional<String> unreachableTask(Duration timeout) {
    return otherTasks(spec).stream().filter(t -> !reachable(spec.address(t), timeout)).findFirst();
  }

  private static List<String> otherTasks(ClusterSpec spec) {
    String self = "/job:" + spec.taskType() + "/replica:0/task:" + spec.taskIndex();
    return spec.tasks().stream().filter(t -> !t.equals(self)).toList();
  }

  /** {@code --job worker --task 1} for {@code /job:worker/replica:0/task:1}. */
  static String jobAndTask(String task) {
    String[] parts = task.split("/");
    return "--job " + parts[1].substring(4) + " --task " + parts[3].substring(5);
  }

  private static boolean reachable(String address, Duration timeout) {
    int colon = address.lastIndexOf(':');
    String host = address.substring(0, colon).replace("[", "").replace("]", "");
    int port = Integer.parseInt(address.substring(colon + 1));
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
