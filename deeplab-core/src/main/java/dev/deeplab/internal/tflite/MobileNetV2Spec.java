package dev.deeplab.internal.tflite;

import java.util.ArrayList;
import java.util.List;

/**
 * The conv layers of the MobileNetV2 feature extractor that DeepLab builds, with their channel
 * counts at a given depth multiplier. Follows {@code V2_DEF} in {@code
 * research/slim/nets/mobilenet/mobilenet_v2.py} up to {@code expanded_conv_16} (DeepLab's {@code
 * final_endpoint='layer_18'}), {@code _make_divisible} and {@code depth_multiplier} in {@code
 * mobilenet.py}, {@code expand_input_by_factor} and {@code expanded_conv} in {@code
 * conv_blocks.py}, and {@code _mobilenet_v2} in {@code research/deeplab/core/feature_extractor.py}
 * ({@code divisible_by = min_depth = 8} at multiplier 1.0, otherwise 1).
 */
final class MobileNetV2Spec {

  /** The variable scope of the backbone. */
  static final String SCOPE = "MobilenetV2";

  /** Expansion factor t, output channels c, repeats n, first stride s (V2_DEF after Conv). */
  private static final int[][] BLOCKS = {
    {1, 16, 1, 1},
    {6, 24, 2, 2},
    {6, 32, 3, 2},
    {6, 64, 4, 2},
    {6, 96, 3, 1},
    {6, 160, 3, 2},
    {6, 320, 1, 1},
  };

  /** Channels of the stem conv {@code Conv} at multiplier 1. */
  private static final int STEM_CHANNELS = 32;

  /** Channels of {@code expanded_conv_16/project} at multiplier 1. */
  static final int LAST_CHANNELS = 320;

  /**
   * One conv layer.
   *
   * @param scope the variable scope, e.g. {@code MobilenetV2/expanded_conv_3/expand}
   * @param depthwise whether it is a depthwise conv (3×3, channel multiplier 1)
   * @param kernel the square kernel size
   * @param in input channels
   * @param out output channels (equal to {@code in} for depthwise)
   * @param residualAfter whether the block this layer ends adds its input (project layers only)
   */
  record Layer(
      String scope, boolean depthwise, int kernel, int in, int out, boolean residualAfter) {}

  private MobileNetV2Spec() {}

  /** {@code _make_divisible(v, divisor, min_value)} from {@code mobilenet.py}. */
  static int makeDivisible(double v, int divisor, int minValue) {
    int newV = Math.max(minValue, (int) (v + divisor / 2.0) / divisor * divisor);
    if (newV < 0.9 * v) {
      newV += divisor;
    }
    return newV;
  }

  /** The conv layers in graph order at depth multiplier {@code dm}. */
  static List<Layer> layers(double dm) {
    int divisibleBy = dm == 1.0 ? 8 : 1;
    List<Layer> out = new ArrayList<>();
    int in = makeDivisible(STEM_CHANNELS * dm, divisibleBy, divisibleBy);
    out.add(new Layer(SCOPE + "/Conv", false, 3, 3, in, false));
    int unit = 0;
    for (int[] b : BLOCKS) {
      int channels = makeDivisible(b[1] * dm, divisibleBy, divisibleBy);
      for (int r = 0; r < b[2]; r++, unit++) {
        String scope = SCOPE + "/expanded_conv" + (unit == 0 ? "" : "_" + unit);
        // expansion_size: expand_input_by_factor(1, divisible_by=1) for the first unit, else
        // expand_input_by_factor(6) whose divisible_by defaults to 8 whatever the multiplier.
        int inner = b[0] == 1 ? makeDivisible(in, 1, 1) : makeDivisible(in * b[0], 8, 8);
        if (inner > in) {
          out.add(new Layer(scope + "/expand", false, 1, in, inner, false));
        }
        int stride = r == 0 ? b[3] : 1;
        out.add(new Layer(scope + "/depthwise", true, 3, inner, inner, false));
        out.add(
            new Layer(
                scope + "/project", false, 1, inner, channels, stride == 1 && in == channels));
        in = channels;
      }
    }
    return out;
  }
}
