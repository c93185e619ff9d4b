package dev.deeplab.internal.backbone;

import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.BatchNormSpec;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.ModelConfig;
import java.util.HashMap;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * MobileNetV2 as the official DeepLab builds it: scope {@code MobilenetV2}, up to {@code
 * expanded_conv_16} (no {@code Conv_1}), TF "SAME" padding, ReLU6, batch norm decay 0.997 and
 * epsilon 1e-3, truncated-normal(0.09) initialisation (Sandler et al., "MobileNetV2: Inverted
 * Residuals and Linear Bottlenecks", CVPR 2018; {@code research/slim/nets/mobilenet/}).
 */
public final class MobileNetV2 implements Backbone {

  /** (expansion, channels, repeats, first stride) of {@code V2_DEF}, after the 32-channel root. */
  private static final int[][] BLOCKS = {
    {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2},
    {6, 320, 1, 1}
  };

  /** Layer numbers ({@code layer_N/depthwise_output}) whose depthwise output feeds the decoder. */
  private static final Map<Integer, Integer> DECODER_LAYERS = Map.of(4, 4, 8, 7);

  @Override
  public FeatureMaps build(NetScope root, Operand<TFloat32> images, ModelConfig config) {
    BatchNormSpec bn = new BatchNormSpec(0.997f, 1e-3f);
    Initializer init = Initializer.truncatedNormal(0.09);
    double dm = config.depthMultiplier();
    int divisor = dm == 1.0 ? 8 : 1;
    NetScope net = root.child("MobilenetV2");
    StrideSchedule schedule = new StrideSchedule(config.outputStride(), 1);
    Map<Integer, Operand<TFloat32>> lowLevel = new HashMap<>();

    StrideSchedule.Step step = schedule.next(2);
    Operand<TFloat32> x =
        Conv.conv(makeDivisible(32 * dm, divisor), 3)
            .stride(step.stride())
            .rate(step.rate())
            .batchNorm(bn)
            .activation(Activation.RELU6)
            .init(init)
            .apply(net, "Conv", images);
    int layer = 2;
    int unit = 0;
    for (int[] block : BLOCKS) {
      for (int r = 0; r < block[2]; r++, unit++, layer++) {
        step = schedule.next(r == 0 ? block[3] : 1);
        int in = (int) x.shape().size(3);
        int expanded = block[0] == 1 ? in : makeDivisible(in * (double) block[0], 8);
        int out = makeDivisible(block[1] * dm, divisor);
        NetScope s = net.child(unit == 0 ? "expanded_conv" : "expanded_conv_" + unit);
        Operand<TFloat32> y = x;
        if (expanded > in) {
          y = Conv.conv(expanded, 1).batchNorm(bn).activation(Activation.RELU6).init(init)
              .apply(s, "expand", y);
        }
        y = Conv.depthwise(3).stride(step.stride()).rate(step.rate()).batchNorm(bn)
            .activation(Activation.RELU6).init(init).apply(s, "depthwise", y);
        for (Map.Entry<Integer, Integer> e : DECODER_LAYERS.entrySet()) {
          if (e.getValue() == layer) {
            lowLevel.put(e.getKey(), y);
          }
        }
        y = Conv.conv(out, 1).batchNorm(bn).init(init).apply(s, "project", y);
        if (step.stride() == 1 && in == out) {
          y = s.tf().math.add(y, x);
        }
        x = y;
      }
    }
    return new FeatureMaps(x, lowLevel);
  }

  /**
   * The official {@code _make_divisible}: round to the nearest multiple of {@code divisor} (at
   * least {@code divisor}), going up a step when rounding lost more than 10%.
   */
  static int makeDivisible(double v, int divisor) {
    int rounded = Math.max(divisor, (int) (v + divisor / 2.0) / divisor * divisor);
    if (rounded < 0.9 * v) {
      rounded += divisor;
    }
    return rounded;
  }
}
