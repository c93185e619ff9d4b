package dev.deeplab.bench;

/**
 * Multiply-adds (MAdds, the unit of the DeepLab papers) of the convolutions and matrix products
 * of a graph, by kind. One MAdd is two FLOPs.
 *
 * @param convMadds dense convolutions ({@code Conv2D})
 * @param depthwiseMadds depthwise convolutions ({@code DepthwiseConv2dNative})
 * @param matmulMadds matrix products ({@code MatMul})
 * @param convOps number of dense convolution ops
 * @param depthwiseOps number of depthwise convolution ops
 */
public record FlopCount(long convMadds, long depthwiseMadds, long matmulMadds, int convOps,
    int depthwiseOps) {

  /** All multiply-adds. */
  public long madds() {
    return convMadds + depthwiseMadds + matmulMadds;
  }

  /** All multiply-adds in billions (the papers' "B"). */
  public double gmadds() {
    return madds() / 1e9;
  }

  /** FLOPs = 2 × MAdds, in billions. */
  public double gflop() {
    return 2.0 * madds() / 1e9;
  }

  /** The same counts for {@code n} times the work (e.g. a batch of {@code n}). */
  public FlopCount times(long n) {
    return new FlopCount(convMadds * n, depthwiseMadds * n, matmulMadds * n, convOps,
        depthwiseOps);
  }
}
