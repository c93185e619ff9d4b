package dev.deeplab.train;

import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.Map;

/** Small networks and comparisons for the training tests. */
public final class TinyModels {
  private TinyModels() {}

  /** MobileNetV2 DeepLabv3, depth multiplier 0.25, OS 16, 21 classes, a square crop. */
  public static ModelConfig mobilenet(int crop) {
    return ModelConfig.defaults(ModelVariant.MOBILENET_V2, 16).withDepthMultiplier(0.25)
        .withCropSize(crop, crop);
  }

  /** The largest absolute difference between two sets of tensors with the same names. */
  static double maxDifference(Map<String, FloatTensor> a, Map<String, FloatTensor> b) {
    if (!a.keySet().equals(b.keySet())) {
      throw new AssertionError("different variables: " + a.keySet() + " vs " + b.keySet());
    }
    double max = 0;
    for (String name : a.keySet()) {
      float[] x = a.get(name).data();
      float[] y = b.get(name).data();
      for (int i = 0; i < x.length; i++) {
        max = Math.max(max, Math.abs(x[i] - y[i]));
      }
    }
    return max;
  }

  /** The largest absolute value over all tensors. */
  static double maxAbs(Map<String, FloatTensor> a) {
    double max = 0;
    for (FloatTensor t : a.values()) {
      for (float v : t.data()) {
        max = Math.max(max, Math.abs(v));
      }
    }
    return max;
  }
}
