package dev.deeplab.internal.head;

import static dev.deeplab.model.ModelConfig.scaleDimension;

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
 * that order, projected by {@code concat_projection} to 256 channels, dropout (keep 0.9) in
 * training.
 */
public final class Aspp {
  /** {@code aspp_convs_filters}. */
  public static final int DEPTH = 256;

  private Aspp() {}

  /** Builds the ASPP head on {@code features} at the graph root. */
  public static Operand<TFloat32> build(NetScope root, Operand<TFloat32> features, ModelConfig c) {
    List<Operand<TFloat32>> branches = new ArrayList<>();
    long h = features.shape().size(1);
    long w = features.shape().size(2);
    if (c.imagePooling()) {
      NetScope pooling = root.child("image_pooling");
      Ops tf = pooling.tf();
      long ph = scaleDimension(c.cropHeight(), 1.0 / c.outputStride());
      long pw = scaleDimension(c.cropWidth(), 1.0 / c.outputStride());
      Operand<TFloat32> pooled =
          tf.nn.avgPool(features, List.of(1L, ph, pw, 1L), List.of(1L, 1L, 1L, 1L), "VALID");
      Operand<TFloat32> y = HeadLayers.conv(DEPTH, 1).applyIn(pooling, pooled);
      branches.add(HeadLayers.resize(tf, y, ph, pw));
    }
    branches.add(HeadLayers.conv(DEPTH, 1).apply(root, "aspp0", features));
    for (int i = 0; i < c.atrousRates().size(); i++) {
      String name = "aspp" + (i + 1);
      int rate = c.atrousRates().get(i);
      branches.add(c.asppWithSeparableConv()
          ? HeadLayers.splitSeparable(root, name, features, DEPTH, rate)
          : HeadLayers.conv(DEPTH, 3).rate(rate).apply(root, name, features));
    }
    if (h < 0 || w < 0) {
      throw new IllegalArgumentException("ASPP needs a static feature size");
    }
    NetScope projection = root.child("concat_projection");
    Operand<TFloat32> y =
        HeadLayers.conv(DEPTH, 1).applyIn(projection, HeadLayers.concat(projection.tf(), branches));
    return Dropout.apply(root.child("concat_projection_dropout"), y, 0.9f);
  }
}
