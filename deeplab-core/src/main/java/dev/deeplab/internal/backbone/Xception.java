package dev.deeplab.internal.backbone;

import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.BatchNormSpec;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.Padding;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * DeepLab's aligned Xception 41/65/71 ({@code core/xception.py}; Chollet, "Xception", CVPR 2017,
 * modified as in Chen et al., "Encoder-Decoder with Atrous Separable Convolution", ECCV 2018):
 * every max-pool replaced by a strided separable conv, batch norm after each depthwise and
 * pointwise conv, and ReLU before each separable conv except in the last block, which applies it
 * after. Batch norm decay 0.9997, epsilon 1e-3; truncated-normal(0.09) initialisation.
 *
 * <p>With {@code use_bounded_activation} ({@code xception_arg_scope}): ReLU6 wherever ReLU was;
 * the batch-norm outputs that had no activation are clipped to [-6, 6]; a module's residual and
 * shortcut (or input) are clipped before their sum and ReLU6 follows it; the separable convs pad as
 * TF "SAME" even when strided ({@code use_explicit_padding=False}; the root convs keep {@code
 * conv2d_same}).
 */
public final class Xception implements Backbone {

  private enum Skip {
    CONV,
    SUM,
    NONE
  }

  private record Block(String scope, int units, int[] depths, Skip skip, int stride,
      boolean activationInside) {}

  private final ModelVariant variant;

  public Xception(ModelVariant variant) {
    this.variant = variant;
  }

  private List<Block> blocks() {
    int[] d728 = {728, 728, 728};
    List<Block> b = new ArrayList<>();
    b.add(new Block("entry_flow/block1", 1, new int[] {128, 128, 128}, Skip.CONV, 2, false));
    if (variant == ModelVariant.XCEPTION_71) {
      b.add(new Block("entry_flow/block2", 1, new int[] {256, 256, 256}, Skip.CONV, 1, false));
      b.add(new Block("entry_flow/block3", 1, new int[] {256, 256, 256}, Skip.CONV, 2, false));
      b.add(new Block("entry_flow/block4", 1, d728, Skip.CONV, 1, false));
      b.add(new Block("entry_flow/block5", 1, d728, Skip.CONV, 2, false));
    } else {
      b.add(new Block("entry_flow/block2", 1, new int[] {256, 256, 256}, Skip.CONV, 2, false));
      b.add(new Block("entry_flow/block3", 1, d728, Skip.CONV, 2, false));
    }
    b.add(new Block("middle_flow/block1", variant.repeatedUnits(), d728, Skip.SUM, 1, false));
    b.add(new Block("exit_flow/block1", 1, new int[] {728, 1024, 1024}, Skip.CONV, 2, false));
    b.add(new Block("exit_flow/block2", 1, new int[] {1536, 1536, 2048}, Skip.NONE, 1, true));
    return b;
  }

  /** The blocks whose {@code unit_1 separable_conv2_pointwise} output feeds the decoder. */
  private Map<String, Integer> decoderEndpoints() {
    return variant == ModelVariant.XCEPTION_71
        ? Map.of("entry_flow/block3", 4, "entry_flow/block5", 8)
        : Map.of("entry_flow/block2", 4, "entry_flow/block3", 8);
  }

  @Override
  public FeatureMaps build(NetScope root, Operand<TFloat32> images, ModelConfig config) {
    BatchNormSpec bn = new BatchNormSpec(variant.bnDecay(), variant.bnEpsilon());
    Initializer init = Initializer.truncatedNormal(0.09);
    boolean bounded = config.useBoundedActivation();
    Activation relu = bounded ? Activation.RELU6 : Activation.RELU;
    NetScope net = root.child(variant.scope());
    NetScope entry = net.child("entry_flow");
    Operand<TFloat32> x =
        Conv.conv(32, 3).stride(2).padding(Padding.EXPLICIT).batchNorm(bn)
            .activation(relu).init(init).apply(entry, "conv1_1", images);
    x = Conv.conv(64, 3).batchNorm(bn).activation(relu).init(init)
        .apply(entry, "conv1_2", x);

    StrideSchedule schedule = new StrideSchedule(config.outputStride(), 2);
    Map<String, NetScope> flows = new HashMap<>();
    flows.put("entry_flow", entry);
    Map<Integer, Operand<TFloat32>> lowLevel = new HashMap<>();
    Map<String, Integer> endpoints = decoderEndpoints();
    for (Block block : blocks()) {
      String[] parts = block.scope.split("/");
      NetScope blockScope = flows.computeIfAbsent(parts[0], net::child).child(parts[1]);
      for (int u = 0; u < block.units; u++) {
        StrideSchedule.Step step = schedule.next(block.stride);
        List<Integer> unitRates = block.activationInside ? config.multiGrid() : List.of(1, 1, 1);
        NetScope module = blockScope.child("unit_" + (u + 1)).child("xception_module");
        Operand<TFloat32>[] out = module(module, x, block, step, unitRates, bn, init, bounded);
        x = out[0];
        Integer os = endpoints.get(block.scope);
        if (os != null && u == 0) {
          lowLevel.put(os, out[1]);
        }
      }
    }
    return new FeatureMaps(x, lowLevel);
  }

  /** One xception_module; returns {output, separable_conv2 pointwise output}. */
  @SuppressWarnings("unchecked")
  private static Operand<TFloat32>[] module(
      NetScope module,
      Operand<TFloat32> input,
      Block block,
      StrideSchedule.Step step,
      List<Integer> unitRates,
      BatchNormSpec bn,
      Initializer init,
      boolean bounded) {
    Ops tf = module.tf();
    Activation relu = bounded ? Activation.RELU6 : Activation.RELU;
    Activation inner = block.activationInside ? relu
        : bounded ? Activation.CLIP6 : Activation.NONE;
    Operand<TFloat32> residual = input;
    Operand<TFloat32> conv2 = null;
    for (int i = 0; i < 3; i++) {
      if (!block.activationInside) {
        residual = relu.apply(tf, residual);
      }
      int stride = i == 2 ? step.stride() : 1;
      String name = "separable_conv" + (i + 1);
      residual = Conv.depthwise(3).stride(stride).rate(step.rate() * unitRates.get(i))
          .padding(bounded ? Padding.SAME : Padding.EXPLICIT).batchNorm(bn).activation(inner)
          .init(init)
          .apply(module, name + "_depthwise", residual);
      residual = Conv.conv(block.depths[i], 1).batchNorm(bn).activation(inner).init(init)
          .apply(module, name + "_pointwise", residual);
      if (i == 1) {
        conv2 = residual;
      }
    }
    Operand<TFloat32> skip =
        switch (block.skip) {
          case CONV -> Conv.conv(block.depths[2], 1).stride(step.stride()).batchNorm(bn)
              .init(init).apply(module, "shortcut", input);
          case SUM -> input;
          case NONE -> null;
        };
    if (skip == null) {
      return new Operand[] {residual, conv2};
    }
    if (!bounded) {
      return new Operand[] {tf.math.add(residual, skip), conv2};
    }
    Operand<TFloat32> sum = tf.math.add(Activation.CLIP6.apply(tf, residual),
        Activation.CLIP6.apply(tf, skip));
    return new Operand[] {Activation.RELU6.apply(tf, sum), conv2};
  }
}
