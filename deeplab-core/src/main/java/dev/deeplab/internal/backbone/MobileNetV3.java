package dev.deeplab.internal.backbone;

import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.BatchNormSpec;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * MobileNetV3 large and small as DeepLab's {@code mobilenet_v3_large_seg} / {@code
 * mobilenet_v3_small_seg} build them (Howard et al., "Searching for MobileNetV3", ICCV 2019;
 * {@code research/deeplab/core/feature_extractor.py}, {@code slim/nets/mobilenet/mobilenet_v3.py},
 * {@code conv_blocks.py}): scope {@code MobilenetV3}, the V3 layers with hard-swish and
 * squeeze-excitation, the last four layers at half width (expansions 336/480/480 or 144/288/288),
 * ending at the 1×1 {@code Conv_1} ({@code layer_17} / {@code layer_13}). TF "SAME" padding,
 * batch norm decay 0.997 and epsilon 1e-3 ({@code mobilenet_v2_arg_scope}).
 *
 * <p>Also {@code mobilenet_edgetpu} ({@code V3_EDGETPU} up to {@code layer_24}, scope {@code
 * MobilenetEdgeTPU}, ReLU): its first blocks are "fused", the expansion a full 3×3 conv at the
 * block's stride and no depthwise conv; one block has no residual. Channels go through {@code
 * make_divisible(n · depth_multiplier, 8)}.
 */
public final class MobileNetV3 implements Backbone {

  /**
   * One layer of the spec: a plain conv ({@code expansion == 0}) or an expanded conv, fused
   * ({@code mbv3_fused}) or with a depthwise conv.
   */
  private record Layer(double expansion, int channels, int kernel, int stride, Activation act,
      boolean squeezeExcite, boolean fused, boolean residual) {
    static Layer conv(int channels, int kernel, int stride) {
      return conv(channels, kernel, stride, Activation.HARD_SWISH);
    }

    static Layer conv(int channels, int kernel, int stride, Activation act) {
      return new Layer(0, channels, kernel, stride, act, false, false, false);
    }

    static Layer block(double expansion, int channels, int kernel, int stride, Activation act,
        boolean se) {
      return new Layer(expansion, channels, kernel, stride, act, se, false, true);
    }

    static Layer fused(double expansion, int channels, int stride) {
      return new Layer(expansion, channels, 3, stride, Activation.RELU, false, true, true);
    }

    Layer withoutResidual() {
      return new Layer(expansion, channels, kernel, stride, act, squeezeExcite, fused, false);
    }
  }

  private static final Activation RE = Activation.RELU;
  private static final Activation HS = Activation.HARD_SWISH;

  private static final List<Layer> LARGE = List.of(
      Layer.conv(16, 3, 2),
      Layer.block(1, 16, 3, 1, RE, false),
      Layer.block(4, 24, 3, 2, RE, false),
      Layer.block(3, 24, 3, 1, RE, false),
      Layer.block(3, 40, 5, 2, RE, true),
      Layer.block(3, 40, 5, 1, RE, true),
      Layer.block(3, 40, 5, 1, RE, true),
      Layer.block(6, 80, 3, 2, HS, false),
      Layer.block(2.5, 80, 3, 1, HS, false),
      Layer.block(184 / 80.0, 80, 3, 1, HS, false),
      Layer.block(184 / 80.0, 80, 3, 1, HS, false),
      Layer.block(6, 112, 3, 1, HS, true),
      Layer.block(6, 112, 3, 1, HS, true),
      Layer.block(336 / 112.0, 80, 5, 2, HS, true),
      Layer.block(480 / 80.0, 80, 5, 1, HS, true),
      Layer.block(480 / 80.0, 80, 5, 1, HS, true),
      Layer.conv(480, 1, 1));

  private static final List<Layer> SMALL = List.of(
      Layer.conv(16, 3, 2),
      Layer.block(1, 16, 3, 2, RE, true),
      Layer.block(72 / 16.0, 24, 3, 2, RE, false),
      Layer.block(88 / 24.0, 24, 3, 1, RE, false),
      Layer.block(4, 40, 5, 2, HS, true),
      Layer.block(6, 40, 5, 1, HS, true),
      Layer.block(6, 40, 5, 1, HS, true),
      Layer.block(3, 48, 5, 1, HS, true),
      Layer.block(3, 48, 5, 1, HS, true),
      Layer.block(144 / 48.0, 48, 5, 2, HS, true),
      Layer.block(288 / 48.0, 48, 5, 1, HS, true),
      Layer.block(288 / 48.0, 48, 5, 1, HS, true),
      Layer.conv(288, 1, 1));

  private static final List<Layer> EDGETPU = edgeTpu();

  private static List<Layer> edgeTpu() {
    List<Layer> l = new java.util.ArrayList<>();
    l.add(Layer.conv(32, 3, 2, RE));
    l.add(Layer.fused(1, 16, 1));
    l.add(Layer.fused(8, 32, 2));
    l.addAll(java.util.Collections.nCopies(3, Layer.fused(4, 32, 1)));
    l.add(Layer.fused(8, 48, 2));
    l.addAll(java.util.Collections.nCopies(3, Layer.fused(4, 48, 1)));
    l.add(Layer.block(8, 96, 3, 2, RE, false));
    l.addAll(java.util.Collections.nCopies(3, Layer.block(4, 96, 3, 1, RE, false)));
    l.add(Layer.block(8, 96, 3, 1, RE, false).withoutResidual());
    l.addAll(java.util.Collections.nCopies(3, Layer.block(4, 96, 3, 1, RE, false)));
    l.add(Layer.block(8, 160, 5, 2, RE, false));
    l.addAll(java.util.Collections.nCopies(3, Layer.block(4, 160, 5, 1, RE, false)));
    l.add(Layer.block(8, 192, 3, 1, RE, false));
    l.add(Layer.conv(1280, 1, 1, RE));
    return List.copyOf(l);
  }

  /** {@code layer_N/depthwise_output} feeding the decoder, by output stride. */
  private static final Map<Integer, Integer> LARGE_DECODER_LAYERS = Map.of(4, 4, 8, 7, 16, 13);
  private static final Map<Integer, Integer> SMALL_DECODER_LAYERS = Map.of(4, 2, 8, 4, 16, 9);

  private final ModelVariant variant;

  MobileNetV3(ModelVariant variant) {
    this.variant = variant;
  }

  @Override
  public FeatureMaps build(NetScope root, Operand<TFloat32> images, ModelConfig config) {
    BatchNormSpec bn = new BatchNormSpec(0.997f, 1e-3f);
    Initializer init = Initializer.truncatedNormal(0.09);
    NetScope net = root.child(variant.scope());
    StrideSchedule schedule = new StrideSchedule(config.outputStride(), 1);
    double dm = config.depthMultiplier();
    // feature_extractor.networks_to_feature_maps has no decoder end points for EdgeTPU.
    Map<Integer, Integer> decoderLayers = switch (variant) {
      case MOBILENET_V3_LARGE_SEG -> LARGE_DECODER_LAYERS;
      case MOBILENET_V3_SMALL_SEG -> SMALL_DECODER_LAYERS;
      default -> Map.of();
    };
    List<Layer> layers = switch (variant) {
      case MOBILENET_V3_LARGE_SEG -> LARGE;
      case MOBILENET_V3_SMALL_SEG -> SMALL;
      default -> EDGETPU;
    };
    Map<Integer, Operand<TFloat32>> lowLevel = new HashMap<>();
    Operand<TFloat32> x = images;
    int convs = 0;
    int blocks = 0;
    int number = 1;
    for (Layer layer : layers) {
      StrideSchedule.Step step = schedule.next(layer.stride());
      int out = MobileNetV2.makeDivisible(layer.channels() * dm, 8);
      if (layer.expansion() == 0) {
        x = Conv.conv(out, layer.kernel()).stride(step.stride())
            .rate(layer.kernel() > 1 ? step.rate() : 1).batchNorm(bn).activation(layer.act())
            .init(init).apply(net, convs == 0 ? "Conv" : "Conv_" + convs, x);
        convs++;
      } else {
        NetScope s = net.child(blocks == 0 ? "expanded_conv" : "expanded_conv_" + blocks);
        blocks++;
        int in = (int) x.shape().size(3);
        int expanded = MobileNetV2.makeDivisible(in * layer.expansion(), 8);
        Operand<TFloat32> y = x;
        if (layer.fused()) {
          // mbv3_fused: the expansion is a kernel x kernel conv at the block's own stride (its
          // blocks all come before output stride 8, so never atrous).
          if (expanded > in) {
            y = Conv.conv(expanded, layer.kernel()).stride(layer.stride()).batchNorm(bn)
                .activation(layer.act()).init(init).apply(s, "expand", y);
          }
        } else {
          if (expanded > in) {
            y = Conv.conv(expanded, 1).batchNorm(bn).activation(layer.act()).init(init)
                .apply(s, "expand", y);
          }
          y = Conv.depthwise(layer.kernel()).stride(step.stride()).rate(step.rate())
              .batchNorm(bn).activation(layer.act()).init(init).apply(s, "depthwise", y);
          for (Map.Entry<Integer, Integer> e : decoderLayers.entrySet()) {
            if (e.getValue() == number) {
              lowLevel.put(e.getKey(), y);
            }
          }
        }
        if (layer.squeezeExcite()) {
          y = SqueezeExcitation.apply(s.child("squeeze_excite"), y, init);
        }
        y = Conv.conv(out, 1).batchNorm(bn).init(init).apply(s, "project", y);
        if (layer.residual() && step.stride() == 1 && in == out) {
          y = s.tf().math.add(y, x);
        }
        x = y;
      }
      number++;
    }
    return new FeatureMaps(x, lowLevel);
  }
}
