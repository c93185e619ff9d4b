package dev.deeplab.internal.backbone;

/**
 * The official conversion of strides into atrous rates once the target output stride is reached
 * ({@code stack_blocks_dense} in {@code core/xception.py} and {@code resnet_utils.py}; {@code
 * mobilenet_base} does the same): later units run at stride 1 with the accumulated rate, and the
 * rate is multiplied by each stride they skip.
 */
final class StrideSchedule {
  private final int outputStride;
  private int current;
  private int rate = 1;

  /**
   * @param outputStride the target stride of the whole network
   * @param rootStride the stride already taken before the scheduled units
   */
  StrideSchedule(int outputStride, int rootStride) {
    this.outputStride = outputStride;
    this.current = rootStride;
  }

  /** Stride and rate of a unit whose nominal stride is {@code stride}. */
  Step next(int stride) {
    if (current > outputStride) {
      throw new IllegalStateException("output stride " + outputStride + " cannot be reached");
    }
    if (current == outputStride) {
      Step s = new Step(1, rate);
      rate *= stride;
      return s;
    }
    current *= stride;
    return new Step(stride, 1);
  }

  /** The stride of the features produced so far. */
  int currentStride() {
    return current;
  }

  /** What one unit runs with. */
  record Step(int stride, int rate) {}
}
