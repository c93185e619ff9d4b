package dev.deeplab.internal.tflite;

/**
 * Affine quantisation parameters of a tensor ({@code table QuantizationParameters} in the TFLite
 * schema): a stored value {@code q} stands for the real value {@code scale * (q - zero_point)}.
 * With one scale the parameters apply to the whole tensor; with several they apply per slice along
 * {@link #quantizedDimension()} (per-axis quantisation).
 *
 * @param min calibration minima (informational, may be empty)
 * @param max calibration maxima (informational, may be empty)
 * @param scale one scale per tensor or per slice; empty if the tensor is not quantised
 * @param zeroPoint one zero point per scale (empty means all zero)
 * @param quantizedDimension the axis the scales run along when there is more than one
 */
public record TfliteQuantization(
    float[] min, float[] max, float[] scale, long[] zeroPoint, int quantizedDimension) {

  /** No quantisation: the tensor holds real values (or integers with no real meaning). */
  public static final TfliteQuantization NONE =
      new TfliteQuantization(new float[0], new float[0], new float[0], new long[0], 0);

  /** Whether there is at least one scale. */
  public boolean isQuantized() {
    return scale.length > 0;
  }

  /** Whether there is one scale per slice along {@link #quantizedDimension()}. */
  public boolean isPerAxis() {
    return scale.length > 1;
  }

  /** The scale of slice {@code i} (or the only scale for per-tensor quantisation). */
  public float scaleAt(int i) {
    return scale[scale.length == 1 ? 0 : i];
  }

  /** The zero point of slice {@code i} (0 if none is stored). */
  public long zeroPointAt(int i) {
    return zeroPoint.length == 0 ? 0 : zeroPoint[zeroPoint.length == 1 ? 0 : i];
  }

  /** A short form such as {@code scale=0.0078125 zp=128} for logs and reports. */
  @Override
  public String toString() {
    if (!isQuantized()) {
      return "none";
    }
    if (!isPerAxis()) {
      return "scale=" + scale[0] + " zp=" + zeroPointAt(0);
    }
    return "per-axis(dim " + quantizedDimension + ", " + scale.length + " scales)";
  }
}
