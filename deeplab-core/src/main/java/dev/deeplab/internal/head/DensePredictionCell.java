package dev.deeplab.internal.head;

import static dev.deeplab.model.ModelConfig.scaleDimension;

import dev.deeplab.internal.nn.Activation;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.Dropout;
import dev.deeplab.internal.nn.Initializer;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.model.DenseCellBranch;
import dev.deeplab.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The dense prediction cell in place of ASPP (Chen et al., "Searching for Efficient Multi-Scale
 * Architectures for Dense Image Prediction", NeurIPS 2018; {@code core/dense_prediction_cell.py
 * build_cell}): under scope {@code meta_architecture}, branch {@code i} reads the features or an
 * earlier branch and is a 1×1 conv {@code branch<i>}, a split separable conv {@code
 * branch<i>_depthwise}/{@code _pointwise} of its (possibly non-square) kernel at its (possibly
 * unequal) rates times {@code 16 /
 * output_stride}, or a pyramid pooling; the concatenation, dropout (keep 0.9) in training, goes
 * through {@code concat_projection}. 256 channels, batch norm (decay 0.9997, epsilon 1e-5), ReLU
 * (also with {@code use_bounded_activation}: the cell's arg scope names {@code tf.nn.relu}).
 */
public final class DensePredictionCell {
  private static final int DEPTH = 256;

  private DensePredictionCell() {}

  /** Builds the cell on {@code features} at the graph root. */
  public static Operand<TFloat32> build(NetScope root, Operand<TFloat32> features, ModelConfig c) {
    NetScope cell = root.child("meta_architecture");
    int multiplier = 16 / c.outputStride();
    List<Operand<TFloat32>> branches = new ArrayList<>();
    List<DenseCellBranch> spec = c.densePredictionCell();
    for (int i = 0; i < spec.size(); i++) {
      DenseCellBranch b = spec.get(i);
      String name = "branch" + i;
      Operand<TFloat32> x = b.input() < 0 ? features : branches.get(b.input());
      if (b.op().equals("pyramid_pooling")) {
        branches.add(pyramidPooling(cell.child(name), x, b, c));
      } else if (b.isPointwise()) {
        branches.add(HeadLayers.conv(DEPTH, 1).apply(cell, name, x));
      } else {
        Operand<TFloat32> y = Conv.depthwise(b.kernel().get(0), b.kernel().get(1))
            .rate(b.rate().get(0) * multiplier, b.rate().get(1) * multiplier)
            .batchNorm(HeadLayers.BN).activation(Activation.RELU)
            .init(Initializer.truncatedNormal(0.33)).apply(cell, name + "_depthwise", x);
        branches.add(HeadLayers.conv(DEPTH, 1).init(Initializer.truncatedNormal(0.06))
            .apply(cell, name + "_pointwise", y));
      }
    }
    NetScope projection = cell.child("concat_projection");
    Operand<TFloat32> concat = Dropout.apply(cell.child("concat_projection_dropout"),
        HeadLayers.concat(projection.tf(), branches), 0.9f);
    return HeadLayers.conv(DEPTH, 1).applyIn(projection, concat);
  }

  /** Averages windows of the (image-pooling) crop over the grid, 1×1 conv, resized back. */
  private static Operand<TFloat32> pyramidPooling(NetScope scope, Operand<TFloat32> x,
      DenseCellBranch b, ModelConfig c) {
    Ops tf = scope.tf();
    List<Integer> window = c.imagePoolingCropSize().isEmpty()
        ? List.of(c.cropHeight(), c.cropWidth()) : c.imagePoolingCropSize();
    long kh = scaleDimension(window.get(0), 1.0 / (c.outputStride() * b.gridSize().get(0)));
    long kw = scaleDimension(window.get(1), 1.0 / (c.outputStride() * b.gridSize().get(1)));
    Operand<TFloat32> pooled = tf.nn.avgPool(x, List.of(1L, kh, kw, 1L),
        List.of(1L, 1L, 1L, 1L), "VALID");
    Operand<TFloat32> y = HeadLayers.conv(DEPTH, 1).applyIn(scope, pooled);
    return HeadLayers.resize(tf, y, scaleDimension(c.cropHeight(), 1.0 / c.outputStride()),
        scaleDimension(c.cropWidth(), 1.0 / c.outputStride()));
  }
}
