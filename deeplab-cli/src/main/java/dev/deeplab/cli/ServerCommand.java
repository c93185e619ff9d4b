package dev.deeplab.cli;

import dev.deeplab.train.ClusterServer;
import dev.deeplab.train.ClusterSpec;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab server}: a worker of a training cluster, serving its devices to the chief's
 * {@code train --cluster} until the process is stopped.
 */
@Command(name = "server", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve this machine's devices to a training cluster (TensorFlow's gRPC "
        + "runtime) until stopped: the chief's 'deeplab train --cluster SPEC' places replicas "
        + "on them.",
        "SPEC is the JSON of TensorFlow's TF_CONFIG: a file, or 'env' for the TF_CONFIG "
            + "environment variable.",
        "Example: deeplab server --cluster cluster.json --job worker --task 1"})
public final class ServerCommand implements Callable<Integer> {
  @Option(names = "--cluster", required = true, paramLabel = "SPEC",
      description = "Cluster spec: a TF_CONFIG JSON file, or 'env' for $TF_CONFIG.")
  String cluster;

  @Option(names = "--job", paramLabel = "JOB",
      description = "This process's job, worker or chief (default: the spec's task.type).")
  String job;

  @Option(names = "--task", paramLabel = "N",
      description = "This process's index in its job (default: the spec's task.index).")
  Integer task;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    ClusterSpec cluster = ClusterOptions.spec(this.cluster, job, task);
    if (cluster.isChief()) {
      throw new UsageError("this task is the chief: run 'deeplab train --cluster ...' on it, "
          + "'deeplab server' on the workers");
    }
    ClusterServer server = ClusterServer.start(cluster);
    PrintWriter out = spec.commandLine().getOut();
    out.println("serving /job:" + cluster.taskType() + "/replica:0/task:" + cluster.taskIndex()
        + " on " + cluster.address() + " until stopped");
    out.flush();
    server.join();
    return 0;
  }
}
