package dev.deeplab.internal.head;

import static dev.deeplab.model.ModelConfig.scaleDimension;

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
 * Semantic Image Segmentation", ECCV 2018; {@code model.py refine_by_decoder}): projects the
 * low-level feature ({@code decoder/feature_projection0}), resizes it and the ASPP output to
 * {@code scale_dimension(crop, 1/decoder_output_stride)} and merges them.
 *
 * <p>Concat merge (the default): [ASPP, low-level projected to 48] refined by two 3×3 convs of
 * {@code decoder_filters} ({@code decoder_conv0}, {@code decoder_conv1}), separable or plain. Sum
 * merge ({@code decoder_use_sum_merge}, MobileNetV3): one conv of the ASPP output ({@code
 * decoder_conv0}, or separable {@code decoder_split_sep_conv0}) plus the low-level feature
 * projected to {@code decoder_filters}. With {@code decoder_output_is_logits} the decoder convs
 * have biases and no batch norm or activation, are plain, and 1×1 in the sum merge; their output
 * is the logits. Batch-normed convs use ReLU, or ReLU6 with {@code use_bounded_activation}.
 */
public final class Decoder {
  /** Channels of the projected low-level feature for the concat merge. */
  public static final int PROJECTION_DEPTH = 48;

  private Decoder() {}

  /** Builds the decoder under scope {@code decoder} at the graph root. */
  public static Operand<TFloat32> build(
      NetScope root, Operand<TFloat32> aspp, Operand<TFloat32> lowLevel, ModelConfig c) {
    NetScope decoder = root.child("decoder");
    Ops tf = decoder.tf();
    int depth = c.decoderFilters();
    boolean logits = c.decoderOutputIsLogits();
    Activation act = HeadLayers.activation(c);
    Conv projection = logits ? Conv.conv(depth, 1).withBias()
        : HeadLayers.conv(c.decoderUseSumMerge() ? depth : PROJECTION_DEPTH, 1, act);
    Operand<TFloat32> projected = projection.apply(decoder, "feature_projection0", lowLevel);
    long h = scaleDimension(c.cropHeight(), 1.0 / c.decoderOutputStride());
    long w = scaleDimension(c.cropWidth(), 1.0 / c.decoderOutputStride());
    Operand<TFloat32> x = HeadLayers.resize(tf, aspp, h, w);
    projected = HeadLayers.resize(tf, projected, h, w);
    if (c.decoderUseSumMerge()) {
      Operand<TFloat32> y = logits ? Conv.conv(depth, 1).withBias().apply(decoder, "decoder_conv0", x)
          : c.decoderUseSeparableConv()
              ? HeadLayers.splitSeparable(decoder, "decoder_split_sep_conv0", x, depth, 1, act)
              : HeadLayers.conv(depth, 3, act).apply(decoder, "decoder_conv0", x);
      return tf.math.add(y, projected);
    }
    if (logits) {
      // The concat merge keeps its two 3x3 convs (slim.repeat), plain, with biases.
      NetScope repeat = decoder.child("decoder_conv0");
      x = Conv.conv(depth, 3).withBias()
          .apply(repeat, "decoder_conv0_1", HeadLayers.concat(tf, List.of(x, projected)));
      return Conv.conv(depth, 3).withBias().apply(repeat, "decoder_conv0_2", x);
    }
    x = HeadLayers.concat(tf, List.of(x, projected));
    if (c.decoderUseSeparableConv()) {
      x = HeadLayers.splitSeparable(decoder, "decoder_conv0", x, depth, 1, act);
      return HeadLayers.splitSeparable(decoder, "decoder_conv1", x, depth, 1, act);
    }
    NetScope repeat = decoder.child("decoder_conv0");
    x = HeadLayers.conv(depth, 3, act).apply(repeat, "decoder_conv0_1", x);
    return HeadLayers.conv(depth, 3, act).apply(repeat, "decoder_conv0_2", x);
  }
}
