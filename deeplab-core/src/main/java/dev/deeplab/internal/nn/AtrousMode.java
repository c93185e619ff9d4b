package dev.deeplab.internal.nn;

/**
 * How an atrous (dilated) convolution is put into the graph.
 *
 * <p>Both give the same forward result as {@code tf.nn.atrous_conv2d}. Only {@link
 * #SPACE_TO_BATCH} is safe for training: TF 2.18's C++ gradients of {@code Conv2D} and {@code
 * DepthwiseConv2dNative} with {@code dilations} != 1 are wrong (TF Java 1.1.0 uses those
 * gradients), while SpaceToBatchND, an undilated conv and BatchToSpaceND all have correct ones.
 */
public enum AtrousMode {
  /** SpaceToBatchND → undilated SAME conv per phase → BatchToSpaceND (see {@code Atrous}). */
  SPACE_TO_BATCH,
  /**
   * A single conv op with the {@code dilations} attribute; inference only, and not a safe
   * default: under oneDNN it changed the logits of separable ASPP at 513×513 (xception_65: 9.4%
   * relative, 99.7% argmax agreement; BENCHMARKS.md), and without oneDNN TF has no dilated
   * depthwise kernel.
   */
  NATIVE_DILATION
}
