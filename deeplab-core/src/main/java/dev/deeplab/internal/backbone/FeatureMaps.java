package dev.deeplab.internal.backbone;

import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;

/**
 * What a backbone hands to the DeepLab head: the final features and the low-level endpoints the
 * DeepLabv3+ decoder may use, keyed by their output stride ({@code
 * feature_extractor.networks_to_feature_maps}).
 *
 * @param features the last feature map, at the configured output stride
 * @param lowLevel decoder endpoints by output stride (4 and 8)
 */
public record FeatureMaps(Operand<TFloat32> features, Map<Integer, Operand<TFloat32>> lowLevel) {

  /** The decoder endpoint at {@code outputStride}, or a clear error if the backbone has none. */
  public Operand<TFloat32> lowLevel(int outputStride) {
    Operand<TFloat32> f = lowLevel.get(outputStride);
    if (f == null) {
      throw new IllegalArgumentException("no decoder endpoint at output stride " + outputStride);
    }
    return f;
  }
}
