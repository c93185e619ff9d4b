package dev.deeplab.internal.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.nn.GraphOps;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.internal.weights.Oihw;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.testing.Npy;
import dev.deeplab.testing.ReferenceWeights;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * Our PyTorch-form networks against PyTorch: {@code tools/torch/make_torch_goldens.py} ran
 * torchvision's own model code (and, for VainF's DeepLabV3+, the reference {@code
 * tools/torch/vainf_reference.py}) in float64 with every state-dict tensor
 * from the shared name formula (in PyTorch's OIHW order) and stored its {@code ["out"]} logits at
 * odd input sizes. Here the same formula values go through the importer's OIHW → HWIO conversion
 * into our graph, whose upsampled logits must agree.
 */
class TorchGoldenTest {
  private static final Path GOLDEN = Path.of("src/test/resources/torch-golden");

  /** The formula value of a state-dict tensor of PyTorch shape {@code shape}, as the generator. */
  static FloatTensor formula(String name, long[] shape) {
    int n = 1;
    for (long d : shape) {
      n *= (int) d;
    }
    double[] s = ReferenceWeights.signedUniform(name, n);
    String leaf = name.substring(name.lastIndexOf('.') + 1);
    double fanIn = n / (double) shape[0];
    float[] data = new float[n];
    for (int i = 0; i < n; i++) {
      data[i] = (float) (leaf.equals("weight") && shape.length >= 2
          ? s[i] * Math.sqrt(6.0 / fanIn)
          : leaf.equals("bias") || leaf.equals("running_mean") ? 0.1 * s[i]
          : 1.0 + 0.25 * s[i]);
    }
    return new FloatTensor(shape.clone(), data);
  }

  /** The formula weights of every variable (HWIO kernels made from OIHW formula tensors). */
  static Map<String, FloatTensor> formulaWeights(Map<String, ModelVariable> vars) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (ModelVariable v : vars.values()) {
      long[] s = v.shape();
      long[] torchShape = s.length == 4 ? new long[] {s[3], s[2], s[0], s[1]} : s;
      out.put(v.name(), Oihw.toHwio(formula(v.name(), torchShape)));
    }
    return out;
  }

  @ParameterizedTest
  @CsvSource({
      "torchvision_deeplabv3_resnet50, 8, 3, 37, 45",
      "torchvision_deeplabv3_resnet101, 8, 2, 33, 40",
      "torchvision_deeplabv3_mobilenet_v3_large, 16, 3, 37, 45",
      "torchvision_lraspp_mobilenet_v3_large, 16, 4, 41, 34",
      "vainf_deeplabv3plus_resnet50, 16, 3, 37, 45",
      "vainf_deeplabv3plus_resnet101, 8, 2, 33, 40",
      "vainf_deeplabv3plus_mobilenet, 16, 3, 37, 45",
      "vainf_deeplabv3plus_mobilenet, 8, 4, 41, 34"})
  void matchesPytorch(String arch, int outputStride, int classes, int h, int w) throws Exception {
    ModelVariant variant = ModelVariant.fromName(arch);
    ModelConfig config = TorchNetworks.config(variant, classes, 64, outputStride);
    String os = TorchNetworks.isVainf(variant) ? "_os" + outputStride : "";
    Npy.Array golden = Npy.read(GOLDEN.resolve(arch + os + "_c" + classes + "_" + h + "x" + w
        + ".npy"));
    try (Graph g = new Graph(); Session session = new Session(g)) {
      Ops tf = GraphOps.create(g);
      NetState state = NetState.inference();
      Placeholder<TFloat32> pixels = tf.placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(1, -1, -1, 3)));
      Operand<TFloat32> logits = TorchNetworks.logits(tf,
          new VariableWeights(NetScope.root(tf, state)), pixels, config);
      Operand<TFloat32> up = TorchNetworks.upsample(tf, logits, tf.constant(new int[] {h, w}));
      Checkpoints.restore(session, formulaWeights(state.variables()));
      FloatTensor input = ReferenceWeights.input(h, w);
      float[] out = new float[h * w * classes];
      try (TFloat32 x = TFloat32.tensorOf(Shape.of(1, h, w, 3),
              DataBuffers.of(input.data(), true, false));
          Result r = session.runner().feed(pixels, x).fetch(up).run()) {
        ((TFloat32) r.get(0)).copyTo(DataBuffers.of(out, false, false));
      }
      assertEquals(golden.data().length, out.length);
      double scale = 0;
      double err = 0;
      int argmaxDiffs = 0;
      for (int p = 0; p < h * w; p++) {
        int a = 0;
        int b = 0;
        double top = Double.NEGATIVE_INFINITY;
        double second = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
          double want = golden.data()[p * classes + c];
          scale = Math.max(scale, Math.abs(want));
          err = Math.max(err, Math.abs(out[p * classes + c] - want));
          if (want > golden.data()[p * classes + a]) {
            a = c;
          }
          if (out[p * classes + c] > out[p * classes + b]) {
            b = c;
          }
        }
        for (int c = 0; c < classes; c++) {
          double v = golden.data()[p * classes + c];
          if (v > top) {
            second = top;
            top = v;
          } else if (v > second) {
            second = v;
          }
        }
        if (a != b && top - second > 1e-4 * scale) {
          argmaxDiffs++;
        }
      }
      System.out.printf("%s %dx%d: max |logit| %.4g, max error %.3g (relative %.3g)%n", arch, h,
          w, scale, err, err / scale);
      assertTrue(scale > 1, "degenerate golden");
      assertTrue(err <= 2e-5 * scale, "max error " + err + " of " + scale);
      assertEquals(0, argmaxDiffs, "class ids differ outside near-ties");
    }
  }
}
