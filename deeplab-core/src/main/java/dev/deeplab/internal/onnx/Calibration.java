package dev.deeplab.internal.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.onnx.Int8Quantizer.Range;
import dev.deeplab.internal.onnx.Int8Quantizer.Statistics;
import dev.deeplab.internal.onnx.proto.Onnx.ModelProto;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Calibration for {@link Int8Quantizer}: activation ranges (min-max) and convolution inputs' channel
 * means: the fp32 model runs in ONNX Runtime
 * on each calibration image (uint8, any size: the model fits it to the crop as for inference),
 * with reductions as extra outputs ({@link Int8Quantizer#calibrationModel}), so
 * memory stays that of one inference whatever the number of activations.
 */
public final class Calibration {
  /** Where the calibration images come from, one at a time. */
  @FunctionalInterface
  public interface Images {
    /** Image {@code i} of {@code count}. */
    RgbImage get(int i) throws IOException;
  }

  private Calibration() {}

  /**
   * The range of each activation to quantise ({@link Int8Quantizer#activations}) and the
   * per-channel mean of each convolution input, over {@code count} images.
   *
   * @param step called after each image
   * @throws IOException if ONNX Runtime cannot load or run the model, or an image cannot be read
   */
  public static Statistics statistics(ModelProto model, Images images, int count,
      Runnable step) throws IOException {
    if (count < 1) {
      throw new IllegalArgumentException("calibration needs at least one image");
    }
    List<String> activations = Int8Quantizer.activations(model.getGraph());
    List<String> convInputs = Int8Quantizer.convolutionInputs(model.getGraph());
    ModelProto calibration = Int8Quantizer.calibrationModel(model, activations, convInputs);
    Set<String> wanted = new HashSet<>();
    for (String a : activations) {
      wanted.add(Int8Quantizer.minOutput(a));
      wanted.add(Int8Quantizer.maxOutput(a));
    }
    for (String c : convInputs) {
      wanted.add(Int8Quantizer.meanOutput(c));
    }
    Map<String, Range> ranges = new LinkedHashMap<>();
    Map<String, double[]> sums = new HashMap<>();
    OrtEnvironment env = OnnxRuntimeLibraries.environment();
    try (OrtSession.SessionOptions options = calibrationOptions();
        OrtSession session = env.createSession(calibration.toByteArray(), options)) {
      for (int i = 0; i < count; i++) {
        RgbImage image = images.get(i);
        ByteBuffer pixels = ByteBuffer.allocateDirect(image.rgb().length);
        pixels.put(image.rgb()).flip();
        try (OnnxTensor in = OnnxTensor.createTensor(env, pixels,
                new long[] {1, image.height(), image.width(), 3}, OnnxJavaType.UINT8);
            OrtSession.Result r = session.run(Map.of(OnnxModelWriter.IMAGES, in), wanted)) {
          for (String a : activations) {
            Range seen = new Range(scalar(r, Int8Quantizer.minOutput(a)),
                scalar(r, Int8Quantizer.maxOutput(a)));
            ranges.merge(a, seen, Range::union);
          }
          for (String c : convInputs) {
            FloatBuffer mean = ((OnnxTensor) r.get(Int8Quantizer.meanOutput(c)).orElseThrow())
                .getFloatBuffer();
            double[] sum = sums.computeIfAbsent(c, k -> new double[mean.remaining()]);
            for (int k = 0; k < sum.length; k++) {
              sum[k] += mean.get(k);
            }
          }
        }
        step.run();
      }
    } catch (OrtException e) {
      throw new IOException("ONNX Runtime failed to calibrate: " + e.getMessage(), e);
    }
    Map<String, float[]> means = new HashMap<>();
    sums.forEach((c, sum) -> {
      float[] m = new float[sum.length];
      for (int k = 0; k < m.length; k++) {
        m[k] = (float) (sum[k] / count);
      }
      means.put(c, m);
    });
    return new Statistics(ranges, means);
  }

  /** A session on every core ({@link CpuCores}), without memory patterns (images vary in size). */
  private static OrtSession.SessionOptions calibrationOptions() throws OrtException {
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    try {
      options.setIntraOpNumThreads(CpuCores.intraOpThreads(0));
      options.setMemoryPatternOptimization(false);
      return options;
    } catch (OrtException e) {
      options.close();
      throw e;
    }
  }

  private static float scalar(OrtSession.Result r, String name) throws OrtException {
    return ((OnnxTensor) r.get(name).orElseThrow()).getFloatBuffer().get(0);
  }
}
