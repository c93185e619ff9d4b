package dev.deeplab.internal.model;

import dev.deeplab.internal.backbone.Backbone;
import dev.deeplab.internal.backbone.FeatureMaps;
import dev.deeplab.internal.head.Aspp;
import dev.deeplab.internal.head.Decoder;
import dev.deeplab.internal.head.DensePredictionCell;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.torch.TorchNetworks;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.types.TFloat32;

/**
 * The DeepLabv3 / v3+ meta-architecture ({@code research/deeplab/model.py}): input scaling,
 * backbone, ASPP (or a dense prediction cell), optional decoder and the {@code logits/semantic} 1×1 classifier, with variables
 * under the official names so that official checkpoints restore by name.
 *
 * <p>References: Chen et al., "Rethinking Atrous Convolution for Semantic Image Segmentation"
 * (arXiv:1706.05587) and "Encoder-Decoder with Atrous Separable Convolution for Semantic Image
 * Segmentation" (ECCV 2018).
 */
public final class DeepLab {
  private DeepLab() {}

  /**
   * Builds the network and returns its logits at the output (or decoder) stride: the {@code
   * logits/semantic} conv, or the decoder's output with {@code decoder_output_is_logits}.
   *
   * @param root the root scope; its state decides training or inference behaviour
   * @param pixels RGB pixel values in [0, 255], [N, cropHeight, cropWidth, 3]
   * @param config the architecture
   */
  public static Operand<TFloat32> logits(NetScope root, Operand<TFloat32> pixels, ModelConfig config) {
    long h = pixels.shape().size(1);
    long w = pixels.shape().size(2);
    if (h != config.cropHeight() || w != config.cropWidth()) {
      throw new IllegalArgumentException(
          "network input must be the crop size " + config.cropHeight() + "x" + config.cropWidth()
              + ", got " + pixels.shape());
    }
    if (config.variant().family() == ModelVariant.Family.PYTORCH) {
      return TorchNetworks.logits(root, pixels, config);
    }
    Operand<TFloat32> images = scaleInput(root.child("preprocess").tf(), pixels, config.variant());
    FeatureMaps maps = Backbone.of(config.variant()).build(root, images, config);
    Operand<TFloat32> features = !config.asppWithBatchNorm() ? maps.features()
        : config.densePredictionCell().isEmpty() ? Aspp.build(root, maps.features(), config)
        : DensePredictionCell.build(root, maps.features(), config);
    if (config.hasDecoder()) {
      features = Decoder.build(root, features, maps, config);
      if (config.decoderOutputIsLogits()) {
        return features;
      }
    }
    return branchLogits(root.child("logits"), features, config);
  }

  /**
   * {@code model.get_branch_logits}: {@code logits/semantic}, a 1×1 conv with biases; without
   * {@code aspp_with_batch_norm}, one conv of {@code logits_kernel_size} per atrous rate ({@code
   * semantic}, {@code semantic_1}, ...), summed.
   */
  private static Operand<TFloat32> branchLogits(NetScope logits, Operand<TFloat32> features,
      ModelConfig config) {
    java.util.List<Integer> rates = config.asppWithBatchNorm() || config.atrousRates().isEmpty()
        ? java.util.List.of(1) : config.atrousRates();
    java.util.List<Operand<TFloat32>> branches = new java.util.ArrayList<>();
    for (int i = 0; i < rates.size(); i++) {
      branches.add(Conv.conv(config.numClasses(), config.logitsKernelSize()).rate(rates.get(i))
          .withBias().init(Initializer.truncatedNormal(0.01))
          .apply(logits, i == 0 ? "semantic" : "semantic_" + i, features));
    }
    return branches.size() == 1 ? branches.get(0) : logits.tf().math.addN(branches);
  }

  /**
   * Logits resized to {@code height x width} as {@code variant}'s code resizes them: PyTorch's
   * {@code align_corners=False} (half-pixel centres) for the {@link ModelVariant.Family#PYTORCH}
   * networks, else {@link #upsample(Ops, Operand, long, long)}.
   */
  public static Operand<TFloat32> upsample(Ops tf, Operand<TFloat32> logits, long height,
      long width, ModelVariant variant) {
    if (variant.family() == ModelVariant.Family.PYTORCH) {
      return TorchNetworks.upsample(tf, logits, tf.constant(new int[] {(int) height, (int) width}));
    }
    return upsample(tf, logits, height, width);
  }

  /** Logits resized to the input size with align-corners bilinear, as {@code predict_labels}. */
  public static Operand<TFloat32> upsample(Ops tf, Operand<TFloat32> logits, long height, long width) {
    return tf.image.resizeBilinear(logits, tf.constant(new int[] {(int) height, (int) width}),
        ResizeBilinear.alignCorners(true));
  }

  /**
   * The official input scaling: {@code x*2/255 - 1}, or ImageNet-mean subtraction for non-beta
   * ResNets ({@code feature_extractor._preprocess_zero_mean_unit_range / _preprocess_subtract_imagenet_mean}).
   */
  public static Operand<TFloat32> scaleInput(Ops tf, Operand<TFloat32> pixels, ModelVariant v) {
    if (v.scalesToUnitRange()) {
      return tf.math.sub(tf.math.mul(pixels, tf.constant(2f / 255f)), tf.constant(1f));
    }
    return tf.math.sub(pixels, tf.constant(new float[][][][] {{{v.imageNetMean()}}}));
  }
}
