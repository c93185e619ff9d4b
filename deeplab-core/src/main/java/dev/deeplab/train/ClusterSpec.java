package dev.deeplab.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.tensorflow.proto.ClusterDef;
import org.tensorflow.proto.JobDef;
import org.tensorflow.proto.ServerDef;

/**
 * The processes of a training cluster and which one this is, in the JSON of TensorFlow's {@code
 * TF_CONFIG} environment variable (as {@code tf.distribute} reads it):
 *
 * <pre>{@code
 * {"cluster": {"chief": ["host0:2222"], "worker": ["host1:2222", "host2:2222"]},
 *  "task": {"type": "worker", "index": 0}}
 * }</pre>
 *
 * <p>Jobs are {@code chief} (at most one task) and {@code worker}; without a chief, worker 0 is the
 * chief, as in {@code tf.distribute}. The chief holds the variables, feeds the inputs and writes
 * checkpoints; every task (the chief included) computes one replica per device ({@link
 * #replicaDevices}), in-graph replication as {@code train --devices} on one machine. Parameter
 * servers ({@code ps}) are not used and are refused, as are other jobs.
 *
 * <p>Immutable and thread-safe.
 */
public final class ClusterSpec {
  /** The environment variable TensorFlow reads the spec from. */
  public static final String ENV = "TF_CONFIG";

  /** {@code host:port} or {@code [ipv6]:port}. */
  private static final Pattern ADDRESS =
      Pattern.compile("(\\[[0-9a-fA-F:.]+\\]|[^:/\\s\\[\\]]+):(\\d{1,5})");

  private final Map<String, List<String>> jobs;
  private final String taskType;
  private final int taskIndex;

  private ClusterSpec(Map<String, List<String>> jobs, String taskType, int taskIndex) {
    this.jobs = jobs;
    this.taskType = taskType;
    this.taskIndex = taskIndex;
  }

  /**
   * Reads a spec: {@code env} for the {@value #ENV} environment variable, a JSON text starting
   * with <code>{</code>, or the path of a JSON file.
   *
   * @throws IOException with one line naming the source: unreadable file, unset variable, bad
   *     JSON or a bad cluster
   */
  public static ClusterSpec read(String spec) throws IOException {
    String s = spec.strip();
    if (s.equals("env")) {
      String value = System.getenv(ENV);
      if (value == null || value.isBlank()) {
        throw new IOException("--cluster env: the " + ENV + " environment variable is not set");
      }
      return parse(value, ENV);
    }
    if (s.startsWith("{")) {
      return parse(s, "the cluster spec");
    }
    Path file = Path.of(s);
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(s, null, "no cluster spec file (or 'env' for " + ENV + ")");
    }
    return parse(Files.readString(file), file.toString());
  }

  /**
   * Parses the JSON of a spec.
   *
   * @param source what the text came from, for messages
   * @throws IOException with one line naming {@code source} and what is wrong
   */
  public static ClusterSpec parse(String json, String source) throws IOException {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(json);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IOException(source + " is not JSON: "
          + String.valueOf(e.getOriginalMessage()).strip().split("\\R", 2)[0]);
    }
    if (root == null || !root.isObject() || !root.path("cluster").isObject()) {
      throw new IOException(source + ": expected {\"cluster\": {\"worker\": [\"host:port\", ...]},"
          + " \"task\": {\"type\": \"worker\", \"index\": 0}}");
    }
    Map<String, List<String>> jobs = new LinkedHashMap<>();
    Set<String> seen = new HashSet<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.get("cluster").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> job = it.next();
      String name = job.getKey();
      if (name.equals("ps")) {
        throw new IOException(source + ": parameter servers (job 'ps') are not used: the chief "
            + "holds the variables (in-graph replication); list the machines as 'worker'");
      }
      if (!name.equals("chief") && !name.equals("worker")) {
        throw new IOException(source + ": unknown job '" + name + "' (jobs are 'chief' and "
            + "'worker')");
      }
      if (!job.getValue().isArray() || job.getValue().isEmpty()) {
        throw new IOException(source + ": job '" + name + "' must be a non-empty list of "
            + "\"host:port\"");
      }
      List<String> addresses = new ArrayList<>();
      for (JsonNode a : job.getValue()) {
        String address = a.isTextual() ? a.asText().strip() : a.toString();
        var m = ADDRESS.matcher(address);
        if (!a.isTextual() || !m.matches() || Integer.parseInt(m.group(2)) < 1
            || Integer.parseInt(m.group(2)) > 65535) {
          throw new IOException(source + ": bad address " + address + " in job '" + name
              + "' (expected host:port, e.g. \"10.0.0.2:2222\")");
        }
        if (!seen.add(address)) {
          throw new IOException(source + ": address " + address + " is listed twice");
        }
        addresses.add(address);
      }
      jobs.put(name, List.copyOf(addresses));
    }
    if (jobs.isEmpty()) {
      throw new IOException(source + ": the cluster has no job (expected 'chief' and/or 'worker')");
    }
    if (jobs.containsKey("chief") && jobs.get("chief").size() != 1) {
      throw new IOException(source + ": job 'chief' must have exactly one task, it has "
          + jobs.get("chief").size());
    }
    JsonNode task = root.path("task");
    String type = task.path("type").isTextual() ? task.get("type").asText() : null;
    int index = task.path("index").canConvertToInt() ? task.get("index").asInt() : 0;
    ClusterSpec spec = new ClusterSpec(jobs, null, 0);
    return type == null ? spec : spec.withTask(type, index, source);
  }

  /**
   * This spec with another task as "this process" ({@code --job}, {@code --task}).
   *
   * @throws IOException if the cluster has no such task
   */
  public ClusterSpec withTask(String type, int index) throws IOException {
    return withTask(type, index, "the cluster spec");
  }

  private ClusterSpec withTask(String type, int index, String source) throws IOException {
    List<String> tasks = jobs.get(type);
    if (tasks == null) {
      throw new IOException(source + " has no job '" + type + "' (it has " + jobs.keySet() + ")");
    }
    if (index < 0 || index >= tasks.size()) {
      throw new IOException(source + ": job '" + type + "' has tasks 0.." + (tasks.size() - 1)
          + ", not " + index);
    }
    return new ClusterSpec(jobs, type, index);
  }

  /** The jobs and their task addresses, in the order given. */
  public Map<String, List<String>> jobs() {
    return java.util.Collections.unmodifiableMap(jobs);
  }

  /** Whether the spec names this process's task. */
  public boolean hasTask() {
    return taskType != null;
  }

  /** This process's job ({@code chief} or {@code worker}). */
  public String taskType() {
    requireTask();
    return taskType;
  }

  /** This process's task index in its job. */
  public int taskIndex() {
    requireTask();
    return taskIndex;
  }

  /** This process's {@code host:port}. */
  public String address() {
    requireTask();
    return jobs.get(taskType).get(taskIndex);
  }

  private void requireTask() {
    if (taskType == null) {
      throw new IllegalStateException("the cluster spec names no task (\"task\" in " + ENV
          + ", or --job and --task)");
    }
  }

  /** The chief's job: {@code chief} if the cluster has one, else {@code worker} (task 0). */
  public String chiefJob() {
    return jobs.containsKey("chief") ? "chief" : "worker";
  }

  /** Whether this process is the chief. */
  public boolean isChief() {
    return taskType().equals(chiefJob()) && taskIndex == 0;
  }

  /**
   * The tasks that compute replicas, the chief first: {@code /job:chief/replica:0/task:0}, {@code
   * /job:worker/replica:0/task:0}, ...
   */
  public List<String> tasks() {
    List<String> out = new ArrayList<>();
    out.add(task(chiefJob(), 0));
    for (Map.Entry<String, List<String>> job : jobs.entrySet()) {
      for (int i = 0; i < job.getValue().size(); i++) {
        String t = task(job.getKey(), i);
        if (!out.contains(t)) {
          out.add(t);
        }
      }
    }
    return out;
  }

  /** The {@code host:port} of a task as {@link #tasks} names it. */
  public String address(String task) {
    for (Map.Entry<String, List<String>> job : jobs.entrySet()) {
      for (int i = 0; i < job.getValue().size(); i++) {
        if (task(job.getKey(), i).equals(task)) {
          return job.getValue().get(i);
        }
      }
    }
    throw new IllegalArgumentException("no task " + task + " in the cluster");
  }

  /**
   * The devices of the replicas: each of {@code localDevices} (e.g. {@code /device:CPU:0}, from
   * {@code --devices}; {@code /device:CPU:0} when empty) on each task, task by task, chief first.
   */
  public List<String> replicaDevices(List<String> localDevices) {
    List<String> local = localDevices.isEmpty() ? List.of("/device:CPU:0") : localDevices;
    List<String> out = new ArrayList<>();
    for (String t : tasks()) {
      for (String d : local) {
        out.add(t + d);
      }
    }
    return out;
  }

  /** The {@code ServerDef} that starts this process's TensorFlow server. */
  ServerDef serverDef() {
    ClusterDef.Builder cluster = ClusterDef.newBuilder();
    for (Map.Entry<String, List<String>> job : jobs.entrySet()) {
      JobDef.Builder j = JobDef.newBuilder().setName(job.getKey());
      for (int i = 0; i < job.getValue().size(); i++) {
        j.putTasks(i, job.getValue().get(i));
      }
      cluster.addJob(j);
    }
    return ServerDef.newBuilder().setCluster(cluster).setJobName(taskType())
        .setTaskIndex(taskIndex).setProtocol("grpc").build();
  }

  private static String task(String job, int index) {
    return "/job:" + job + "/replica:0/task:" + index;
  }

  @Override
  public String toString() {
    return "cluster " + jobs + (taskType == null ? "" : ", task " + taskType + ":" + taskIndex);
  }
}
