package dev.deeplab.internal.backbone;

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
 * The NAS backbones of DeepLab ({@code core/nas_network.py}): PNASNet (Liu et al., "Progressive
 * Neural Architecture Search", ECCV 2018) and Auto-DeepLab's hnasnet (Liu et al., "Auto-DeepLab:
 * Hierarchical Neural Architecture Search for Semantic Image Segmentation", CVPR 2019).
 *
 * <p>A stem of three 3×3 convs ({@code conv0}, {@code conv1}, {@code conv2}, each with its own
 * batch norm {@code conv*_bn}; stride 4) and twelve {@link NasCell}s {@code cell_0..11} whose
 * levels (0..3 for strides 4..32) follow a fixed path: PNASNet's depends on the output stride,
 * hnasnet's is {@code [0,0,0,1,2,1,2,2,3,3,2,1]} (ending at stride 8). A step down a level is a
 * reduction cell and doubles the filters ({@code nas_stem_output_num_conv_filters} at stride 4);
 * a step up resizes the input to {@code scale_dimension(d, 2)} and halves them. Each cell also
 * reads the input of the cell before. Optionally ({@code nas_use_classification_head}) 3×3 convs
 * down to stride 32 (strided until the output stride, atrous after) and a 2048-channel 1×1 conv.
 * Batch norm decay 0.9997, epsilon 1e-3; variance scaling (factor 1/3, fan-in, uniform).
 *
 * <p>Decoder end points ({@code feature_extractor.networks_to_feature_maps}): PNASNet's {@code
 * Stem} (the stem output, before its ReLU) and {@code Cell_3}; hnasnet's {@code Cell_2} and
 * {@code Cell_5}.
 */
public final class NasNetwork implements Backbone {
  private static final int[] HNASNET_PATH = {0, 0, 0, 1, 2, 1, 2, 2, 3, 3, 2, 1};

  private final ModelVariant variant;

  public NasNetwork(ModelVariant variant) {
    this.variant = variant;
  }

  /** The cells' levels ({@code backbone} in {@code nas_network.py}). */
  private static int[] path(ModelVariant variant, int outputStride) {
    if (variant == ModelVariant.NAS_HNASNET) {
      return HNASNET_PATH.clone();
    }
    int[] path = new int[12];
    for (int i = 0; i < path.length; i++) {
      path[i] = switch (outputStride) {
        case 8 -> 1;
        case 16 -> i < 4 ? 1 : 2;
        case 32 -> 1 + i / 4;
        default -> throw new IllegalArgumentException("unsupported output stride " + outputStride);
      };
    }
    return path;
  }

  /**
   * What the path does to one spatial size (strides as {@code ceil(d / 2)}, resizes to {@code 2d -
   * 1}) and to the stride, given the options; the decoder end points' sizes too.
   */
  private record Plan(int size, int stride) {}

  private static Plan plan(ModelVariant variant, int outputStride, boolean head,
      boolean removeOs32Stride, int dim) {
    int[] path = path(variant, outputStride);
    int size = ceilHalf(ceilHalf(dim));
    int stride = 4;
    for (int i = 0; i < path.length; i++) {
      int before = i == 0 ? 0 : path[i - 1];
      if (path[i] == before + 1 && !(i > 0 && path[i] == 3 && removeOs32Stride)) {
        size = ceilHalf(size);
        stride *= 2;
      } else if (i > 0 && path[i] == before - 1 && !(before == 3 && removeOs32Stride)) {
        size = ModelConfig.scaleDimension(size, 2);
        stride /= 2;
      }
    }
    if (head) {
      int scale = 2 + path[path.length - 1];
      int remaining = outputStride / (1 << scale);
      for (int i = 0; scale < 5 && i < 5 - scale; i++) {
        if (remaining != 1) {
          remaining /= 2;
          size = ceilHalf(size);
          stride *= 2;
        }
      }
    }
    return new Plan(size, stride);
  }

  private static int ceilHalf(int d) {
    return (d + 1) / 2;
  }

  /**
   * Why {@code variant} cannot run with these settings, or null: its features must come out at
   * the output stride, {@code scale_dimension(crop, 1/output_stride)} in size, as the DeepLab head
   * expects (the official code fails otherwise). hnasnet's resizes need crops of the form 32·k+1.
   */
  public static String incompatibility(ModelVariant variant, int outputStride, boolean head,
      boolean removeOs32Stride, int cropHeight, int cropWidth) {
    int backboneStride = 1 << (2 + path(variant, outputStride)[11]);
    if (head && outputStride % backboneStride != 0) {
      return "nas_use_classification_head needs an output stride that is a multiple of "
          + variant + "'s " + backboneStride;
    }
    int[] crop = {cropHeight, cropWidth};
    for (int dim : crop) {
      Plan p = plan(variant, outputStride, head, removeOs32Stride, dim);
      if (p.stride != outputStride) {
        return variant + " gives features at stride " + p.stride + " with these nas_* options, "
            + "not at output stride " + outputStride
            + (variant == ModelVariant.NAS_HNASNET && !head
                ? " (its cells end at stride 8; nas_use_classification_head reaches 16 and 32)"
                : "");
      }
      int expected = ModelConfig.scaleDimension(dim, 1.0 / outputStride);
      if (p.size != expected) {
        return variant + " makes " + p.size + " rows of features from a crop side of " + dim
            + " where the head expects " + expected + "; use crop sides of the form 32k+1 "
            + "(e.g. 513)";
      }
    }
    return null;
  }

  @Override
  public FeatureMaps build(NetScope root, Operand<TFloat32> images, ModelConfig config) {
    BatchNormSpec bn = new BatchNormSpec(variant.bnDecay(), variant.bnEpsilon());
    Initializer init = Initializer.varianceScalingUniform(1.0 / 3.0);
    NetScope net = root.child(variant.scope());
    Ops tf = net.tf();
    Operand<TFloat32> x = Conv.conv(64, 3).stride(2).padding(Padding.EXPLICIT).init(init)
        .apply(net, "conv0", images);
    x = bn.applyIn(net.child("conv0_bn"), x);
    x = Conv.conv(64, 3).init(init).apply(net, "conv1", tf.nn.relu(x));
    List<Operand<TFloat32>> outputs = new ArrayList<>();
    outputs.add(bn.applyIn(net.child("conv1_bn"), x));
    x = Conv.conv(128, 3).stride(2).padding(Padding.EXPLICIT).init(init)
        .apply(net, "conv2", tf.nn.relu(outputs.get(0)));
    x = bn.applyIn(net.child("conv2_bn"), x);
    outputs.add(x);
    Map<String, Operand<TFloat32>> endpoints = new HashMap<>();
    endpoints.put("Stem", x);

    NasCell cell = NasCell.of(variant, bn, init);
    boolean remove = config.nasRemoveOs32Stride();
    int[] path = path(variant, config.outputStride());
    double filterScaling = 1.0;
    for (int i = 0; i < path.length; i++) {
      int stride = 1;
      int before = i == 0 ? 0 : path[i - 1];
      if (path[i] == before + 1) {
        stride = i > 0 && path[i] == 3 && remove ? 1 : 2;
        filterScaling *= 2;
      } else if (i > 0 && path[i] == before - 1) {
        if (!(before == 3 && remove)) {
          x = NasCell.resize(tf, x, ModelConfig.scaleDimension((int) x.shape().size(1), 2),
              ModelConfig.scaleDimension((int) x.shape().size(2), 2));
        }
        filterScaling /= 2;
      }
      int filters = (int) (config.nasStemOutputNumConvFilters() * filterScaling);
      x = cell.build(net.child("cell_" + i), x, outputs.get(outputs.size() - 2), filters, stride);
      endpoints.put("Cell_" + i, x);
      outputs.add(x);
    }
    x = tf.nn.relu(x);
    if (config.nasUseClassificationHead()) {
      x = classificationHead(net, x, path[path.length - 1], config.outputStride(), bn, init);
    }
    Map<Integer, Operand<TFloat32>> lowLevel = new HashMap<>();
    boolean hnas = variant == ModelVariant.NAS_HNASNET;
    lowLevel.put(4, endpoints.get(hnas ? "Cell_2" : "Stem"));
    lowLevel.put(8, endpoints.get(hnas ? "Cell_5" : "Cell_3"));
    return new FeatureMaps(x, lowLevel);
  }

  /**
   * {@code nas_use_classification_head}: 3×3 convs {@code downsample_os{8,16,32}} (256, 512,
   * 1024 filters) from the last cell's stride to 32, strided while below the output stride and
   * atrous (rate doubling) after; then {@code classification_head}, 1×1 to 2048; batch norm and
   * ReLU after each.
   */
  private static Operand<TFloat32> classificationHead(NetScope net, Operand<TFloat32> x,
      int lastLevel, int outputStride, BatchNormSpec bn, Initializer init) {
    Ops tf = net.tf();
    int scale = 2 + lastLevel;
    int remaining = outputStride / (1 << scale);
    int rate = 1;
    for (int i = 0; scale < 5 && i < 5 - scale; i++) {
      int target = 1 << (scale + 1 + i);
      int filters = switch (target) {
        case 8 -> 256;
        case 16 -> 512;
        default -> 1024;
      };
      int stride = 1;
      if (remaining != 1) {
        stride = 2;
        remaining /= 2;
      } else {
        rate *= 2;
      }
      String name = "downsample_os" + target;
      x = Conv.conv(filters, 3).stride(stride).rate(rate).padding(Padding.EXPLICIT).init(init)
          .apply(net, name + "_conv", x);
      x = tf.nn.relu(bn.applyIn(net.child(name + "_bn"), x));
    }
    x = Conv.conv(2048, 1).init(init).apply(net, "classification_head_conv", x);
    return tf.nn.relu(bn.applyIn(net.child("classification_head_bn"), x));
  }
}
