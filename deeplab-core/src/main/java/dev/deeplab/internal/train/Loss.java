package dev.deeplab.internal.train;

import dev.deeplab.internal.model.DeepLab;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.train.LossConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.nn.TopK;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TUint8;

/**
 * The DeepLab training loss of one replica, as the official {@code
 * train_utils.add_softmax_cross_entropy_loss_for_each_scale} (with {@code upsample_logits=True}):
 *
 * <ol>
 *   <li>logits are bilinearly upsampled (align corners; half-pixel centres for the PyTorch
 *       networks, as their {@code F.interpolate(align_corners=False)}) to the label size;
 *   <li>per-pixel softmax cross-entropy against one-hot labels, built with the <em>dense</em>
 *       {@code SoftmaxCrossEntropyWithLogits} op, whose C++ gradient exists in TF Java (the sparse
 *       op has none, and custom gradients are limited to 10 per process in TF Java 1.1.0);
 *   <li>pixels labelled {@code ignoreLabel} get weight 0 (their one-hot row is all zeros), others
 *       the weight of their class;
 *   <li>with hard-pixel mining only the top {@code k} weighted losses count, {@code k} ramping
 *       linearly from all pixels to {@code topKPercentPixels} over {@code hardExampleMiningStep}
 *       steps. The selection is a stop-gradient mask at the k-th largest loss ({@code TopKV2} has
 *       no gradient in TF Java; the mask gives the same value and gradient as the official {@code
 *       tf.nn.top_k} of the losses).
 * </ol>
 *
 * <p>The loss is returned as a sum and a normaliser (valid pixels, or kept non-zero pixels when
 * mining), so that data-parallel replicas can normalise by the count over the whole global batch:
 * the mean loss is {@code sum / max(normaliser, 1)}, the official {@code _div_maybe_zero}.
 */
public final class Loss {
  private Loss() {}

  /**
   * The loss of one replica.
   *
   * @param sum the weighted sum of the per-pixel losses that count
   * @param normalizer the number of pixels the official code divides by (a constant for the
   *     gradient)
   */
  public record Parts(Operand<TFloat32> sum, Operand<TFloat32> normalizer) {}

  /**
   * Builds the loss.
   *
   * @param tf where to build it
   * @param logits network logits {@code [N, h, w, C]} at the output stride
   * @param labels class ids {@code [N, H, W]}
   * @param config the weighting
   * @param globalStep the training step (for the hard-mining ramp); may be null without mining
   * @param variant the network, whose own resize upsamples the logits ({@link
   *     DeepLab#upsample(Ops, Operand, long, long, ModelVariant)})
   */
  public static Parts build(Ops tf, Operand<TFloat32> logits, Operand<TUint8> labels,
      LossConfig config, Operand<TInt64> globalStep, ModelVariant variant) {
    int numClasses = (int) logits.shape().size(3);
    long height = labels.shape().size(1);
    long width = labels.shape().size(2);
    Operand<TFloat32> upsampled = DeepLab.upsample(tf, logits, height, width, variant);
    Operand<TFloat32> flatLogits = tf.reshape(upsampled, tf.constant(new long[] {-1, numClasses}));
    Operand<TInt32> flatLabels =
        tf.reshape(tf.dtypes.cast(labels, TInt32.class), tf.constant(new long[] {-1}));
    Operand<TFloat32> keep = tf.dtypes.cast(
        tf.math.notEqual(flatLabels, tf.constant(config.ignoreLabel())), TFloat32.class);
    Operand<TFloat32> oneHot = tf.stopGradient(
        tf.oneHot(flatLabels, tf.constant(numClasses), tf.constant(1f), tf.constant(0f)));
    // For ignore labels >= numClasses the one-hot row is already all zeros; the keep mask also
    // covers an ignore label inside [0, C) (ADE20K's 0).
    Operand<TFloat32> pixelLosses = tf.nn.softmaxCrossEntropyWithLogits(flatLogits, oneHot).loss();
    Operand<TFloat32> weights = keep;
    if (!config.classWeights().isEmpty()) {
      float[] w = new float[numClasses];
      for (int c = 0; c < numClasses; c++) {
        w[c] = config.classWeights().get(c).floatValue();
      }
      Operand<TInt32> safeLabels = tf.select(tf.math.notEqual(flatLabels,
          tf.constant(config.ignoreLabel())), flatLabels, tf.zerosLike(flatLabels));
      safeLabels = tf.math.minimum(safeLabels, tf.constant(numClasses - 1));
      weights = tf.math.mul(keep, tf.gather(tf.constant(w), safeLabels, tf.constant(0)));
    }
    Operand<TFloat32> weighted = tf.math.mul(pixelLosses, weights);
    if (!config.minesHardPixels()) {
      return new Parts(tf.reduceSum(weighted, tf.constant(0)), tf.reduceSum(keep, tf.constant(0)));
    }
    return hardPixels(tf, weighted, config, globalStep);
  }

  /** Keeps the top-k weighted losses with a stop-gradient threshold mask. */
  private static Parts hardPixels(Ops tf, Operand<TFloat32> weighted, LossConfig config,
      Operand<TInt64> globalStep) {
    Operand<TFloat32> numPixels =
        tf.dtypes.cast(tf.size(weighted, TInt32.class), TFloat32.class);
    Operand<TFloat32> fraction = tf.constant((float) config.topKPercentPixels());
    if (config.hardExampleMiningStep() > 0) {
      Operand<TFloat32> ratio = tf.math.minimum(tf.constant(1f), tf.math.div(
          tf.dtypes.cast(globalStep, TFloat32.class),
          tf.constant((float) config.hardExampleMiningStep())));
      fraction = tf.math.add(tf.math.mul(ratio, fraction),
          tf.math.sub(tf.constant(1f), ratio));
    }
    Operand<TInt32> k = tf.math.maximum(tf.constant(1),
        tf.dtypes.cast(tf.math.mul(fraction, numPixels), TInt32.class));
    Operand<TFloat32> frozen = tf.stopGradient(weighted);
    TopK<TFloat32, TInt32> top = tf.nn.topK(frozen, k, new TopK.Options[0]);
    Operand<TFloat32> threshold = tf.stopGradient(tf.gather(top.values(),
        tf.math.sub(k, tf.constant(1)), tf.constant(0)));
    Operand<TFloat32> mask = tf.stopGradient(tf.dtypes.cast(tf.math.logicalAnd(
        tf.math.greaterEqual(frozen, threshold), tf.math.greater(frozen, tf.constant(0f))),
        TFloat32.class));
    return new Parts(tf.reduceSum(tf.math.mul(weighted, mask), tf.constant(0)),
        tf.reduceSum(mask, tf.constant(0)));
  }
}
