package dev.deeplab.internal.nn;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Stride-1 "SAME" convolutions with a dilation rate, built so that their gradients are right.
 *
 * <p>A dilated conv with rate {@code r} only ever combines pixels whose coordinates agree modulo
 * {@code r}, so it splits into {@code r²} independent undilated convs, one per phase (Chen et al.,
 * "Rethinking Atrous Convolution", 2017). The input is zero-padded at the bottom/right to a
 * multiple of {@code r}; SpaceToBatchND with block {@code r} gathers the phases into the batch;
 * each phase gets the undilated SAME conv, whose one-pixel zero border is exactly the dilated
 * conv's {@code r}-pixel border; BatchToSpaceND puts the phases back and crops the extra rows.
 *
 * <p>{@code tf.nn.with_space_to_batch} instead pads by the whole dilated border, {@code (k-1)·r},
 * and runs a VALID conv: the same values, but at the ASPP rates on a 33×33 map (513 px, output
 * stride 16) it moves up to 4.8× the feature map through SpaceToBatchND. This form moves at most
 * {@code (⌈n/r⌉·r / n)²} of it (1.19× at 33 and rate 18). A rate above the map's size is run
 * at the map's size: the taps off centre fall in the border either way.
 */
final class Atrous {
  private Atrous() {}

  /** The conv to run on the phases; stride 1, undilated. */
  @FunctionalInterface
  interface PhaseConv {
    Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x, String padding, List<Long> dilations);
  }

  /**
   * The conv at rate {@code rateH} along the height and {@code rateW} along the width (each
   * dimension splits into its own phases, so unequal rates, as the dense prediction cell's, work
   * the same way).
   */
  static Operand<TFloat32> sameConv(
      NetScope scope, Operand<TFloat32> x, int kernelH, int kernelW, int rateH, int rateW,
      PhaseConv conv) {
    Ops tf = scope.tf();
    if (scope.state().atrousMode() == AtrousMode.NATIVE_DILATION) {
      return conv.apply(tf, x, "SAME", List.of(1L, (long) rateH, (long) rateW, 1L));
    }
    if (kernelH % 2 == 0 || kernelW % 2 == 0) {
      // An even kernel's SAME border is asymmetric and does not scale with the rate.
      throw new IllegalArgumentException("atrous convs need an odd kernel size, got " + kernelH
          + "x" + kernelW);
    }
    long h = x.shape().size(1);
    long w = x.shape().size(2);
    if (h < 0 || w < 0) {
      throw new IllegalArgumentException("atrous conv needs a static spatial size, got " + x.shape());
    }
    // A rate of at least the map's size leaves every tap but the centre in the zero border, as
    // a rate of the map's size does: that rate gives the same sums on fewer phases (fc6's rate 12
    // on a 5x5 map: 25 phases instead of 144).
    int rh = (int) Math.min(rateH, h);
    int rw = (int) Math.min(rateW, w);
    long extraH = Math.floorMod(-h, rh);
    long extraW = Math.floorMod(-w, rw);
    Operand<TFloat32> y = conv.apply(tf,
        tf.spaceToBatchNd(x, tf.constant(new int[] {rh, rw}),
            tf.constant(new long[][] {{0, extraH}, {0, extraW}})),
        "SAME", List.of(1L, 1L, 1L, 1L));
    return tf.batchToSpaceNd(y, tf.constant(new int[] {rh, rw}),
        tf.constant(new long[][] {{0, extraH}, {0, extraW}}));
  }
}
