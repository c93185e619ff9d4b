package dev.deeplab.internal.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.backbone.FeatureMaps;
import dev.deeplab.internal.backbone.NasCell;
import dev.deeplab.internal.head.Aspp;
import dev.deeplab.internal.head.Decoder;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * Central-difference gradient checks of every building block in training mode (batch norm on
 * batch statistics, ReLU kinks skipped by the checker), on small inputs. The atrous paths at rates 2 and 6 pin the TF Java trap that
 * the C++ gradients of dilated Conv2D / DepthwiseConv2dNative are wrong: ours go through
 * SpaceToBatch and must match finite differences.
 */
class BuildingBlockGradientTest {
  private static final double TOLERANCE = 2e-2;

  /**
   * Whole ASPP and decoder blocks stack ReLUs over 256 channels: many switch inside any finite
   * step, so finite differences there carry a few percent of noise (measured 4e-2 with correct
   * kernels, 0.5–1.3 with the wrong oneDNN gradients).
   */
  private static final double DEEP_TOLERANCE = 1e-1;

  /** Builds {@code block} on a [2,h,w,c] placeholder; checks d(sum(out * R))/d(input, weights). */
  private static double check(int h, int w, int c,
      BiFunction<NetScope, Operand<TFloat32>, Operand<TFloat32>> block, String... weightNames) {
    return check(2, 1e-2f, h, w, c, block, weightNames);
  }

  private static double check(int batch, float eps, int h, int w, int c,
      BiFunction<NetScope, Operand<TFloat32>, Operand<TFloat32>> block, String... weightNames) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      // Batch norm in training mode; dropout off, so that every run computes the same function.
      NetState state = new NetState(false, true, AtrousMode.SPACE_TO_BATCH, 7);
      Placeholder<TFloat32> x =
          tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(batch, h, w, c)));
      Operand<TFloat32> y = block.apply(NetScope.root(tf, state), x);
      // A fixed random projection (a constant: a seeded random op would draw anew each run).
      float[] r = new float[(int) y.shape().size()];
      java.util.Random rnd = new java.util.Random(3);
      for (int i = 0; i < r.length; i++) {
        r[i] = (float) rnd.nextGaussian();
      }
      Operand<TFloat32> projection = tf.constant(y.shape(), DataBuffers.of(r, true, false));
      Operand<TFloat32> loss = tf.reduceSum(tf.math.mul(y, projection),
          tf.constant(new int[] {0, 1, 2, 3}));
      try (Session s = new Session(g)) {
        s.initialize();
        GradientChecker checker = new GradientChecker(g, s, loss).wrt(x, 1, 1f);
        long seed = 10;
        for (String name : weightNames) {
          checker.wrt(state.variables().get(name).variable(), seed++, 0.3f);
        }
        double err = checker.build().maxRelativeError(16, eps, 5);
        System.out.printf("max relative gradient error %.2e%n", err);
        return err;
      }
    }
  }

  @Test
  void stridedConvWithOfficialPaddingOnEvenInput() {
    BatchNormSpec bn = new BatchNormSpec(0.9f, 1e-3f);
    assertTrue(check(8, 8, 3, (s, x) -> Conv.conv(4, 3).stride(2).padding(Padding.EXPLICIT)
        .batchNorm(bn).activation(Activation.RELU).apply(s, "conv", x),
        "conv/weights", "conv/BatchNorm/gamma", "conv/BatchNorm/beta") < TOLERANCE);
  }

  /**
   * The bounded activations of {@code use_bounded_activation}: the [-6, 6] clip (Maximum and
   * Minimum) and ReLU6, on values scaled well past ±6 so that both bounds are active.
   */
  @Test
  void boundedActivationsClipAndRelu6() {
    assertTrue(check(2, 1e-3f, 6, 6, 3, (s, x) -> {
      Operand<TFloat32> big = s.tf().math.mul(x, s.tf().constant(8f));
      Operand<TFloat32> y = Conv.conv(4, 3).withBias().activation(Activation.CLIP6)
          .apply(s, "clip", big);
      return Conv.conv(4, 3).withBias().activation(Activation.RELU6).apply(s, "relu6",
          s.tf().math.mul(y, s.tf().constant(2f)));
    }, "clip/weights", "relu6/weights") < TOLERANCE);
  }

  /**
   * A PNASNet reduction cell ({@code core/nas_cell.py}) on an even input: the two inputs brought
   * to the cell's filters (the previous one through {@code prev_1x1}), strided separable convs
   * with a separate pointwise kernel and their own batch norm scopes, SAME max-pools, the strided
   * 1×1 of {@code none}, the sums and the concatenation.
   */
  @Test
  void pnasnetReductionCell() {
    BatchNormSpec bn = new BatchNormSpec(0.9997f, 1e-3f);
    NasCell cell = NasCell.of(ModelVariant.NAS_PNASNET, bn, Initializer.varianceScalingUniform(1));
    // Step 1e-3: batch norm on 2×4×4 batch statistics bends the loss enough that the
    // central difference's truncation error at 1e-2 is 5.6e-2 (1.8e-2 at 3e-3, 3.6e-3 at 1e-3).
    assertTrue(check(2, 1e-3f, 8, 8, 3, (s, x) -> cell.build(s.child("cell"), x, x, 4, 2),
        "cell/prev_1x1/weights", "cell/beginning_bn/gamma",
        "cell/comb_iter_0/left/separable_5x5_1/depthwise_weights",
        "cell/comb_iter_0/left/separable_5x5_1/pointwise_weights",
        "cell/comb_iter_0/left/bn_sep_5x5_2/beta",
        "cell/comb_iter_4/right/1x1/weights") < TOLERANCE);
  }

  /**
   * An Auto-DeepLab (hnasnet) reduction cell whose previous input has another size (resized to
   * the cell input): the atrous ops, strided (a resize to {@code scale_dimension(d, 0.5)}, then
   * rate 1) and not (rate 2).
   */
  @Test
  void hnasnetReductionCellWithResizedPrevious() {
    BatchNormSpec bn = new BatchNormSpec(0.9997f, 1e-3f);
    NasCell cell = NasCell.of(ModelVariant.NAS_HNASNET, bn, Initializer.varianceScalingUniform(1));
    assertTrue(check(2, 1e-3f, 7, 7, 3, (s, x) -> cell.build(s.child("cell"), x,
            NasCell.resize(s.tf(), x, 13, 13), 4, 2),
        "cell/1x1/weights", "cell/comb_iter_0/left/atrous_5x5/weights",
        "cell/comb_iter_1/right/atrous_3x3/weights", "cell/comb_iter_1/right/bn_atr_3x3/beta",
        "cell/comb_iter_4/right/atrous_5x5/weights",
        "cell/comb_iter_3/left/separable_5x5_2/pointwise_weights") < TOLERANCE);
  }

  @Test
  void stridedConvWithSamePadding() {
    assertTrue(check(8, 8, 3, (s, x) -> Conv.conv(4, 3).stride(2).withBias().apply(s, "conv", x),
        "conv/weights", "conv/biases") < TOLERANCE);
  }

  @Test
  void atrousConvRate2() {
    assertTrue(check(7, 6, 3, (s, x) -> Conv.conv(4, 3).rate(2).apply(s, "conv", x),
        "conv/weights") < TOLERANCE);
  }

  @Test
  void atrousConvRate6() {
    assertTrue(check(9, 8, 2, (s, x) -> Conv.conv(3, 3).rate(6).apply(s, "conv", x),
        "conv/weights") < TOLERANCE);
  }

  @Test
  void atrousDepthwiseRate2And6WithBatchNorm() {
    BatchNormSpec bn = new BatchNormSpec(0.9f, 1e-3f);
    assertTrue(check(8, 9, 3, (s, x) -> {
      Operand<TFloat32> y = Conv.depthwise(3).rate(2).batchNorm(bn).apply(s, "dw2", x);
      return Conv.depthwise(3).rate(6).apply(s, "dw6", y);
    }, "dw2/depthwise_weights", "dw6/depthwise_weights", "dw2/BatchNorm/gamma") < TOLERANCE);
  }

  @Test
  void stridedDepthwiseWithOfficialPadding() {
    assertTrue(check(8, 8, 3, (s, x) -> Conv.depthwise(3).stride(2).padding(Padding.EXPLICIT)
        .apply(s, "dw", x), "dw/depthwise_weights") < TOLERANCE);
  }

  @Test
  void asppWithImagePoolingAndSeparableBranches() {
    ModelConfig c = ModelConfig.defaults(ModelVariant.XCEPTION_65, 16)
        .withAtrousRates(List.of(2, 6)).withCropSize(81, 81);
    // Features of an 81×81 crop at stride 16 are 6×6; image pooling averages all of them. A batch
    // of 4 keeps the batch norm after pooling (one value per image) well conditioned.
    assertTrue(check(4, 3e-3f, 6, 6, 4, (s, x) -> Aspp.build(s, x, c),
        "image_pooling/weights", "aspp0/weights", "aspp1_depthwise/depthwise_weights",
        "aspp2_pointwise/weights", "concat_projection/weights") < DEEP_TOLERANCE);
  }

  /**
   * A 1×1 conv reading 512 channels, as every ASPP projection does. With oneDNN on (TF's default
   * on x86), TF 2.18 gets this gradient wrong on this machine (relative error 0.39 against finite
   * differences; 9e-4 with {@code TF_ENABLE_ONEDNN_OPTS=0}), so training runs with oneDNN off:
   * the test JVM is configured so in pom.xml, and {@code Trainer} refuses otherwise.
   */
  @Test
  void wideOneByOneConvChain() {
    assertTrue(check(4, 3e-3f, 6, 6, 4, (s, x) -> Conv.conv(256, 1)
        .apply(s, "b", Conv.conv(512, 1).apply(s, "a", x))) < TOLERANCE);
  }

  @Test
  void decoderWithResizeAndConcat() {
    ModelConfig c = ModelConfig.defaults(ModelVariant.XCEPTION_65, 16).withCropSize(33, 33);
    // Low-level features at stride 4 are 9×9; ASPP output (3×3) is resized up to them.
    assertTrue(check(2, 2e-3f, 9, 9, 5, (s, x) -> {
      Operand<TFloat32> aspp = s.tf().image.resizeBilinear(x, s.tf().constant(new int[] {3, 3}),
          org.tensorflow.op.image.ResizeBilinear.alignCorners(true));
      return Decoder.build(s, aspp, new FeatureMaps(aspp, Map.of(c.decoderOutputStride(), x)), c);
    }, "decoder/feature_projection0/weights", "decoder/decoder_conv0_depthwise/depthwise_weights",
        "decoder/decoder_conv1_pointwise/weights") < DEEP_TOLERANCE);
  }

  /** Hard-swish on both sides of its kinks at ±3: the input is scaled by 4 (|4x| > 3 often). */
  @Test
  void hardSwish() {
    assertTrue(check(5, 5, 3, (s, x) -> Activation.HARD_SWISH.apply(s.tf(),
        s.tf().math.mul(x, s.tf().constant(4f)))) < TOLERANCE);
  }

  @Test
  void convWithBatchNormAndHardSwish() {
    BatchNormSpec bn = new BatchNormSpec(0.997f, 1e-3f);
    assertTrue(check(7, 6, 3, (s, x) -> Conv.conv(4, 3).batchNorm(bn)
        .activation(Activation.HARD_SWISH).apply(s, "conv", x),
        "conv/weights", "conv/BatchNorm/gamma", "conv/BatchNorm/beta") < TOLERANCE);
  }

  /** MobileNetV3's squeeze-excitation: mean, 1x1 + ReLU, 1x1 + hard sigmoid, product. */
  @Test
  void squeezeExcitation() {
    assertTrue(check(6, 5, 16, (s, x) -> dev.deeplab.internal.backbone.SqueezeExcitation.apply(
        s.child("squeeze_excite"), x, Initializer.truncatedNormal(0.5)),
        "squeeze_excite/Conv/weights", "squeeze_excite/Conv/biases",
        "squeeze_excite/Conv_1/weights", "squeeze_excite/Conv_1/biases") < TOLERANCE);
  }

  /**
   * The MobileNetV3 head's ASPP: a 4x5 pooling window at stride (1, 2) on 6x6 features, gating
   * (hard sigmoid, biases) the one 1x1 branch, without concat projection.
   */
  @Test
  void asppWithSqueezeAndExcitationGate() {
    ModelConfig c = ModelConfig.preset("mobilenetv3_large_cityscapes").withCropSize(161, 161)
        .withImagePooling(List.of(97, 129), List.of(1, 2));
    assertTrue(check(2, 3e-3f, 6, 6, 4, (s, x) -> Aspp.build(s, x, c),
        "image_pooling/weights", "image_pooling/biases", "aspp0/weights") < DEEP_TOLERANCE);
  }

  /** A two-stage decoder (decoder_output_stride=8,4): the second stage's layers suffixed _1. */
  @Test
  void twoStageDecoder() {
    ModelConfig c = ModelConfig.defaults(ModelVariant.XCEPTION_65, 16).withCropSize(33, 33)
        .withDecoderOutputStrides(List.of(8, 4));
    // Low-level features: 9x9 at stride 4, 5x5 at stride 8 (resized from them); ASPP 3x3.
    assertTrue(check(2, 5e-4f, 9, 9, 5, (s, x) -> {
      Ops tf = s.tf();
      Operand<TFloat32> low8 = tf.image.resizeBilinear(x, tf.constant(new int[] {5, 5}),
          org.tensorflow.op.image.ResizeBilinear.alignCorners(true));
      Operand<TFloat32> aspp = tf.image.resizeBilinear(x, tf.constant(new int[] {3, 3}),
          org.tensorflow.op.image.ResizeBilinear.alignCorners(true));
      return Decoder.build(s, aspp, new FeatureMaps(aspp, Map.of(8, low8, 4, x)), c);
    }, "decoder/feature_projection0/weights", "decoder/decoder_conv1_pointwise/weights",
        "decoder/feature_projection0_1/weights", "decoder/decoder_conv0_1_depthwise/depthwise_weights",
        "decoder/decoder_conv1_1_pointwise/weights") < DEEP_TOLERANCE);
  }

  /** The sum-merge decoder whose 1x1 convs (biases, no batch norm) give the logits. */
  @Test
  void sumMergeDecoderAsLogits() {
    ModelConfig c = ModelConfig.preset("mobilenetv3_small_cityscapes").withCropSize(65, 65)
        .withImagePooling(List.of(), List.of(1, 1));
    // Decoder at stride 8: 9x9; the ASPP output (3x3 at stride 32) is resized up to it.
    assertTrue(check(2, 2e-3f, 9, 9, 5, (s, x) -> {
      Operand<TFloat32> aspp = s.tf().image.resizeBilinear(x, s.tf().constant(new int[] {3, 3}),
          org.tensorflow.op.image.ResizeBilinear.alignCorners(true));
      return Decoder.build(s, aspp, new FeatureMaps(aspp, Map.of(c.decoderOutputStride(), x)), c);
    }, "decoder/feature_projection0/weights", "decoder/feature_projection0/biases",
        "decoder/decoder_conv0/weights") < TOLERANCE);
  }

  /** The dense prediction cell's unequal rates, [1, 6] and [6, 3], through SpaceToBatch. */
  @Test
  void asymmetricAtrousDepthwiseAndConv() {
    BatchNormSpec bn = new BatchNormSpec(0.9997f, 1e-5f);
    assertTrue(check(9, 8, 3, (s, x) -> {
      Operand<TFloat32> y = Conv.depthwise(3).rate(1, 6).batchNorm(bn).apply(s, "dw", x);
      return Conv.conv(2, 3).rate(6, 3).apply(s, "conv", y);
    }, "dw/depthwise_weights", "dw/BatchNorm/gamma", "conv/weights") < TOLERANCE);
  }
}
