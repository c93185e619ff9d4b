package dev.deeplab.bench;

/**
 * The arithmetic a benchmark runs in, with this machine's measured peak for it (2-core AMD Zen 5
 * VM with AVX-512: an FMA probe reached about 435 GFLOP/s fp32; {@code vdpbf16ps} doubles that).
 */
public enum Precision {
  /** float32 everywhere. */
  FP32(435.0),
  /**
   * float32 graph rewritten by Grappler's {@code auto_mixed_precision_onednn_bfloat16}: convs and
   * matmuls run in bfloat16 with float32 accumulation (needs oneDNN).
   */
  BF16(870.0);

  private final double peakGflops;

  Precision(double peakGflops) {
    this.peakGflops = peakGflops;
  }

  /** The machine peak used for "fraction of peak", in GFLOP/s. */
  public double peakGflops() {
    return peakGflops;
  }

  /** Parses {@code fp32} or {@code bf16} (case-insensitive). */
  public static Precision parse(String s) {
    return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "fp32", "float32" -> FP32;
      case "bf16", "bfloat16" -> BF16;
      default -> throw new IllegalArgumentException("precision must be fp32 or bf16, got '" + s + "'");
    };
  }

  @Override
  public String toString() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
