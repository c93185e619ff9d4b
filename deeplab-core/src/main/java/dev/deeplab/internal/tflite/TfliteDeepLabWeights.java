package dev.deeplab.internal.tflite;

import dev.deeplab.internal.weights.FloatTensor;
import java.util.List;
import java.util.Map;

/**
 * Float weights recovered from a quantised DeepLabv3 + MobileNetV2 TFLite file, under the official
 * TensorFlow DeepLab variable names and TF layouts, together with what the importer inferred about
 * the model. Produced by {@link TfliteDeepLabImporter}.
 *
 * @param variables official variable name → value, e.g. {@code MobilenetV2/Conv/weights} [3,3,3,32]
 *     or {@code aspp0/BatchNorm/beta} [256]; backbone first in graph order, then {@code
 *     image_pooling}, {@code aspp0}, {@code concat_projection}, {@code logits/semantic}
 *     (unmodifiable, iteration order as listed)
 * @param depthMultiplier the MobileNetV2 depth multiplier implied by the channel counts (1.0 or 0.5
 *     for the bundled files)
 * @param numClasses output channels of {@code logits/semantic} (21 for PASCAL VOC)
 * @param inputHeight image height the graph was exported for (513)
 * @param inputWidth image width the graph was exported for (513)
 * @param inputScale quantisation scale of the uint8 input (1/128), 1 if the input is float
 * @param inputZeroPoint quantisation zero point of the input (128), 0 if the input is float
 * @param outputStride input size over feature size, {@code (inputHeight-1)/(featureHeight-1)} (16)
 * @param imagePoolingKernel the AVERAGE_POOL_2D window {@code [height, width]} (33×33 at OS 16)
 * @param asppDepth output channels of {@code aspp0} and {@code image_pooling} (256)
 * @param layers every conv layer with its TFLite execution attributes, in {@code variables} order
 */
public record TfliteDeepLabWeights(
    Map<String, FloatTensor> variables,
    float depthMultiplier,
    int numClasses,
    int inputHeight,
    int inputWidth,
    float inputScale,
    long inputZeroPoint,
    int outputStride,
    int[] imagePoolingKernel,
    int asppDepth,
    List<ConvLayer> layers) {

  /** Copies the collections so the result is immutable. */
  public TfliteDeepLabWeights {
    variables = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(variables));
    layers = List.copyOf(layers);
    imagePoolingKernel = imagePoolingKernel.clone();
  }

  /** The window of the image-pooling AVERAGE_POOL_2D, {@code [height, width]} (a copy). */
  @Override
  public int[] imagePoolingKernel() {
    return imagePoolingKernel.clone();
  }

  /** The value of variable {@code name}, or null if there is none. */
  public FloatTensor variable(String name) {
    return variables.get(name);
  }

  /**
   * How one conv layer runs in the TFLite graph. TFLite CONV_2D / DEPTHWISE_CONV_2D with SAME
   * padding match TF's {@code padding='SAME'}; {@code dilation} is the atrous rate.
   *
   * @param scope the official variable scope, e.g. {@code MobilenetV2/expanded_conv_14/depthwise}
   * @param depthwise whether it is a depthwise conv
   * @param stride the stride (equal in both directions in these files)
   * @param dilation the dilation rate (equal in both directions in these files)
   * @param padding SAME or VALID
   * @param activation the fused activation (RELU6 in the backbone except project layers, RELU in
   *     the head, NONE for project layers and logits)
   * @param batchNormEpsilon the epsilon the emitted BatchNorm variables were built for, or 0 for
   *     {@code logits/semantic}, which has biases instead of batch norm
   */
  public record ConvLayer(
      String scope,
      boolean depthwise,
      int stride,
      int dilation,
      TfliteOptions.Padding padding,
      TfliteOptions.Activation activation,
      float batchNormEpsilon) {}
}
