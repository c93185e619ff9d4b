package dev.deeplab.internal.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.export.OnnxExporter;
import dev.deeplab.infer.Engine;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.infer.Network;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.io.AtomicFiles;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.model.DeepLab;
import dev.deeplab.internal.nn.GraphOps;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.DenseCellBranch;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.testing.ReferenceWeights;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our ONNX models run by ONNX Runtime against the same models run by TensorFlow (our SavedModel
 * through {@link Segmenter}): probabilities within 1e-4, class ids identical outside near-ties.
 */
class OnnxParityTest {
  @TempDir Path tmp;

  /**
   * The bundled model through {@link Segmenter} on both engines (ONNX Runtime on the file written
   * into the cache on first use), and the same file exported and loaded as an {@code .onnx} file.
   */
  @Test
  void bundledModelMatchesTensorFlowOnPhotosOfSeveralSizes() throws Exception {
    RgbImage pets = TestModels.photo("pets.jpg");
    // as it is, an odd-sized crop, and larger than the 513 crop (scaled down to fit it first)
    List<RgbImage> images = List.of(pets, TestModels.crop(pets, 31, 17, 201, 157),
        TestModels.upscale(pets, 700, 561));
    Path file = tmp.resolve("bundled.onnx");
    // the graph has 37 FusedBatchNormV3 (the dense convs; depthwise ones are folded in TF already)
    assertEquals(37, OnnxExporter.export(TestModels.BUNDLED, file, true));
    try (Segmenter tf = Segmenter.load(TestModels.BUNDLED);
        Segmenter ort = Segmenter.builder().model(TestModels.BUNDLED)
            .engine(Engine.ONNX_RUNTIME).build();
        Segmenter fromFile = Segmenter.load(file)) {
      assertEquals(Engine.ONNX_RUNTIME, ort.engine());
      assertEquals(Engine.ONNX_RUNTIME, fromFile.engine());
      assertEquals(tf.info(), fromFile.info(), "model info from the ONNX file's metadata");
      for (RgbImage image : images) {
        Segmentation expected = tf.segmentWithProbabilities(image);
        String size = image.width() + "x" + image.height();
        compare(expected, ort.segmentWithProbabilities(image), "cached " + size);
        compare(expected, fromFile.segmentWithProbabilities(image), "file " + size);
        // class ids alone: the cache's logits-only model finished in Java (UpsampledArgmax),
        // the file's own class ids
        compareIds(expected, ort.segment(image), "cached " + size + ", ids from the logits");
        compareIds(expected, fromFile.segment(image), "file " + size + ", class ids only");
      }
      List<RgbImage> batch = List.of(images.get(1), TestModels.crop(pets, 0, 0, 201, 157),
          images.get(1));
      List<Segmentation> a = tf.segmentAll(batch);
      List<Segmentation> b = ort.segmentAll(batch);
      for (int i = 0; i < batch.size(); i++) {
        assertEquals(a.get(i), b.get(i), "batch of 3, image " + i);
      }
    }
  }

  /**
   * The other backbone families with deterministic pseudo-random weights (non-trivial batch-norm
   * statistics) at a 97×97 crop, on a crop-sized photo: Xception-65 DeepLabv3+ (separable ASPP,
   * decoder) and ResNet-v1-101 DeepLabv3+ (with the 1×1 convs TF builds as matrix products),
   * against TensorFlow's inference graph of the same weights (space-to-batch atrous convs, batch
   * norm unfolded), logits upsampled and softmaxed as the serving graph does; and DeepLabv2's
   * four summed 3×3 logits branches (ONNX {@code Sum}) on ResNet-v1-101 at output stride 8; and
   * DeepLab-LargeFOV (VGG-16's max pools, pool5a as {@code Pad} and a VALID {@code
   * AveragePool}, fc6 at rate 12, no batch norm).
   * (The pre- and post-processing around the network are the bundled model's test.) The logits
   * are upsampled by matrix products (DeepLabv2), or, as for logits larger than {@link
   * OnnxModelWriter#MAX_MATMUL_LOGITS}, by {@code Resize}: the 97 crop is an integer multiple of
   * the logits less one (16 times 7x7), so they are upsampled by an integer factor; the 100 crop
   * is not, so they take the general crop-and-resize path.
   */
  @ParameterizedTest
  @CsvSource({"xception65_coco_voc, 97, 0", "resnet_v1_101_voc, 100, 0",
      "deeplabv2_resnet101, 97, " + OnnxModelWriter.MAX_MATMUL_LOGITS,
      "deeplabv1_largefov_vgg16, 97, " + OnnxModelWriter.MAX_MATMUL_LOGITS})
  void otherBackbonesMatchTensorFlow(String preset, int crop, long maxMatMulLogits)
      throws Exception {
    matchesTensorFlow(ModelConfig.preset(preset), preset, crop, 1e-4, maxMatMulLogits);
  }

  /** A two-stage decoder (decoder_output_stride=8,4) on Xception-41 (measured 3.4e-6). */
  @Test
  void twoStageDecoderMatchesTensorFlow() throws Exception {
    matchesTensorFlow(ModelConfig.preset("xception41_voc").withDecoderOutputStrides(List.of(8, 4)),
        "xception_41, decoder 8,4", 97, 1e-4, OnnxModelWriter.MAX_MATMUL_LOGITS);
  }

  /**
   * Bounded activations (ReLU6 as Clip, Xception's [-6, 6] clips as Max and Min) on the same
   * network. Measured 1.1e-4 here against 3.4e-6 without them, class ids equal but for a near-tie,
   * hence the bound of 2e-4. The difference is float32 rounding, not the conversion: against the
   * float64 reference ({@code tools/reference}, same weights, the formula image at 97, logits
   * scaled as here) TensorFlow in float32 is off by 1.3e-4 (Python TF float32: 1.2e-4), ONNX
   * Runtime by 1.0e-4, and the two engines from each other by 1.4e-4; without the bounded
   * activations all three are 1.8e-6 to 2.9e-6. The float32 logits' relative error is 6e-5 with
   * the clips against 2.6e-6 without: the clips keep the values within [-6, 6] (logits up to 4.9,
   * against 8.9e5 unbounded) while the rounding errors of the unclipped units still grow with the
   * random layers' gain, so they grow relative to the values.
   */
  @Test
  void boundedXceptionMatchesTensorFlow() throws Exception {
    matchesTensorFlow(ModelConfig.preset("xception41_voc").withBoundedActivation(true)
        .withDecoderOutputStrides(List.of(8, 4)), "xception_41 bounded, decoder 8,4", 97, 2e-4,
        OnnxModelWriter.MAX_MATMUL_LOGITS);
  }

  /**
   * A dense prediction cell with non-square kernels (JSON {@code [1, 3]} and {@code [3, 1]}:
   * depthwise convs at unequal rates, whose SAME pads differ per axis) on MobileNetV2 0.5.
   */
  @Test
  void nonSquareDenseCellKernelsMatchTensorFlow() throws Exception {
    List<DenseCellBranch> cell = List.of(
        new DenseCellBranch("conv", List.of(1, 3), List.of(1, 2), -1, List.of()),
        new DenseCellBranch("conv", List.of(3, 1), List.of(3, 1), 0, List.of()),
        DenseCellBranch.conv(1, 1, 1, -1));
    matchesTensorFlow(ModelConfig.defaults(ModelVariant.MOBILENET_V2, 16).withDepthMultiplier(0.5)
        .withDensePredictionCell(cell), "mobilenet_v2 0.5, cell [1,3] [3,1]", 65, 1e-4,
        OnnxModelWriter.MAX_MATMUL_LOGITS);
  }

  /**
   * The NAS backbones (8 stem filters): PNASNet at output stride 16 with its strided separable
   * convs, SAME max-pools and the decoder on the stem; hnasnet at 8 with the resizes of its
   * level path and of its atrous reduction ops (align-corners bilinear inside the network).
   */
  @ParameterizedTest
  @CsvSource({"nas_pnasnet, 16", "nas_hnasnet, 8"})
  void nasBackbonesMatchTensorFlow(String variant, int outputStride) throws Exception {
    matchesTensorFlow(ModelConfig.defaults(ModelVariant.fromName(variant), outputStride)
        .withNasOptions(8, false, false), variant, 65, 1e-4, OnnxModelWriter.MAX_MATMUL_LOGITS);
  }

  private void matchesTensorFlow(ModelConfig preset, String what, int crop, double tolerance,
      long maxMatMulLogits) throws Exception {
    ModelConfig config = preset.withCropSize(crop, crop);
    RgbImage image = TestModels.upscale(TestModels.photo("pets.jpg"), crop, crop);
    float[] logits;
    Map<String, FloatTensor> weights;
    try (ModelGraph g = ModelGraph.build(config); Session s = new Session(g.graph())) {
      weights = ReferenceWeights.forVariables(g.variables().values());
      Checkpoints.restore(s, weights);
      Ops tf = GraphOps.create(g.graph());
      Operand<TFloat32> upsampled = DeepLab.upsample(tf, g.logits(), crop, crop);
      float[] pixels = new float[crop * crop * 3];
      for (int i = 0; i < pixels.length; i++) {
        pixels[i] = image.rgb()[i] & 0xff;
      }
      try (TFloat32 in = TFloat32.tensorOf(Shape.of(1, crop, crop, 3), DataBuffers.of(pixels));
          Result r = s.runner().feed(g.pixels(), in).fetch(upsampled).run()) {
        logits = FloatTensor.copyOf((TFloat32) r.get(0)).data();
      }
    }
    // Random deep networks give huge logits; the logits layer is scaled (weights and biases by
    // f, so the logits by f; every branch of a sum) to a standard deviation of 3, so the softmax
    // is not saturated.
    double f = 3 / standardDeviation(logits);
    for (String name : weights.keySet().stream().filter(n -> n.startsWith("logits/")).toList()) {
      FloatTensor t = weights.get(name);
      float[] scaled = t.data().clone();
      for (int i = 0; i < scaled.length; i++) {
        scaled[i] *= (float) f;
      }
      weights.put(name, new FloatTensor(t.shape(), scaled));
    }
    int classes = config.numClasses();
    float[] expected = new float[logits.length];
    int[] ids = new int[crop * crop];
    for (int i = 0; i < ids.length; i++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        max = Math.max(max, f * logits[i * classes + c]);
        if (logits[i * classes + c] > logits[i * classes + ids[i]]) {
          ids[i] = c;
        }
      }
      double sum = 0;
      for (int c = 0; c < classes; c++) {
        sum += Math.exp(f * logits[i * classes + c] - max);
      }
      for (int c = 0; c < classes; c++) {
        expected[i * classes + c] = (float) (Math.exp(f * logits[i * classes + c] - max) / sum);
      }
    }
    OnnxModelWriter.Written w = OnnxModelWriter.build(
        new ModelInfo(config, LabelSet.PASCAL_VOC, "test"), weights,
        OnnxModelWriter.Outputs.PROBABILITIES, "test",
        maxMatMulLogits);
    Path file = tmp.resolve("m.onnx");
    AtomicFiles.write(file, out -> w.model().writeTo(out));
    try (OnnxRuntimeNetwork ort = new OnnxRuntimeNetwork(file, 2)) {
      Network.Output got = ort.run(image.rgb(), 1, crop, crop, true);
      compare(expected, ids, classes, got, what, tolerance);
    }
  }

  private static double standardDeviation(float[] v) {
    double mean = 0;
    for (float x : v) {
      mean += x / (double) v.length;
    }
    double var = 0;
    for (float x : v) {
      var += (x - mean) * (x - mean) / v.length;
    }
    return Math.sqrt(var);
  }

  static void compare(Segmentation expected, Segmentation got, String what) {
    compare(expected.probabilities(), expected.classIds(), expected.numClasses(),
        new Network.Output(got.classIds(), got.probabilities()), what, 1e-4);
  }

  /** Class ids of {@code got} against {@code expected}'s, allowing near-ties only. */
  static void compareIds(Segmentation expected, Segmentation got, String what) {
    int[] ids = expected.classIds();
    assertEquals(ids.length, got.classIds().length, what + ": pixel count");
    int[] counts = differingIds(expected.probabilities(), ids, expected.numClasses(),
        got.classIds());
    System.out.printf("%s: class ids differing %d (near-ties %d) of %d%n", what, counts[0],
        counts[1], ids.length);
    assertEquals(counts[1], counts[0], what + ": class ids differ outside near-ties");
  }

  static void compare(float[] p, int[] ids, int c, Network.Output got, String what,
      double tolerance) {
    float[] q = got.probabilities();
    assertEquals(p.length, q.length, what + ": probability count");
    double worst = 0;
    for (int i = 0; i < p.length; i++) {
      worst = Math.max(worst, Math.abs(p[i] - q[i]));
    }
    int[] counts = differingIds(p, ids, c, got.classIds());
    System.out.printf("%s: max |dp| %.2e, class ids differing %d (near-ties %d) of %d%n",
        what, worst, counts[0], counts[1], ids.length);
    assertTrue(worst <= tolerance, what + ": probabilities differ by " + worst);
    assertEquals(counts[1], counts[0], what + ": class ids differ outside near-ties");
  }

  /**
   * {@code {differing, near-ties}}: pixels where {@code got} differs from {@code ids}, and those
   * of them whose two classes' probabilities {@code p} are within 1e-3.
   */
  private static int[] differingIds(float[] p, int[] ids, int c, int[] got) {
    int differ = 0;
    int nearTies = 0;
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] != got[i]) {
        differ++;
        float a = p[i * c + ids[i]];
        float b = p[i * c + got[i]];
        if (Math.abs(a - b) < 1e-3) {
          nearTies++;
        }
      }
    }
    return new int[] {differ, nearTies};
  }
}
