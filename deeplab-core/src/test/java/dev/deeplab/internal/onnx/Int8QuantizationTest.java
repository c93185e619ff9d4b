package dev.deeplab.internal.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.deeplab.data.VocDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.eval.Evaluator;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.infer.Engine;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.onnx.Int8Quantizer.ActivationParams;
import dev.deeplab.internal.onnx.Int8Quantizer.ChannelWeights;
import dev.deeplab.internal.onnx.Int8Quantizer.Range;
import dev.deeplab.internal.onnx.proto.Onnx.ModelProto;
import dev.deeplab.internal.onnx.proto.Onnx.NodeProto;
import dev.deeplab.model.LabelSet;
import dev.deeplab.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * int8 quantisation: the parameters against hand-computed values, and the bundled model quantised
 * with the six bundled photos as calibration images: ONNX Runtime fuses its QDQ pairs into
 * integer kernels, and its voc-mini scores stay within 0.005 of the fp32 model's (issue 14).
 */
class Int8QuantizationTest {
  private static final Path PHOTOS = Path.of("..", "examples", "photos");
  @TempDir Path tmp;

  @Test
  void activationParametersFollowTheMinMaxRule() {
    // [-1, 3]: scale 4/255, zero point round(1 / (4/255)) = round(63.75) = 64
    ActivationParams p = ActivationParams.of(new Range(-1, 3));
    assertEquals(4f / 255f, p.scale(), 1e-9);
    assertEquals(64, p.zeroPoint());
    // a range without 0 is widened to hold it: [2, 6] -> [0, 6]
    ActivationParams relu6 = ActivationParams.of(new Range(2, 6));
    assertEquals(6f / 255f, relu6.scale(), 1e-9);
    assertEquals(0, relu6.zeroPoint());
    // all negative: [-5, -1] -> [-5, 0], zero point 255
    assertEquals(255, ActivationParams.of(new Range(-5, -1)).zeroPoint());
    // a constant zero tensor gets scale 1 rather than a division by zero
    assertEquals(1f, ActivationParams.of(new Range(0, 0)).scale());
  }

  @Test
  void weightsAreQuantisedPerOutputChannelSymmetrically() {
    // channel 0: max |w| = 1 -> scale 1/127; 0.5*127 = 63.5 -> 64, -1 -> -127, 0.25*127 = 31.75
    // -> 32; channel 1: max |w| = 2 -> scale 2/127; 2 -> 127, -0.1*63.5 = -6.35 -> -6, 0 -> 0
    ChannelWeights q = ChannelWeights.of(new float[] {0.5f, -1f, 0.25f, 2f, -0.1f, 0f}, 2);
    assertArrayEquals(new byte[] {64, -127, 32, 127, -6, 0}, q.values());
    assertArrayEquals(new float[] {1f / 127f, 2f / 127f}, q.scales(), 1e-9f);
    // an all-zero channel keeps scale 1
    assertArrayEquals(new float[] {1f}, ChannelWeights.of(new float[] {0, 0}, 1).scales());
  }

  @Test
  void biasCorrectionSubtractsTheMeanShiftOfRoundedWeights() {
    // dense 1x1, one output, two inputs with means 2 and 10: w = (0.5, 0.3), scale 0.5/127;
    // 0.3 rounds to 76 * 0.5/127 = 0.2992126, so the output shifts by -0.0007874 * 10
    float[] dense = {0.5f, 0.3f};
    float[] corrected = Int8Quantizer.correctedBias(new float[] {1f}, dense,
        new long[] {1, 2, 1, 1}, ChannelWeights.of(dense, 1), new float[] {2f, 10f});
    assertEquals(1f + 0.007874f, corrected[0], 2e-7f);
    // depthwise (2 groups, 1 input each, 1x2 taps), input means 1 and 3: channel 0 (1, 0.3)
    // rounds 0.3 to 38/127, channel 1 (2, 0.7) rounds 0.7 to 44 * 2/127 = 0.6929134
    float[] depthwise = {1f, 0.3f, 2f, 0.7f};
    float[] dw = Int8Quantizer.correctedBias(new float[] {0f, -1f}, depthwise,
        new long[] {2, 1, 1, 2}, ChannelWeights.of(depthwise, 2), new float[] {1f, 3f});
    assertArrayEquals(new float[] {0.0007874f, -1f + 0.0212598f}, dw, 2e-7f);
  }

  @Test
  void bundledModelInInt8KeepsItsAccuracyAndRunsOnIntegerKernels() throws Exception {
    Path fp32 = tmp.resolve("fp32.onnx");
    Path int8 = tmp.resolve("int8.onnx");
    OnnxFiles.write(TestModels.BUNDLED, fp32, OnnxModelWriter.Outputs.CLASS_IDS);
    int[] steps = {0};
    OnnxFiles.Int8Written w = OnnxFiles.writeInt8(TestModels.BUNDLED, int8, List.of(PHOTOS),
        OnnxModelWriter.Outputs.CLASS_IDS, (done, total) -> steps[0] = done * 10 + total);
    assertEquals(6, w.images());
    assertEquals(66, steps[0], "told 6 of 6 images last");
    // every convolution of MobileNetV2 DeepLabv3 but the stem over the RGB image (3 input
    // channels): 51 more in the backbone, image pooling, aspp0, the projection and the logits
    assertEquals(54, w.convolutions());
    NodeProto stem = ModelProto.parseFrom(Files.readAllBytes(int8)).getGraph().getNodeList()
        .stream().filter(n -> n.getOpType().equals("Conv")).findFirst().orElseThrow();
    assertEquals("MobilenetV2/Conv/BatchNorm/FusedBatchNorm/weights", stem.getInput(1), "the stem reads float weights");

    Map<String, Integer> ops = optimisedOps(int8);
    System.out.println("int8 model after ONNX Runtime's optimisations: " + ops);
    // all but the stem, the last convolution (whose float logits have no quantised consumer) and
    // the image-pooling one (a 1x1 map followed by a float broadcast) run as integer convolutions
    assertEquals(52, ops.getOrDefault("QLinearConv", 0));

    VocDataset voc = new VocDataset(TestData.vocMini(), "val");
    ConfusionMatrix a = evaluate(fp32, voc);
    ConfusionMatrix b = evaluate(int8, voc);
    System.out.printf("voc-mini: fp32 mIoU %.4f pixel accuracy %.4f; int8 mIoU %.4f pixel "
        + "accuracy %.4f%n", a.meanIou(), a.pixelAccuracy(), b.meanIou(), b.pixelAccuracy());
    assertTrue(Math.abs(a.meanIou() - b.meanIou()) <= 0.005,
        "int8 mIoU " + b.meanIou() + " vs fp32 " + a.meanIou());
  }

  private static ConfusionMatrix evaluate(Path model, VocDataset voc) throws Exception {
    try (Evaluator e = Evaluator.open(Segmenter.builder().model(model)
        .engine(Engine.ONNX_RUNTIME).build())) {
      return e.evaluate(voc, LabelSet.PASCAL_VOC, ResizeToRange.none(), () -> { });
    }
  }

  /** The operator counts of the graph ONNX Runtime runs after its optimisations. */
  private Map<String, Integer> optimisedOps(Path model) throws Exception {
    Path optimised = tmp.resolve("optimised.onnx");
    try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
      o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      o.setOptimizedModelFilePath(optimised.toString());
      OrtEnvironment.getEnvironment().createSession(model.toString(), o).close();
    }
    Map<String, Integer> ops = new TreeMap<>();
    for (NodeProto n : ModelProto.parseFrom(Files.readAllBytes(optimised)).getGraph()
        .getNodeList()) {
      ops.merge(n.getOpType(), 1, Integer::sum);
    }
    return ops;
  }
}
