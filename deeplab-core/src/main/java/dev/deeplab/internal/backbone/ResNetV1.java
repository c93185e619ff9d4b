package dev.deeplab.internal.backbone;

import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.BatchNormSpec;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.Padding;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.HashMap;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * ResNet-v1 50/101 with bottleneck units, ResNet-v1 18 with "lite" bottlenecks (two 3×3 convs),
 * and the DeepLab "beta" variants whose root is three 3×3 convs, at a quarter width for
 * ResNet-18 ({@code core/resnet_v1_beta.py}; He et al., "Deep Residual Learning for Image
 * Recognition", CVPR 2016). Strided convs use the official explicit padding; block4 runs at the
 * multi-grid unit rates; batch norm decay 0.95, epsilon 1e-5; variance-scaling initialisation.
 */
public final class ResNetV1 implements Backbone {
  private final ModelVariant variant;

  public ResNetV1(ModelVariant variant) {
    this.variant = variant;
  }

  @Override
  public FeatureMaps build(NetScope root, Operand<TFloat32> images, ModelConfig config) {
    BatchNormSpec bn = new BatchNormSpec(variant.bnDecay(), variant.bnEpsilon());
    Initializer init = Initializer.varianceScaling();
    NetScope net = root.child(variant.scope());
    int rootWidth = variant.isLite() ? 16 : 64;
    Conv rootConv =
        Conv.conv(rootWidth, 3).padding(Padding.EXPLICIT).batchNorm(bn)
            .activation(Activation.RELU).init(init);
    Operand<TFloat32> x;
    if (variant.isBeta()) {
      x = rootConv.stride(2).apply(net, "conv1_1", images);
      x = rootConv.apply(net, "conv1_2", x);
      x = Conv.conv(2 * rootWidth, 3).padding(Padding.EXPLICIT).batchNorm(bn)
          .activation(Activation.RELU).init(init).apply(net, "conv1_3", x);
    } else {
      x = Conv.conv(64, 7).stride(2).padding(Padding.EXPLICIT).batchNorm(bn)
          .activation(Activation.RELU).init(init).apply(net, "conv1", images);
    }
    Ops tf = net.child("pool1").tf();
    x = tf.nn.maxPool(x, tf.constant(new int[] {1, 3, 3, 1}), tf.constant(new int[] {1, 2, 2, 1}),
        "SAME");

    if (variant.isLite()) {
      return lite(net, x, config, bn, init);
    }
    int[][] blocks = {{64, 3, 2}, {128, 4, 2}, {256, variant.repeatedUnits(), 2}, {512, 3, 1}};
    StrideSchedule schedule = new StrideSchedule(config.outputStride(), 4);
    Map<Integer, Operand<TFloat32>> lowLevel = new HashMap<>();
    for (int b = 0; b < blocks.length; b++) {
      NetScope block = net.child("block" + (b + 1));
      int base = blocks[b][0];
      int units = blocks[b][1];
      for (int u = 0; u < units; u++) {
        boolean last = u == units - 1;
        int unitRate = b == 3 ? config.multiGrid().get(u) : 1;
        int osBefore = schedule.currentStride();
        StrideSchedule.Step step = schedule.next(last ? blocks[b][2] : 1);
        NetScope unit = block.child("unit_" + (u + 1)).child("bottleneck_v1");
        Bottleneck out = bottleneck(unit, x, base * 4, base, step, unitRate, bn, init);
        x = out.output;
        // Decoder endpoints: block1/unit_2 (stride 4), block2/unit_3 (stride 8): conv3 outputs.
        if ((b == 0 && u == 1) || (b == 1 && u == 2)) {
          lowLevel.put(osBefore, out.conv3);
        }
      }
    }
    return new FeatureMaps(x, lowLevel);
  }

  /**
   * ResNet-18's blocks: two lite units in blocks 1–3 (the second strided), block4 one unit per
   * multi-grid rate; the decoder reads {@code block1/unit_1} and {@code block2/unit_1}'s conv2.
   */
  private static FeatureMaps lite(NetScope net, Operand<TFloat32> x, ModelConfig config,
      BatchNormSpec bn, Initializer init) {
    StrideSchedule schedule = new StrideSchedule(config.outputStride(), 4);
    Map<Integer, Operand<TFloat32>> lowLevel = new HashMap<>();
    int[] depths = {64, 128, 256, 512};
    for (int b = 0; b < depths.length; b++) {
      NetScope block = net.child("block" + (b + 1));
      int units = b == 3 ? config.multiGrid().size() : 2;
      for (int u = 0; u < units; u++) {
        int unitRate = b == 3 ? config.multiGrid().get(u) : 1;
        int osBefore = schedule.currentStride();
        StrideSchedule.Step step = schedule.next(b < 3 && u == 1 ? 2 : 1);
        NetScope unit = block.child("unit_" + (u + 1)).child("lite_bottleneck_v1");
        Bottleneck out = liteBottleneck(unit, x, depths[b], step, unitRate, bn, init);
        x = out.output;
        if (u == 0 && b < 2) {
          lowLevel.put(osBefore, out.conv3);
        }
      }
    }
    return new FeatureMaps(x, lowLevel);
  }

  /** {@code lite_bottleneck}: 3×3 conv1 (BN, ReLU), 3×3 conv2 (BN), ReLU of the sum. */
  private static Bottleneck liteBottleneck(NetScope unit, Operand<TFloat32> x, int depth,
      StrideSchedule.Step step, int unitRate, BatchNormSpec bn, Initializer init) {
    Ops tf = unit.tf();
    Operand<TFloat32> shortcut = shortcut(unit, x, depth, step, bn, init);
    int rate = step.rate() * unitRate;
    Operand<TFloat32> r = Conv.conv(depth, 3).rate(rate).batchNorm(bn)
        .activation(Activation.RELU).init(init).apply(unit, "conv1", x);
    Operand<TFloat32> conv2 = Conv.conv(depth, 3).stride(step.stride()).rate(rate)
        .padding(Padding.EXPLICIT).batchNorm(bn).init(init).apply(unit, "conv2", r);
    return new Bottleneck(tf.nn.relu(tf.math.add(shortcut, conv2)), conv2);
  }

  /** The input subsampled when its depth fits, else a strided 1×1 conv ({@code shortcut}). */
  private static Operand<TFloat32> shortcut(NetScope unit, Operand<TFloat32> x, int depth,
      StrideSchedule.Step step, BatchNormSpec bn, Initializer init) {
    Ops tf = unit.tf();
    if (x.shape().size(3) == depth) {
      return step.stride() == 1 ? x : tf.nn.maxPool(x,
          tf.constant(new int[] {1, 1, 1, 1}),
          tf.constant(new int[] {1, step.stride(), step.stride(), 1}), "SAME");
    }
    return Conv.conv(depth, 1).stride(step.stride()).batchNorm(bn).init(init)
        .apply(unit, "shortcut", x);
  }

  /** A unit's output and the BN output of its last conv (pre-add; the decoder endpoint). */
  private record Bottleneck(Operand<TFloat32> output, Operand<TFloat32> conv3) {}

  private static Bottleneck bottleneck(
      NetScope unit,
      Operand<TFloat32> x,
      int depth,
      int bottleneck,
      StrideSchedule.Step step,
      int unitRate,
      BatchNormSpec bn,
      Initializer init) {
    Ops tf = unit.tf();
    Operand<TFloat32> shortcut = shortcut(unit, x, depth, step, bn, init);
    Operand<TFloat32> r = Conv.conv(bottleneck, 1).batchNorm(bn).activation(Activation.RELU)
        .init(init).apply(unit, "conv1", x);
    r = Conv.conv(bottleneck, 3).stride(step.stride()).rate(step.rate() * unitRate)
        .padding(Padding.EXPLICIT).batchNorm(bn).activation(Activation.RELU).init(init)
        .apply(unit, "conv2", r);
    Operand<TFloat32> conv3 = Conv.conv(depth, 1).batchNorm(bn).init(init).apply(unit, "conv3", r);
    return new Bottleneck(tf.nn.relu(tf.math.add(shortcut, conv3)), conv3);
  }
}
