package dev.deeplab.internal.head;

import static dev.deeplab.model.ModelConfig.scaleDimension;

import dev.deeplab.internal.backbone.FeatureMaps;
import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.ModelConfig;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The DeepLabv3+ decoder (Chen et al., "Encoder-Decoder with Atrous Separable Convolution for
 * Semantic Image Segmentation", ECCV 2018; {@code model.py refine_by_decoder}): one stage per
 * {@code decoder_output_stride}, in order (e.g. 8 then 4), under scope {@code decoder}; the first
 * stage's layers are unsuffixed, stage {@code i}'s carry the suffix {@code _i}. A stage projects
 * the backbone's low-level feature at its stride ({@code feature_projection0}), resizes it and the
 * previous output to {@code scale_dimension(crop, 1/stride)} and merges them.
 *
 * <p>Concat merge (the default): [previous, low-level projected to 48] refined by two 3×3 convs of
 * {@code decoder_filters} ({@code decoder_conv0}, {@code decoder_conv1}), separable or plain (the
 * official {@code slim.repeat} under {@code decoder_conv0<suffix>}). Sum merge ({@code
 * decoder_use_sum_merge}, MobileNetV3): one conv of the previous output ({@code decoder_conv0}, or
 * separable {@code decoder_split_sep_conv0}) plus the low-level feature projected to {@code
 * decoder_filters}. With {@code decoder_output_is_logits} the decoder convs have biases and no
 * batch norm or activation, are plain, and 1×1 in the sum merge; the last stage's output is the
 * logits. Batch-normed convs use ReLU, or ReLU6 with {@code use_bounded_activation}.
 */
public final class Decoder {
  /** Channels of the projected low-level feature for the concat merge. */
  public static final int PROJECTION_DEPTH = 48;

  private Decoder() {}

  /** Builds every decoder stage under scope {@code decoder} at the graph root. */
  public static Operand<TFloat32> build(
      NetScope root, Operand<TFloat32> aspp, FeatureMaps maps, ModelConfig c) {
    NetScope decoder = root.child("decoder");
    Operand<TFloat32> x = aspp;
    List<Integer> strides = c.decoderOutputStrides();
    for (int stage = 0; stage < strides.size(); stage++) {
      x = stage(decoder, x, maps.lowLevel(strides.get(stage)), strides.get(stage),
          stage == 0 ? "" : "_" + stage, c);
    }
    return x;
  }

  /** One stage at {@code stride}; {@code suffix} ends each of its layers' scope names. */
  private static Operand<TFloat32> stage(NetScope decoder, Operand<TFloat32> previous,
      Operand<TFloat32> lowLevel, int stride, String suffix, ModelConfig c) {
    Ops tf = decoder.tf();
    int depth = c.decoderFilters();
    boolean logits = c.decoderOutputIsLogits();
    Activation act = HeadLayers.activation(c);
    Conv projection = logits ? Conv.conv(depth, 1).withBias()
        : HeadLayers.conv(c.decoderUseSumMerge() ? depth : PROJECTION_DEPTH, 1, act);
    Operand<TFloat32> projected =
        projection.apply(decoder, "feature_projection0" + suffix, lowLevel);
    long h = scaleDimension(c.cropHeight(), 1.0 / stride);
    long w = scaleDimension(c.cropWidth(), 1.0 / stride);
    Operand<TFloat32> x = HeadLayers.resize(tf, previous, h, w);
    projected = HeadLayers.resize(tf, projected, h, w);
    if (c.decoderUseSumMerge()) {
      Operand<TFloat32> y = logits
          ? Conv.conv(depth, 1).withBias().apply(decoder, "decoder_conv0" + suffix, x)
          : c.decoderUseSeparableConv()
              ? HeadLayers.splitSeparable(decoder, "decoder_split_sep_conv0" + suffix, x, depth,
                  1, act)
              : HeadLayers.conv(depth, 3, act).apply(decoder, "decoder_conv0" + suffix, x);
      return tf.math.add(y, projected);
    }
    x = HeadLayers.concat(tf, List.of(x, projected));
    if (c.decoderUseSeparableConv() && !logits) {
      x = HeadLayers.splitSeparable(decoder, "decoder_conv0" + suffix, x, depth, 1, act);
      return HeadLayers.splitSeparable(decoder, "decoder_conv1" + suffix, x, depth, 1, act);
    }
    // slim.repeat of two 3x3 convs under 'decoder_conv0' + suffix: layers <scope>_1, <scope>_2;
    // with decoder_output_is_logits plain, with biases.
    String scope = "decoder_conv0" + suffix;
    NetScope repeat = decoder.child(scope);
    Conv conv = logits ? Conv.conv(depth, 3).withBias() : HeadLayers.conv(depth, 3, act);
    x = conv.apply(repeat, scope + "_1", x);
    return conv.apply(repeat, scope + "_2", x);
  }
}
