package dev.deeplab.nn;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Stride-1 "SAME" convolutions with a dilation rate, built so that their gradients are right.
 *
 * <p>Reproduces {@code tf.nn.with_space_to_batch}: pad the input by {@code (k-1)*rate} split
 * before/after, plus whatever makes the padded size a multiple of the rate; SpaceToBatchND with
 * block {@code rate}; the undilated conv with VALID padding; BatchToSpaceND cropping the extra
 * padding. This equals a dilated SAME conv (Chen et al., "Rethinking Atrous Convolution", 2017).
 */
final class Atrous {
  private Atrous() {}

  /** The conv to run on the space-to-batch shards; VALID, stride 1, undilated. */
  @FunctionalInterface
  interface ValidConv {
    Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x, String padding, List<Long> dilations);
  }

  static Operand<TFloat32> sameConv(
      NetScope scope, Operand<TFloat32> x, int kernel, int rate, ValidConv conv) {
    Ops tf = scope.tf();
    if (scope.state().atrousMode() == AtrousMode.NATIVE_DILATION) {
      return conv.apply(tf, x, "SAME", List.of(1L, (long) rate, (long) rate, 1L));
    }
    long h = x.shape().size(1);
    long w = x.shape().size(2);
    if (h < 0 || w < 0) {
      throw new IllegalArgumentException("atrous conv needs a static spatial size, got " + x.shape());
    }
    int total = (kernel - 1) * rate;
    int before = total / 2;
    int after = total - before;
    long extraH = Math.floorMod(-(h + total), rate);
    long extraW = Math.floorMod(-(w + total), rate);
    Operand<TFloat32> shards =
        tf.spaceToBatchNd(
            x,
            tf.constant(new int[] {rate, rate}),
            tf.constant(
                new long[][] {{before, after + extraH}, {before, after + extraW}}));
    Operand<TFloat32> y = conv.apply(tf, shards, "VALID", List.of(1L, 1L, 1L, 1L));
    return tf.batchToSpaceNd(
        y, tf.constant(new int[] {rate, rate}), tf.constant(new long[][] {{0, extraH}, {0, extraW}}));
  }
}
