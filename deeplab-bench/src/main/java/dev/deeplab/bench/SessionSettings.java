package dev.deeplab.bench;

import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GraphOptions;
import org.tensorflow.proto.OptimizerOptions;
import org.tensorflow.proto.RewriterConfig;

/**
 * The session options a benchmark varies, turned into a {@link ConfigProto}.
 *
 * <p>Thread pools are per process in TF (the first session's sizes win), so compare thread
 * settings in separate processes; precision and XLA are per session and can be compared in one.
 * XLA on CPU also needs {@code TF_XLA_FLAGS=--tf_xla_cpu_global_jit} in the environment to
 * compile anything for session graphs (tensorflow/tensorflow#50797).
 *
 * @param intraOpThreads intra-op threads; 0 lets TF choose (the number of cores)
 * @param interOpThreads inter-op threads; 0 lets TF choose
 * @param precision fp32, or bf16 through oneDNN's auto mixed precision rewrite
 * @param xla sets {@code GlobalJitLevel.ON_1} and {@code cpu_global_jit}
 */
public record SessionSettings(int intraOpThreads, int interOpThreads, Precision precision,
    boolean xla) {

  /** Validates the thread counts. */
  public SessionSettings {
    if (intraOpThreads < 0 || interOpThreads < 0) {
      throw new IllegalArgumentException("thread counts must be >= 0");
    }
    if (precision == null) {
      throw new IllegalArgumentException("precision is required");
    }
  }

  /** TF's defaults: fp32, no XLA, thread pools sized by TF. */
  public static SessionSettings defaults() {
    return new SessionSettings(0, 0, Precision.FP32, false);
  }

  /** A copy with another precision. */
  public SessionSettings withPrecision(Precision p) {
    return new SessionSettings(intraOpThreads, interOpThreads, p, xla);
  }

  /** A copy with XLA on or off. */
  public SessionSettings withXla(boolean on) {
    return new SessionSettings(intraOpThreads, interOpThreads, precision, on);
  }

  /** The session configuration. */
  public ConfigProto toConfigProto() {
    ConfigProto.Builder b = ConfigProto.newBuilder();
    if (intraOpThreads > 0) {
      b.setIntraOpParallelismThreads(intraOpThreads);
    }
    if (interOpThreads > 0) {
      b.setInterOpParallelismThreads(interOpThreads);
    }
    GraphOptions.Builder g = GraphOptions.newBuilder();
    boolean graphOptions = false;
    if (precision == Precision.BF16) {
      g.setRewriteOptions(RewriterConfig.newBuilder()
          .setAutoMixedPrecisionOnednnBfloat16(RewriterConfig.Toggle.ON));
      graphOptions = true;
    }
    if (xla) {
      g.setOptimizerOptions(OptimizerOptions.newBuilder()
          .setGlobalJitLevel(OptimizerOptions.GlobalJitLevel.ON_1)
          .setCpuGlobalJit(true));
      graphOptions = true;
    }
    if (graphOptions) {
      b.setGraphOptions(g);
    }
    return b.build();
  }

  /** Whether oneDNN is on in this process ({@code TF_ENABLE_ONEDNN_OPTS} not 0/false). */
  public static boolean onednnEnabled() {
    String v = System.getenv("TF_ENABLE_ONEDNN_OPTS");
    return v == null || !(v.trim().equals("0") || v.trim().equalsIgnoreCase("false"));
  }

  /** A short description, e.g. {@code "fp32, intra 2, inter 1, xla off"}. */
  public String describe() {
    return precision + ", intra " + (intraOpThreads == 0 ? "auto" : intraOpThreads) + ", inter "
        + (interOpThreads == 0 ? "auto" : interOpThreads) + ", xla " + (xla ? "on" : "off");
  }
}
