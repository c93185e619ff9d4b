package dev.deeplab.cli;

import dev.deeplab.train.ClusterSpec;
import java.io.IOException;

/** The cluster spec of {@code --cluster}, with {@code --job}/{@code --task} overriding its task. */
final class ClusterOptions {
  private ClusterOptions() {}

  static ClusterSpec spec(String cluster, String job, Integer task) throws IOException {
    ClusterSpec spec = ClusterSpec.read(cluster);
    if (job != null || task != null) {
      String type = job != null ? job : spec.hasTask() ? spec.taskType() : null;
      if (type == null) {
        throw new UsageError("--task needs --job (the spec names no task)");
      }
      spec = spec.withTask(type, task != null ? task : 0);
    }
    if (!spec.hasTask()) {
      throw new UsageError("the cluster spec names no task: add \"task\": {\"type\": \"worker\", "
          + "\"index\": N} or --job and --task");
    }
    return spec;
  }
}
