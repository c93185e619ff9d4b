package dev.deeplab.internal.tflite;

import dev.deeplab.internal.tflite.TfliteOptions.Activation;
import dev.deeplab.internal.tflite.TfliteOptions.Padding;

/**
 * Decodes the members of {@code union BuiltinOptions} (TFLite schema) that {@link TfliteOptions}
 * models. Type ids are the 1-based positions of the tables in that union; field numbers are the
 * declaration order inside each options table.
 */
final class OptionsParser {

  private static final int CONV_2D = 1;
  private static final int DEPTHWISE_CONV_2D = 2;
  private static final int POOL_2D = 5;
  private static final int CONCATENATION = 10;
  private static final int ADD = 11;
  private static final int RESIZE_BILINEAR = 15;
  private static final int ARG_MAX = 40;

  private OptionsParser() {}

  /** The options of union type {@code type} stored in {@code t}, or null if not modelled. */
  static TfliteOptions parse(int type, CheckedTable t) throws TfliteFormatException {
    switch (type) {
      case CONV_2D:
        // padding, stride_w, stride_h, fused_activation_function, dilation_w, dilation_h
        return new TfliteOptions.Conv2D(
            padding(t, 0),
            t.getInt(2, 0),
            t.getInt(1, 0),
            t.getInt(5, 1),
            t.getInt(4, 1),
            activation(t, 3));
      case DEPTHWISE_CONV_2D:
        // padding, stride_w, stride_h, depth_multiplier, fused_activation, dilation_w, dilation_h
        return new TfliteOptions.DepthwiseConv2D(
            padding(t, 0),
            t.getInt(2, 0),
            t.getInt(1, 0),
            t.getInt(6, 1),
            t.getInt(5, 1),
            t.getInt(3, 0),
            activation(t, 4));
      case POOL_2D:
        // padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function
        return new TfliteOptions.Pool2D(
            padding(t, 0),
            t.getInt(2, 0),
            t.getInt(1, 0),
            t.getInt(4, 0),
            t.getInt(3, 0),
            activation(t, 5));
      case CONCATENATION:
        return new TfliteOptions.Concatenation(t.getInt(0, 0), activation(t, 1));
      case ADD:
        return new TfliteOptions.Add(activation(t, 0));
      case RESIZE_BILINEAR:
        // new_height (deprecated), new_width (deprecated), align_corners, half_pixel_centers
        return new TfliteOptions.ResizeBilinear(t.getBool(2, false), t.getBool(3, false));
      case ARG_MAX:
        return new TfliteOptions.ArgMax(TensorType.fromCode(t.getByte(0, (byte) 0)));
      default:
        return null;
    }
  }

  private static Padding padding(CheckedTable t, int field) throws TfliteFormatException {
    return Padding.fromCode(t.getByte(field, (byte) 0));
  }

  private static Activation activation(CheckedTable t, int field) throws TfliteFormatException {
    return Activation.fromCode(t.getByte(field, (byte) 0));
  }
}
