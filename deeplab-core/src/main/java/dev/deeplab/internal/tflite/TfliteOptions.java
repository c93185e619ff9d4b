package dev.deeplab.internal.tflite;

/**
 * The builtin options this reader decodes (members of {@code union BuiltinOptions} in the TFLite
 * schema): exactly those a DeepLab / MobileNet graph uses.
 */
public sealed interface TfliteOptions {

  /** {@code enum Padding}: TF's SAME and VALID. */
  enum Padding {
    /** Output size {@code ceil(in / stride)}, zero padding split with the extra row at the end. */
    SAME,
    /** No padding. */
    VALID;

    static Padding fromCode(int code) throws TfliteFormatException {
      if (code == 0 || code == 1) {
        return values()[code];
      }
      throw new TfliteFormatException("corrupt TFLite file: unknown padding code " + code);
    }
  }

  /** {@code enum ActivationFunctionType}: an activation fused into the preceding operator. */
  enum Activation {
    /** Identity. */
    NONE,
    /** max(x, 0). */
    RELU,
    /** clamp(x, -1, 1). */
    RELU_N1_TO_1,
    /** clamp(x, 0, 6). */
    RELU6,
    /** tanh. */
    TANH,
    /** Sign bit. */
    SIGN_BIT;

    static Activation fromCode(int code) throws TfliteFormatException {
      if (code >= 0 && code < values().length) {
        return values()[code];
      }
      throw new TfliteFormatException("corrupt TFLite file: unknown activation code " + code);
    }
  }

  /**
   * {@code table Conv2DOptions}.
   *
   * @param padding SAME or VALID
   * @param strideH vertical stride
   * @param strideW horizontal stride
   * @param dilationH vertical dilation (atrous rate)
   * @param dilationW horizontal dilation
   * @param activation fused activation
   */
  record Conv2D(
      Padding padding,
      int strideH,
      int strideW,
      int dilationH,
      int dilationW,
      Activation activation)
      implements TfliteOptions {}

  /**
   * {@code table DepthwiseConv2DOptions}.
   *
   * @param padding SAME or VALID
   * @param strideH vertical stride
   * @param strideW horizontal stride
   * @param dilationH vertical dilation (atrous rate)
   * @param dilationW horizontal dilation
   * @param depthMultiplier channel multiplier (1 for MobileNet)
   * @param activation fused activation
   */
  record DepthwiseConv2D(
      Padding padding,
      int strideH,
      int strideW,
      int dilationH,
      int dilationW,
      int depthMultiplier,
      Activation activation)
      implements TfliteOptions {}

  /**
   * {@code table Pool2DOptions} (AVERAGE_POOL_2D, MAX_POOL_2D, L2_POOL_2D).
   *
   * @param padding SAME or VALID
   * @param strideH vertical stride
   * @param strideW horizontal stride
   * @param filterH window height
   * @param filterW window width
   * @param activation fused activation
   */
  record Pool2D(
      Padding padding, int strideH, int strideW, int filterH, int filterW, Activation activation)
      implements TfliteOptions {}

  /**
   * {@code table ConcatenationOptions}.
   *
   * @param axis the concatenation axis (negative counts from the end)
   * @param activation fused activation
   */
  record Concatenation(int axis, Activation activation) implements TfliteOptions {}

  /**
   * {@code table AddOptions}.
   *
   * @param activation fused activation
   */
  record Add(Activation activation) implements TfliteOptions {}

  /**
   * {@code table ResizeBilinearOptions}.
   *
   * @param alignCorners TF's {@code align_corners} (DeepLab uses true)
   * @param halfPixelCenters TF's {@code half_pixel_centers}
   */
  record ResizeBilinear(boolean alignCorners, boolean halfPixelCenters) implements TfliteOptions {}

  /**
   * {@code table ArgMaxOptions}.
   *
   * @param outputType the index type (INT32 or INT64)
   */
  record ArgMax(TensorType outputType) implements TfliteOptions {}
}
