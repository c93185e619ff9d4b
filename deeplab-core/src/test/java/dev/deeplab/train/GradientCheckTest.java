package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.nn.Conv;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.train.GraphMerger;
import dev.deeplab.internal.train.Replica;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TUint8;

/**
 * The gradients the trainer applies are the derivatives of the loss it reports: analytic
 * gradients (TF's C++ gradients through the whole network, the upsampling, the dense softmax
 * cross-entropy and the ignore-label mask) against central finite differences, in float32.
 */
class GradientCheckTest {

  /** A replica graph of a tiny network, imported as the trainer imports it (stateless dropout). */
  private static final class Harness implements AutoCloseable {
    final Graph graph = new Graph();
    final Session session;
    final Replica replica;
    final GraphMerger.Merged merged;
    final Ops tf;

    Harness(TrainConfig config) {
      replica = Replica.training(config, 0);
      merged = GraphMerger.merge(List.of(new GraphMerger.Fragment(replica.graphDef(), "r", "", true,
          replica.roots(), replica.dropoutSeed())), "");
      graph.importGraphDef(merged.graphDef());
      tf = Ops.create(graph).withSubScope("test");
      session = new Session(graph);
      session.initialize();
      // a non-zero step, so that the dropout seed is not trivial
      try (TInt64 step = TInt64.scalarOf(7)) {
        Placeholder<TInt64> p = tf.placeholder(TInt64.class);
        Op set = tf.assign(output("global_step"), p);
        session.runner().feed(p, step).addTarget(set).run().close();
      }
    }

    @SuppressWarnings("unchecked")
    <T extends org.tensorflow.types.family.TType> Output<T> output(String name) {
      return (Output<T>) graph.outputOrThrow(name);
    }

    @Override
    public void close() {
      session.close();
      graph.close();
    }
  }

  /** Real photos and labels (with VOC's 255 boundaries): voc-mini downscaled to the crop. */
  private static Batch realBatch(TrainConfig config) {
    int n = config.batchSize();
    int s = config.model().cropHeight();
    float[] px = new float[n * s * s * 3];
    byte[] lb = new byte[n * s * s];
    try {
      VocDataset ds = new VocDataset(VocMini.root(), "train");
      List<VocDataset.Sample> samples = ds.samples();
      for (int i = 0; i < n; i++) {
        VocDataset.LoadedSample l = ds.load(samples.get(i % samples.size()), 21);
        byte[] rgb = VocMini.resize(l.image(), s).rgb();
        for (int j = 0; j < rgb.length; j++) {
          px[i * s * s * 3 + j] = rgb[j] & 0xFF;
        }
        System.arraycopy(VocMini.resizeNearest(l.label(), s).ids(), 0, lb, i * s * s, s * s);
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return new Batch(0, n, s, s, px, lb, java.util.Collections.nCopies(n, "x"));
  }

  /** The tiny official network of the checks: MobileNetV2 x0.25, one ASPP rate, 33x33. */
  private static final ModelConfig MOBILENET = ModelConfig.defaults(ModelVariant.MOBILENET_V2, 16)
      .withDepthMultiplier(0.25).withAtrousRates(List.of(2)).withCropSize(33, 33)
      .withNumClasses(21);

  @Test
  void fullLossGradientMatchesFiniteDifferences() {
    check(MOBILENET, LossConfig.defaults(), 3e-4, ALL, "logits/");
  }

  /**
   * The PyTorch networks' layers in training mode: batch norm on batch statistics ({@code
   * BatchNorm2d.train()}), dilated 3×3 and depthwise convs through SpaceToBatchND, PyTorch's
   * explicit padding, half-pixel resizes of the ASPP pooling branch, decoder and loss (VainF's
   * DeepLabV3+ MobileNetV2, dilated from block 15 at output stride 16, ASPP rates 6, 12, 18).
   */
  @Test
  void vainfMobileNetGradientsMatchFiniteDifferences() {
    check(dev.deeplab.internal.torch.TorchNetworks.config(
        ModelVariant.VAINF_DEEPLABV3PLUS_MOBILENET, 21, 33).withCropSize(33, 33),
        LossConfig.defaults(), 3e-4, new String[] {"backbone.low_level_features.0.0.weight",
            "backbone.high_level_features.15.conv.1.0.weight",
            "backbone.high_level_features.16.conv.1.1.weight",
            "classifier.aspp.convs.1.0.weight", "classifier.aspp.convs.4.2.bias",
            "classifier.project.0.weight", "classifier.classifier.0.weight",
            "classifier.classifier.3.weight", "classifier.classifier.3.bias"},
        "classifier.classifier.3.");
  }

  /**
   * torchvision's MobileNetV3-Large DeepLabV3 in training mode: Hardswish, squeeze-and-excitation
   * with Hardsigmoid, batch norm with eps 1e-3, dilated depthwise 5×5 convs (blocks 13-15).
   */
  @Test
  void torchvisionMobileNetV3GradientsMatchFiniteDifferences() {
    check(dev.deeplab.internal.torch.TorchNetworks.config(
        ModelVariant.TORCHVISION_DEEPLABV3_MOBILENET_V3_LARGE, 21, 33).withCropSize(33, 33),
        LossConfig.defaults(), 3e-4, new String[] {"backbone.0.0.weight",
            "backbone.4.block.2.fc1.weight", "backbone.4.block.2.fc2.bias",
            "backbone.14.block.1.0.weight", "backbone.14.block.1.1.bias",
            "classifier.0.convs.2.0.weight", "classifier.1.weight", "classifier.4.weight",
            "classifier.4.bias"}, "classifier.4.");
  }

  /**
   * DeepLabv2's head ({@code deeplabv2_resnet101}'s: no batch-normed ASPP, a 3×3 logits conv
   * with biases per atrous rate, summed) on the tiny backbone, rates 1 to 4 on its 3×3 features.
   * The head's variables only: the backbone's are checked above (deeper, float32 differences
   * cross ReLU6 kinks; with this head a layer-5 gamma measured 0.38 off, beyond their bound).
   */
  @Test
  void deepLabV2HeadGradientMatchesFiniteDifferences() {
    check(MOBILENET.withAtrousRates(List.of(1, 2, 3, 4)).withLogitsBranches(false, 3),
        LossConfig.defaults(), 3e-4, new String[] {"logits/semantic/weights",
            "logits/semantic/biases", "logits/semantic_1/weights",
            "logits/semantic_3/weights", "logits/semantic_3/biases"}, "logits/");
  }

  /**
   * DeepLab-LargeFOV ({@code deeplabv1_largefov_vgg16}) at 17×17 (3×3 features) in training
   * mode, dropout on fc6 and fc7 (one fixed mask): convs with biases and no batch norm, 3×3 max
   * pools at strides 2 and 1, pool5a's padded average pool, conv5 at rate 2 and fc6 at rate 12
   * through SpaceToBatchND, fc8 as {@code logits/semantic}. Four variables: each network run
   * costs fc6 on its 144 rate-12 phases whatever the crop (about 25 s under a load of 12).
   */
  @Test
  void largeFovGradientMatchesFiniteDifferences() {
    check(ModelConfig.preset("deeplabv1_largefov_vgg16").withCropSize(17, 17),
        LossConfig.defaults(), 3e-4, new String[] {"vgg_16/conv1/conv1_1/weights",
            "vgg_16/conv5/conv5_3/weights", "vgg_16/fc6/weights", "logits/semantic/weights"},
        "logits/");
  }

  @Test
  void weightedHardPixelLossGradientMatchesFiniteDifferences() {
    List<Double> weights = new java.util.ArrayList<>();
    for (int c = 0; c < 21; c++) {
      weights.add(0.5 + (c % 4) * 0.5);
    }
    // Top-k selection is discontinuous where a pixel loss crosses the threshold, which perturbing
    // early layers (moving every pixel) does often: check the layers near the loss.
    check(MOBILENET, new LossConfig(255, weights, 0.3, 0), 3e-4, HEAD, "logits/");
  }

  private static final String[] HEAD = {"aspp1_depthwise/depthwise_weights",
      "aspp0/BatchNorm/beta", "concat_projection/weights", "logits/semantic/weights",
      "logits/semantic/biases"};
  private static final String[] ALL = {"MobilenetV2/Conv/weights",
      "MobilenetV2/expanded_conv_3/depthwise/depthwise_weights",
      "MobilenetV2/expanded_conv_5/project/BatchNorm/gamma", "aspp1_depthwise/depthwise_weights",
      "aspp0/BatchNorm/beta", "concat_projection/weights", "logits/semantic/weights",
      "logits/semantic/biases"};

  private void check(ModelConfig model, LossConfig loss, double eps, String[] checked,
      String logitsLayer) {
    TrainConfig config = TrainConfig.builder(model).batchSize(2).steps(10).loss(loss).seed(3)
        .build();
    Batch b = realBatch(config);
    int n = config.batchSize();
    try (Harness h = new Harness(config);
        TFloat32 px = TFloat32.tensorOf(Shape.of(n, model.cropHeight(), model.cropWidth(), 3),
            DataBuffers.of(b.pixels(), true, false));
        TUint8 lb = TUint8.tensorOf(Shape.of(n, model.cropHeight(), model.cropWidth()),
            DataBuffers.of(b.labels(), true, false))) {
      List<String> trainable = h.replica.trainable();
      String sumName = h.merged.rename(0, h.replica.lossSum());
      String countName = h.merged.rename(0, h.replica.normalizer());
      String pixels = h.merged.rename(0, h.replica.pixels());
      String labels = h.merged.rename(0, h.replica.labels());
      int compared = 0;
      int agreed = 0;
      double worst = 0;
      double worstLogits = 0;
      StringBuilder report = new StringBuilder();
      for (String var : checked) {
        int vi = trainable.indexOf(var);
        assertTrue(vi >= 0, var + " not trainable");
        Output<TFloat32> v = h.output(var);
        Placeholder<TFloat32> value = h.tf.placeholder(TFloat32.class);
        Op set = h.tf.assign(v, value);
        String gradName = h.merged.rename(0, h.replica.gradients().get(vi));
        float[] w0;
        float[] grad;
        float count;
        try (Result r = h.session.runner().feed(pixels, px).feed(labels, lb).fetch(var)
            .fetch(gradName).fetch(countName).run()) {
          w0 = floats((TFloat32) r.get(0));
          grad = floats((TFloat32) r.get(1));
          count = ((TFloat32) r.get(2)).getFloat();
        }
        assertTrue(count > 0);
        // the two elements with the largest analytic gradient, and one random element
        int[] idx = topTwo(grad);
        int[] elements = {idx[0], idx[1], new Random(var.hashCode()).nextInt(grad.length)};
        for (int e : elements) {
          double analytic0 = grad[e] / count;
          // a step that moves the loss by about 3e-4: well above float32 rounding of the loss,
          // small against the curvature of a deep batch-normalised network
          double step = Math.min(1e-2, Math.max(2e-5, eps / Math.max(Math.abs(analytic0), 1e-9)));
          double lossPlus = lossWith(h, set, value, w0, e, step, v.shape(), pixels, px, labels, lb,
              sumName, countName);
          double lossMinus = lossWith(h, set, value, w0, e, -step, v.shape(), pixels, px, labels,
              lb, sumName, countName);
          double numeric = (lossPlus - lossMinus) / (2 * step);
          double analytic = grad[e] / count;
          double err = Math.abs(numeric - analytic) / Math.max(1e-3, Math.max(Math.abs(numeric),
              Math.abs(analytic)));
          compared++;
          if (err < 0.05) {
            agreed++;
          }
          worst = Math.max(worst, err);
          if (var.startsWith(logitsLayer)) {
            worstLogits = Math.max(worstLogits, err);
          }
          report.append(String.format("%s[%d]: analytic %.6g numeric %.6g rel.err %.3g%n", var, e,
              analytic, numeric, err));
        }
        lossWith(h, set, value, w0, 0, 0, v.shape(), pixels, px, labels, lb, sumName, countName);
      }
      System.out.print("gradient check (" + model.variant().officialName() + ", "
          + (loss.minesHardPixels() ? "weighted, top-k" : "plain")
          + "):\n" + report);
      // The loss itself (upsampling, softmax cross-entropy, ignore mask, class weights, top-k) is
      // smooth in the logits layer: tight agreement. Deeper, float32 differences cross ReLU6
      // kinks and batch-norm curvature (batch of 2): most agree within 5%, all within 35%.
      assertTrue(worstLogits < 0.01, "logits layer:\n" + report);
      assertTrue(agreed >= 0.75 * compared, agreed + " of " + compared + " within 5%:\n" + report);
      assertTrue(worst < 0.35, "worst relative error " + worst + ":\n" + report);
    }
  }

  private static double lossWith(Harness h, Op set, Placeholder<TFloat32> value, float[] w0, int e,
      double delta, Shape shape, String pixels, TFloat32 px, String labels, TUint8 lb,
      String sumName, String countName) {
    float[] w = w0.clone();
    w[e] += (float) delta;
    try (TFloat32 t = TFloat32.tensorOf(shape, DataBuffers.of(w, true, false))) {
      h.session.runner().feed(value, t).addTarget(set).run().close();
    }
    try (Result r = h.session.runner().feed(pixels, px).feed(labels, lb).fetch(sumName)
        .fetch(countName).run()) {
      return (double) ((TFloat32) r.get(0)).getFloat() / ((TFloat32) r.get(1)).getFloat();
    }
  }

  @Test
  void atrousConvGradientsAtRates2And6MatchFiniteDifferences() {
    for (int rate : new int[] {2, 6}) {
      for (boolean depthwise : new boolean[] {false, true}) {
        checkAtrous(rate, depthwise);
      }
    }
  }

  /** loss = sum(conv(x) * R) through the space-to-batch atrous conv; d/dw and d/dx vs FD. */
  private void checkAtrous(int rate, boolean depthwise) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      NetState state = new NetState(true, false, AtrousMode.SPACE_TO_BATCH, 5);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(1, 15, 13, 3)));
      Conv layer = depthwise ? Conv.depthwise(3).rate(rate) : Conv.conv(4, 3).rate(rate);
      Operand<TFloat32> y = layer.apply(NetScope.root(tf, state), "atrous", x);
      Random r = new Random(rate);
      float[] rw = new float[(int) y.shape().size()];
      for (int i = 0; i < rw.length; i++) {
        rw[i] = (float) r.nextGaussian();
      }
      Operand<TFloat32> loss = tf.reduceSum(tf.math.mul(y,
          tf.constant(Shape.of(y.shape().asArray()), DataBuffers.of(rw, true, false))),
          tf.constant(new int[] {0, 1, 2, 3}));
      String wname = depthwise ? "atrous/depthwise_weights" : "atrous/weights";
      @SuppressWarnings("unchecked")
      Output<TFloat32> w = (Output<TFloat32>) g.outputOrThrow(wname);
      Output<?>[] grads = g.addGradients(loss.asOutput(), new Output<?>[] {w, x.asOutput()});
      Placeholder<TFloat32> value = tf.placeholder(TFloat32.class);
      Op set = tf.assign(w, value);
      float[] xv = new float[15 * 13 * 3];
      for (int i = 0; i < xv.length; i++) {
        xv[i] = (float) r.nextGaussian();
      }
      try (Session s = new Session(g);
          TFloat32 xt = TFloat32.tensorOf(Shape.of(1, 15, 13, 3), DataBuffers.of(xv, true, false))) {
        s.initialize();
        float[] w0;
        float[] gw;
        float[] gx;
        try (Result res = s.runner().feed(x, xt).fetch(w).fetch(grads[0]).fetch(grads[1]).run()) {
          w0 = floats((TFloat32) res.get(0));
          gw = floats((TFloat32) res.get(1));
          gx = floats((TFloat32) res.get(2));
        }
        double eps = 1e-2;
        // weights: the loss is linear in w, so differences are exact up to rounding
        for (int e = 0; e < w0.length; e += Math.max(1, w0.length / 12)) {
          double plus = atrousLoss(s, set, value, w0, e, eps, w.shape(), x, xt, loss);
          double minus = atrousLoss(s, set, value, w0, e, -eps, w.shape(), x, xt, loss);
          assertEquals((plus - minus) / (2 * eps), gw[e], 2e-3 * Math.max(1, Math.abs(gw[e])),
              "rate " + rate + (depthwise ? " depthwise" : " conv") + " d/dw[" + e + "]");
        }
        atrousLoss(s, set, value, w0, 0, 0, w.shape(), x, xt, loss);
        for (int e = 0; e < xv.length; e += 7) {
          double plus = atrousInputLoss(s, x, xv, e, eps, loss);
          double minus = atrousInputLoss(s, x, xv, e, -eps, loss);
          assertEquals((plus - minus) / (2 * eps), gx[e], 2e-3 * Math.max(1, Math.abs(gx[e])),
              "rate " + rate + (depthwise ? " depthwise" : " conv") + " d/dx[" + e + "]");
        }
        System.out.printf("atrous %s rate %d: gradients match finite differences%n",
            depthwise ? "depthwise" : "conv", rate);
      }
    }
  }

  private static double atrousLoss(Session s, Op set, Placeholder<TFloat32> value, float[] w0,
      int e, double delta, Shape shape, Placeholder<TFloat32> x, TFloat32 xt, Operand<TFloat32> loss) {
    float[] w = w0.clone();
    w[e] += (float) delta;
    try (TFloat32 t = TFloat32.tensorOf(shape, DataBuffers.of(w, true, false))) {
      s.runner().feed(value, t).addTarget(set).run().close();
    }
    try (Result r = s.runner().feed(x, xt).fetch(loss).run()) {
      return ((TFloat32) r.get(0)).getFloat();
    }
  }

  private static double atrousInputLoss(Session s, Placeholder<TFloat32> x, float[] xv, int e,
      double delta, Operand<TFloat32> loss) {
    float[] v = xv.clone();
    v[e] += (float) delta;
    try (TFloat32 t = TFloat32.tensorOf(Shape.of(1, 15, 13, 3), DataBuffers.of(v, true, false));
        Result r = s.runner().feed(x, t).fetch(loss).run()) {
      return ((TFloat32) r.get(0)).getFloat();
    }
  }

  static float[] floats(TFloat32 t) {
    float[] out = new float[(int) t.shape().size()];
    t.copyTo(DataBuffers.of(out, false, false));
    return out;
  }

  private static int[] topTwo(float[] g) {
    int a = 0;
    int b = g.length > 1 ? 1 : 0;
    for (int i = 0; i < g.length; i++) {
      if (Math.abs(g[i]) > Math.abs(g[a])) {
        b = a;
        a = i;
      } else if (i != a && Math.abs(g[i]) > Math.abs(g[b])) {
        b = i;
      }
    }
    return new int[] {a, b};
  }

}
