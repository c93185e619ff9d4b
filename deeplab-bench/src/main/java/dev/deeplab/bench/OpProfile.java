package dev.deeplab.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;

/**
 * Where a session run spends its time: the per-op timings of a {@code FULL_TRACE} run, summed by
 * op type as the executor ran them (after Grappler and oneDNN rewrites, e.g. {@code
 * _MklFusedConv2D}). Op times overlap when ops run in parallel, so their sum can exceed the wall
 * time.
 *
 * @param byType total microseconds and op count per op type, largest first
 * @param byNode microseconds per executed node ({@code type} is the node's name), largest first
 * @param totalMicros the sum of all op times
 */
public record OpProfile(List<Entry> byType, List<Entry> byNode, long totalMicros) {

  /**
   * One op type or node.
   *
   * @param type the executed op type, or the node name in {@link #byNode}
   * @param micros summed op time in microseconds
   * @param count executed ops of this type
   */
  public record Entry(String type, long micros, int count) {}

  /** Options that make a run record its step stats. */
  public static RunOptions traceOptions() {
    return RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build();
  }

  /** Sums the step stats of several traced runs. */
  public static OpProfile of(List<RunMetadata> runs) {
    Map<String, long[]> acc = new HashMap<>();
    Map<String, long[]> nodes = new HashMap<>();
    long total = 0;
    for (RunMetadata md : runs) {
      for (DeviceStepStats dev : md.getStepStats().getDevStatsList()) {
        for (NodeExecStats n : dev.getNodeStatsList()) {
          long us = Math.max(0, n.getOpEndRelMicros() - n.getOpStartRelMicros());
          String type = opType(n);
          long[] a = acc.computeIfAbsent(type, k -> new long[2]);
          a[0] += us;
          a[1]++;
          long[] b = nodes.computeIfAbsent(type + " " + n.getNodeName(), k -> new long[2]);
          b[0] += us;
          b[1]++;
          total += us;
        }
      }
    }
    int n = Math.max(1, runs.size());
    return new OpProfile(sorted(acc, n), sorted(nodes, n), total / n);
  }

  private static List<Entry> sorted(Map<String, long[]> acc, int runs) {
    List<Entry> list = new ArrayList<>();
    acc.forEach((k, v) -> list.add(new Entry(k, v[0] / runs, (int) (v[1] / runs))));
    list.sort((x, y) -> Long.compare(y.micros(), x.micros()));
    return list;
  }

  /** The op type from a timeline label {@code "name = Type(inputs)"}, else the node name. */
  static String opType(NodeExecStats n) {
    String label = n.getTimelineLabel();
    int eq = label.indexOf(" = ");
    if (eq >= 0) {
      int paren = label.indexOf('(', eq);
      return label.substring(eq + 3, paren > 0 ? paren : label.length()).trim();
    }
    return n.getNodeName().isEmpty() ? "?" : n.getNodeName();
  }
}
