package dev.deeplab.internal.backbone;

import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Dropout;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.ModelConfig;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * VGG-16 (Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
 * Recognition", ICLR 2015) as DeepLab-LargeFOV turns it into a dense feature extractor (Chen et
 * al., "Semantic Image Segmentation with Deep Convolutional Nets and Fully Connected CRFs", ICLR
 * 2015, Section 3.1 and Table 2; the released DeepLab-LargeFOV prototxt): conv1–conv5 are 3×3
 * convs with biases and ReLU; pool1–pool3 are 3×3 max pools at stride 2, pool4 and pool5 3×3 max
 * pools at stride 1; conv5 runs at rate 2; pool5a is a 3×3 stride-1 average pool; fc6 is a 3×3
 * conv to 1024 channels at rate 12, fc7 a 1×1 conv to 1024, both with ReLU and dropout (keep
 * 0.5) when training. Output stride 8 ({@link ModelConfig} refuses another); the classifier
 * ({@code fc8}) is DeepLab's {@code logits/semantic}.
 *
 * <p>Variables follow slim's {@code nets/vgg.py}: {@code vgg_16/conv1/conv1_1/weights} and
 * {@code biases} ... {@code vgg_16/conv5/conv5_3}, {@code vgg_16/fc6}, {@code vgg_16/fc7}. A
 * Caffe blob [out, in, kh, kw] is a TF kernel [kh, kw, in, out]; conv1_1's input channels are in
 * Caffe's BGR order and must be reversed for our RGB input.
 *
 * <p>Padding: Caffe pads every conv by its dilation, which is TF's SAME for stride 1. Caffe's max
 * pools round their output size up; for inputs of size 8k+1 (321, 513) that is TF's SAME pooling
 * (the pads are then 1 on each side), for other sizes Caffe's maps are one row or column longer
 * at pool1–pool3. Caffe's average pool divides by the full 3×3 window, padding included, so
 * pool5a is a zero pad and a VALID average pool.
 */
public final class Vgg16 implements Backbone {
  /** Channels of each conv block, and its number of 3×3 convs. */
  private static final int[][] BLOCKS = {{64, 2}, {128, 2}, {256, 3}, {512, 3}, {512, 3}};

  /** Channels of fc6 and fc7 in DeepLab-LargeFOV (VGG-16's 4096, subsampled). */
  private static final int FC_CHANNELS = 1024;

  /** The atrous rate of fc6 in DeepLab-LargeFOV (its field of view 224 at output stride 8). */
  private static final int FC6_RATE = 12;

  /** The keep probability of drop6 and drop7 ({@code dropout_ratio: 0.5}). */
  private static final float KEEP = 0.5f;

  @Override
  public FeatureMaps build(NetScope root, Operand<TFloat32> images, ModelConfig config) {
    NetScope net = root.child(config.variant().scope());
    Operand<TFloat32> x = images;
    for (int b = 0; b < BLOCKS.length; b++) {
      int block = b + 1;
      NetScope scope = net.child("conv" + block);
      int rate = block == 5 ? 2 : 1;
      for (int i = 1; i <= BLOCKS[b][1]; i++) {
        x = Conv.conv(BLOCKS[b][0], 3).rate(rate).withBias().activation(Activation.RELU)
            .apply(scope, "conv" + block + "_" + i, x);
      }
      x = maxPool(net.child("pool" + block), x, block <= 3 ? 2 : 1);
    }
    x = averagePool(net.child("pool5a"), x);
    x = Conv.conv(FC_CHANNELS, 3).rate(FC6_RATE).withBias().activation(Activation.RELU)
        .apply(net, "fc6", x);
    x = Dropout.apply(net.child("dropout6"), x, KEEP);
    x = Conv.conv(FC_CHANNELS, 1).withBias().activation(Activation.RELU).apply(net, "fc7", x);
    x = Dropout.apply(net.child("dropout7"), x, KEEP);
    return new FeatureMaps(x, Map.of());
  }

  /** A 3×3 max pool, SAME (Caffe's {@code pad: 1} for inputs of size 8k+1). */
  private static Operand<TFloat32> maxPool(NetScope scope, Operand<TFloat32> x, int stride) {
    Ops tf = scope.tf();
    return tf.nn.maxPool(x, tf.constant(new int[] {1, 3, 3, 1}),
        tf.constant(new int[] {1, stride, stride, 1}), "SAME");
  }

  /**
   * Caffe's 3×3 stride-1 {@code pad: 1} average pool: every window's sum over 9, the zero padding
   * counted (TF's SAME average pool divides the border windows by fewer).
   */
  private static Operand<TFloat32> averagePool(NetScope scope, Operand<TFloat32> x) {
    Ops tf = scope.tf();
    Operand<TFloat32> padded = tf.pad(x,
        tf.constant(new int[][] {{0, 0}, {1, 1}, {1, 1}, {0, 0}}), tf.constant(0f));
    return tf.nn.avgPool(padded, List.of(1L, 3L, 3L, 1L), List.of(1L, 1L, 1L, 1L), "VALID");
  }
}
