package dev.deeplab.internal.head;

import static dev.deeplab.model.ModelConfig.scaleDimension;

import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.ModelConfig;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The DeepLabv3+ decoder (Chen et al., "Encoder-Decoder with Atrous Separable Convolution for
 * Semantic Image Segmentation", ECCV 2018; {@code model.py refine_by_decoder}): projects the
 * low-level feature to 48 channels ({@code decoder/feature_projection0}), resizes it and the ASPP
 * output to {@code scale_dimension(crop, 1/decoder_output_stride)}, concatenates [ASPP, low-level]
 * and refines with two 3×3 convs of 256 ({@code decoder_conv0}, {@code decoder_conv1}), separable
 * or plain.
 */
public final class Decoder {
  /** Channels of the projected low-level feature. */
  public static final int PROJECTION_DEPTH = 48;

  /** {@code decoder_output_stride}'s refinement depth. */
  public static final int DEPTH = 256;

  private Decoder() {}

  /** Builds the decoder under scope {@code decoder} at the graph root. */
  public static Operand<TFloat32> build(
      NetScope root, Operand<TFloat32> aspp, Operand<TFloat32> lowLevel, ModelConfig c) {
    NetScope decoder = root.child("decoder");
    Ops tf = decoder.tf();
    Operand<TFloat32> projected =
        HeadLayers.conv(PROJECTION_DEPTH, 1).apply(decoder, "feature_projection0", lowLevel);
    long h = scaleDimension(c.cropHeight(), 1.0 / c.decoderOutputStride());
    long w = scaleDimension(c.cropWidth(), 1.0 / c.decoderOutputStride());
    Operand<TFloat32> x = HeadLayers.concat(tf,
        List.of(HeadLayers.resize(tf, aspp, h, w), HeadLayers.resize(tf, projected, h, w)));
    if (c.decoderUseSeparableConv()) {
      x = HeadLayers.splitSeparable(decoder, "decoder_conv0", x, DEPTH, 1);
      return HeadLayers.splitSeparable(decoder, "decoder_conv1", x, DEPTH, 1);
    }
    NetScope repeat = decoder.child("decoder_conv0");
    x = HeadLayers.conv(DEPTH, 3).apply(repeat, "decoder_conv0_1", x);
    return HeadLayers.conv(DEPTH, 3).apply(repeat, "decoder_conv0_2", x);
  }
}
