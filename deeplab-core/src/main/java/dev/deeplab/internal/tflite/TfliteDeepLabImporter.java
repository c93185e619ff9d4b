package dev.deeplab.internal.tflite;

import dev.deeplab.internal.tflite.DeepLabGraphMatcher.ConvOp;
import dev.deeplab.internal.tflite.DeepLabGraphMatcher.Match;
import dev.deeplab.internal.weights.FloatTensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the official quantised DeepLabv3 + MobileNetV2 PASCAL VOC TFLite files (depth multiplier
 * 1.0 and 0.5, from the TensorFlow DeepLab model zoo via google-coral/test_data) into float weights
 * under the official TensorFlow DeepLab variable names and TF layouts.
 *
 * <p><b>Names.</b> Backbone variables follow TF-slim MobileNetV2 ({@code
 * research/slim/nets/mobilenet/mobilenet_v2.py}, {@code conv_blocks.py}): {@code
 * MobilenetV2/Conv/weights}, {@code MobilenetV2/expanded_conv_N/{expand,depthwise,project}/...},
 * {@code .../depthwise/depthwise_weights}. Head variables follow {@code research/deeplab/model.py}:
 * {@code image_pooling}, {@code aspp0}, {@code concat_projection} (each {@code weights} + {@code
 * BatchNorm/*}) and {@code logits/semantic/{weights,biases}}. Layers are found by the TF-slim
 * scopes kept in the tensor names and by op order, and their wiring is checked; tensor indices are
 * never hard-coded.
 *
 * <p><b>Layouts.</b> CONV_2D filters {@code [out,kh,kw,in]} become {@code [kh,kw,in,out]};
 * DEPTHWISE_CONV_2D filters {@code [1,kh,kw,c]} become {@code [kh,kw,c,1]}. If the TFLite concat
 * stacks the head branches in another order than the official {@code [image_pooling, aspp0]}, the
 * input channels of {@code concat_projection/weights} are reordered to the official order.
 *
 * <p><b>Values.</b> uint8 filters and int32 biases are dequantised with {@code scale*(q -
 * zero_point)} ({@link TfliteDequantizer}). The files were trained with quantisation-aware
 * training, so batch norm is already folded into the filters and a bias. Each BatchNorm is
 * therefore emitted as {@code gamma = 1}, {@code beta = folded bias}, {@code moving_mean = 0} and
 * {@code moving_variance = 1 − eps}, where eps is the epsilon that layer's batch norm has in the
 * official graph: {@value #BACKBONE_BATCH_NORM_EPSILON} (TF-slim's {@code batch_norm} default) for
 * the MobileNetV2 backbone, and {@value #HEAD_BATCH_NORM_EPSILON} for the DeepLab head layers
 * {@code image_pooling}, {@code aspp0} and {@code concat_projection} ({@code batch_norm_epsilon} in
 * {@code model.py}). {@link #foldedMovingVariance(float)} adjusts the variance so that {@code gamma
 * / sqrt(moving_variance + eps)} is exactly {@code 1.0f} in float32; inference-mode batch norm then
 * reduces to {@code conv + beta}, the TFLite computation.
 */
public final class TfliteDeepLabImporter {

  /** BN epsilon of the MobileNetV2 backbone layers (TF-slim {@code batch_norm} default). */
  public static final float BACKBONE_BATCH_NORM_EPSILON = 1e-3f;

  /** BN epsilon of the DeepLab head layers ({@code model.py} {@code batch_norm_epsilon}). */
  public static final float HEAD_BATCH_NORM_EPSILON = 1e-5f;

  private TfliteDeepLabImporter() {}

  /**
   * Imports a {@code .tflite} file.
   *
   * @throws IOException if the file cannot be read
   * @throws TfliteFormatException if it is not a TFLite file or not this DeepLab graph
   */
  public static TfliteDeepLabWeights importFile(Path file)
      throws IOException, TfliteFormatException {
    return importModel(TfliteModel.read(file));
  }

  /**
   * Imports the bytes of a {@code .tflite} file.
   *
   * @throws TfliteFormatException if they are not a TFLite file or not this DeepLab graph
   */
  public static TfliteDeepLabWeights importBytes(byte[] bytes) throws TfliteFormatException {
    return importModel(TfliteModel.parse(bytes));
  }

  /**
   * Imports a parsed model.
   *
   * @throws TfliteFormatException if it is not this DeepLab graph, or its constants do not fit
   *     their shapes and quantisation
   */
  public static TfliteDeepLabWeights importModel(TfliteModel model) throws TfliteFormatException {
    try {
      return convert(model, DeepLabGraphMatcher.match(model));
    } catch (RuntimeException e) {
      // All indices are validated first, so this would be a bug; report it as a format problem
      // rather than let it escape. The cause marks it as unexpected.
      throw new TfliteFormatException("malformed DeepLab TFLite model (unexpected " + e + ")", e);
    }
  }

  /**
   * The moving variance to pair with {@code gamma = 1}, {@code moving_mean = 0} for a batch norm
   * with epsilon {@code eps} that must be the identity: {@code 1 − eps}, nudged by float32 ulps
   * until {@code moving_variance + eps == 1.0f}, so that {@code gamma / sqrt(var + eps)} is exactly
   * {@code 1.0f} in float32.
   */
  public static float foldedMovingVariance(float eps) {
    float var = 1f - eps;
    for (int i = 0; i < 64 && var + eps != 1f; i++) {
      var = var + eps > 1f ? Math.nextDown(var) : Math.nextUp(var);
    }
    if (var + eps != 1f || 1f / (float) Math.sqrt(var + eps) != 1f) {
      throw new IllegalArgumentException("no float32 variance makes var + " + eps + " == 1");
    }
    return var;
  }

  private static TfliteDeepLabWeights convert(TfliteModel model, Match m)
      throws TfliteFormatException {
    Map<String, FloatTensor> vars = new LinkedHashMap<>();
    List<TfliteDeepLabWeights.ConvLayer> layers = new ArrayList<>();
    int outputStride = 1;
    for (ConvOp conv : m.backbone()) {
      addConv(model, conv, BACKBONE_BATCH_NORM_EPSILON, null, vars, layers);
      outputStride *= layers.get(layers.size() - 1).stride();
    }
    Map<String, ConvOp> head = m.head();
    addConv(
        model,
        head.get(DeepLabGraphMatcher.IMAGE_POOLING),
        HEAD_BATCH_NORM_EPSILON,
        null,
        vars,
        layers);
    addConv(
        model, head.get(DeepLabGraphMatcher.ASPP0), HEAD_BATCH_NORM_EPSILON, null, vars, layers);
    int depth = head.get(DeepLabGraphMatcher.ASPP0).outChannels();
    addConv(
        model,
        head.get(DeepLabGraphMatcher.CONCAT_PROJECTION),
        HEAD_BATCH_NORM_EPSILON,
        concatPermutation(m.concatOrder(), depth),
        vars,
        layers);
    addConv(model, head.get(DeepLabGraphMatcher.LOGITS), 0f, null, vars, layers);

    if (!(m.imagePool().options() instanceof TfliteOptions.Pool2D pool)) {
      throw new TfliteFormatException(
          "not the DeepLabv3 MobileNetV2 TFLite graph: "
              + "the AVERAGE_POOL_2D has no Pool2DOptions");
    }
    TfliteTensor in = m.input();
    TfliteQuantization q = in.quantization();
    boolean quantized = q.isQuantized() && !q.isPerAxis();
    return new TfliteDeepLabWeights(
        vars,
        (float) m.depthMultiplier(),
        head.get(DeepLabGraphMatcher.LOGITS).outChannels(),
        in.shape()[1],
        in.shape()[2],
        quantized ? q.scaleAt(0) : 1f,
        quantized ? q.zeroPointAt(0) : 0,
        outputStride,
        new int[] {pool.filterH(), pool.filterW()},
        depth,
        layers);
  }

  /**
   * For each official concat_projection input channel, the TFLite input channel holding it
   * (identity when the TFLite concat already uses the official order).
   */
  private static int[] concatPermutation(List<String> tfliteOrder, int depth) {
    if (tfliteOrder.equals(DeepLabGraphMatcher.OFFICIAL_CONCAT_ORDER)) {
      return null;
    }
    int[] from = new int[2 * depth];
    for (int b = 0; b < 2; b++) {
      int src = tfliteOrder.indexOf(DeepLabGraphMatcher.OFFICIAL_CONCAT_ORDER.get(b));
      for (int c = 0; c < depth; c++) {
        from[b * depth + c] = src * depth + c;
      }
    }
    return from;
  }

  /**
   * Emits the variables of one conv: filter, then either BatchNorm (eps > 0) or biases (eps = 0).
   */
  private static void addConv(
      TfliteModel model,
      ConvOp conv,
      float eps,
      int[] permuteInputs,
      Map<String, FloatTensor> vars,
      List<TfliteDeepLabWeights.ConvLayer> layers)
      throws TfliteFormatException {
    checkTypes(conv);
    boolean depthwise = conv.op().name().equals("DEPTHWISE_CONV_2D");
    FloatTensor raw = model.dequantize(conv.weights());
    FloatTensor filter = depthwise ? WeightLayouts.depthwiseToTf(raw) : WeightLayouts.convToTf(raw);
    if (permuteInputs != null) {
      filter = WeightLayouts.permuteInputs(filter, permuteInputs);
    }
    float[] bias = model.dequantize(conv.bias()).data();
    String scope = conv.scope();
    vars.put(scope + (depthwise ? "/depthwise_weights" : "/weights"), filter);
    if (eps == 0f) {
      vars.put(scope + "/biases", vector(bias));
    } else {
      float[] ones = new float[bias.length];
      Arrays.fill(ones, 1f);
      float[] variance = new float[bias.length];
      Arrays.fill(variance, foldedMovingVariance(eps));
      vars.put(scope + "/BatchNorm/gamma", vector(ones));
      vars.put(scope + "/BatchNorm/beta", vector(bias));
      vars.put(scope + "/BatchNorm/moving_mean", vector(new float[bias.length]));
      vars.put(scope + "/BatchNorm/moving_variance", vector(variance));
    }
    layers.add(layerInfo(conv, depthwise, eps));
  }

  private static void checkTypes(ConvOp conv) throws TfliteFormatException {
    TensorType w = conv.weights().type();
    TensorType b = conv.bias().type();
    if ((w != TensorType.UINT8 && w != TensorType.INT8 && w != TensorType.FLOAT32)
        || (b != TensorType.INT32 && b != TensorType.FLOAT32)) {
      throw new TfliteFormatException(
          "unsupported TFLite model: layer '"
              + conv.scope()
              + "' has "
              + w
              + " filter and "
              + b
              + " bias");
    }
  }

  private static TfliteDeepLabWeights.ConvLayer layerInfo(ConvOp conv, boolean depthwise, float eps)
      throws TfliteFormatException {
    TfliteOptions o = conv.op().options();
    int strideH;
    int strideW;
    int dilationH;
    int dilationW;
    TfliteOptions.Padding padding;
    TfliteOptions.Activation activation;
    if (o instanceof TfliteOptions.Conv2D c) {
      strideH = c.strideH();
      strideW = c.strideW();
      dilationH = c.dilationH();
      dilationW = c.dilationW();
      padding = c.padding();
      activation = c.activation();
    } else if (o instanceof TfliteOptions.DepthwiseConv2D d && d.depthMultiplier() <= 1) {
      strideH = d.strideH();
      strideW = d.strideW();
      dilationH = d.dilationH();
      dilationW = d.dilationW();
      padding = d.padding();
      activation = d.activation();
    } else {
      throw new TfliteFormatException(
          "not the DeepLabv3 MobileNetV2 TFLite graph: layer '"
              + conv.scope()
              + "' has unexpected options "
              + o);
    }
    if (strideH != strideW || dilationH != dilationW || strideH < 1 || dilationH < 1) {
      throw new TfliteFormatException(
          "not the DeepLabv3 MobileNetV2 TFLite graph: layer '"
              + conv.scope()
              + "' has stride "
              + strideH
              + "x"
              + strideW
              + " and dilation "
              + dilationH
              + "x"
              + dilationW);
    }
    return new TfliteDeepLabWeights.ConvLayer(
        conv.scope(), depthwise, strideH, dilationH, padding, activation, eps);
  }

  private static FloatTensor vector(float[] v) {
    return new FloatTensor(new long[] {v.length}, v);
  }
}
