package dev.deeplab.internal.head;

import static dev.deeplab.model.ModelConfig.scaleDimension;

import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Dropout;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Atrous Spatial Pyramid Pooling with image-level features (Chen et al., "Rethinking Atrous
 * Convolution for Semantic Image Segmentation", 2017; {@code model.py extract_features}): branches
 * {@code image_pooling}, {@code aspp0} and {@code aspp1..n} at the atrous rates, concatenated in
 * that order, projected by {@code concat_projection}, dropout (keep 0.9) in training; all with
 * {@code aspp_convs_filters} channels. ReLU, or ReLU6 with {@code use_bounded_activation} except in
 * the image pooling.
 *
 * <p>The image pooling averages windows of the image-pooling crop size at the output stride
 * ({@code image_pooling_crop_size}, stride {@code image_pooling_stride}) and is resized back to the
 * crop size at the output stride. With {@code aspp_with_squeeze_and_excitation} (MobileNetV3) it
 * is a sigmoid gate (biases, no batch norm) multiplied into the output instead of a branch.
 */
public final class Aspp {
  private Aspp() {}

  /** Builds the ASPP head on {@code features} at the graph root. */
  public static Operand<TFloat32> build(NetScope root, Operand<TFloat32> features, ModelConfig c) {
    List<Operand<TFloat32>> branches = new ArrayList<>();
    long h = features.shape().size(1);
    long w = features.shape().size(2);
    if (h < 0 || w < 0) {
      throw new IllegalArgumentException("ASPP needs a static feature size");
    }
    int depth = c.asppConvsFilters();
    Activation act = HeadLayers.activation(c);
    Operand<TFloat32> gate = null;
    if (c.imagePooling()) {
      NetScope pooling = root.child("image_pooling");
      Ops tf = pooling.tf();
      List<Integer> window = c.imagePoolingCropSize().isEmpty()
          ? List.of(c.cropHeight(), c.cropWidth()) : c.imagePoolingCropSize();
      long ph = scaleDimension(window.get(0), 1.0 / c.outputStride());
      long pw = scaleDimension(window.get(1), 1.0 / c.outputStride());
      if (ph > h || pw > w) {
        throw new IllegalArgumentException("image pooling window " + ph + "x" + pw
            + " (image_pooling_crop_size " + window.get(0) + "x" + window.get(1)
            + " at output stride " + c.outputStride() + ") exceeds the " + h + "x" + w
            + " features of the " + c.cropHeight() + "x" + c.cropWidth() + " crop");
      }
      Operand<TFloat32> pooled = tf.nn.avgPool(features, List.of(1L, ph, pw, 1L),
          List.of(1L, (long) c.imagePoolingStride().get(0), (long) c.imagePoolingStride().get(1),
              1L), "VALID");
      Operand<TFloat32> y = c.asppWithSqueezeAndExcitation()
          ? Conv.conv(depth, 1).withBias()
              .activation(c.imageSeUsesQsigmoid() ? Activation.HARD_SIGMOID : Activation.SIGMOID)
              .applyIn(pooling, pooled)
          // image_feature_activation_fn is tf.nn.relu, bounded activations or not
          : HeadLayers.conv(depth, 1).applyIn(pooling, pooled);
      y = HeadLayers.resize(tf, y, scaleDimension(c.cropHeight(), 1.0 / c.outputStride()),
          scaleDimension(c.cropWidth(), 1.0 / c.outputStride()));
      if (c.asppWithSqueezeAndExcitation()) {
        gate = y;
      } else {
        branches.add(y);
      }
    }
    branches.add(HeadLayers.conv(depth, 1, act).apply(root, "aspp0", features));
    for (int i = 0; i < c.atrousRates().size(); i++) {
      String name = "aspp" + (i + 1);
      int rate = c.atrousRates().get(i);
      branches.add(c.asppWithSeparableConv()
          ? HeadLayers.splitSeparable(root, name, features, depth, rate, act)
          : HeadLayers.conv(depth, 3, act).rate(rate).apply(root, name, features));
    }
    Operand<TFloat32> y;
    if (c.asppWithConcatProjection()) {
      NetScope projection = root.child("concat_projection");
      y = HeadLayers.conv(depth, 1, act)
          .applyIn(projection, HeadLayers.concat(projection.tf(), branches));
      y = Dropout.apply(root.child("concat_projection_dropout"), y, 0.9f);
    } else {
      y = HeadLayers.concat(root.child("aspp_concat").tf(), branches);
    }
    return gate == null ? y : root.child("image_pooling_gate").tf().math.mul(y, gate);
  }
}
