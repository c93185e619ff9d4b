package dev.deeplab.export;

import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.testing.ReferenceWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TType;

/** Small models and checkpoints in the official layout, written by the tests themselves. */
final class Fixtures {
  private Fixtures() {}

  /** A small MobileNetV2 DeepLabv3: depth multiplier 0.5, 4 classes, 33x33 crop. */
  static final ModelConfig SMALL = ModelConfig.defaults(ModelVariant.MOBILENET_V2, 16)
      .withDepthMultiplier(0.5).withNumClasses(4).withCropSize(33, 33);

  /** The command-line options describing {@link #SMALL}. */
  static final List<String> SMALL_ARGS = List.of("--variant", "mobilenet_v2",
      "--depth-multiplier", "0.5", "--num-classes", "4", "--crop-size", "33");

  /** Formula weights for every variable of {@code config}, under the official names. */
  static Map<String, FloatTensor> weights(ModelConfig config) {
    try (ModelGraph g = ModelGraph.build(config)) {
      return ReferenceWeights.forVariables(g.variables().values());
    }
  }

  /**
   * Writes {@code weights} as a V2 checkpoint; with {@code extras} also {@code global_step}
   * (int64 30000) and a {@code <var>/Momentum} slot for every trainable variable, as official
   * training checkpoints have.
   */
  static void writeCheckpoint(Path prefix, Map<String, FloatTensor> weights, boolean extras)
      throws CheckpointException {
    Map<String, TType> tensors = new LinkedHashMap<>();
    try {
      weights.forEach((k, v) -> tensors.put(k, tensor(v)));
      if (extras) {
        tensors.put("global_step", TInt64.scalarOf(30000L));
        weights.forEach((k, v) -> {
          if (!k.endsWith("moving_mean") && !k.endsWith("moving_variance")) {
            float[] slot = new float[v.size()];
            for (int i = 0; i < slot.length; i++) {
              slot[i] = 0.01f * v.data()[i] + 0.5f;
            }
            tensors.put(k + "/Momentum", tensor(new FloatTensor(v.shape(), slot)));
          }
        });
      }
      Checkpoints.write(prefix, tensors);
    } finally {
      tensors.values().forEach(Tensor::close);
    }
  }

  static TFloat32 tensor(FloatTensor f) {
    return TFloat32.tensorOf(Shape.of(f.shape()), DataBuffers.of(f.data(), true, false));
  }

  /** Names directly under {@code dir} (empty if it does not exist). */
  static List<String> list(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  /** A small RGB test image: a colour gradient. */
  static byte[] gradient(int w, int h) {
    byte[] rgb = new byte[w * h * 3];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = (y * w + x) * 3;
        rgb[i] = (byte) (x * 255 / Math.max(1, w - 1));
        rgb[i + 1] = (byte) (y * 255 / Math.max(1, h - 1));
        rgb[i + 2] = (byte) ((x + y) * 7);
      }
    }
    return rgb;
  }
}
