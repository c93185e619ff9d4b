package dev.deeplab.internal.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * Compares TensorFlow's symbolic gradients with central finite differences. Every differentiated
 * operand is fed explicitly (placeholders and variables alike: feeding a variable's output
 * overrides its value for that run), so the numeric side perturbs one element at a time without
 * touching the graph.
 */
final class GradientChecker {
  private final Graph graph;
  private final Session session;
  private final Operand<TFloat32> loss;
  private final Map<Operand<TFloat32>, float[]> values = new LinkedHashMap<>();
  private final List<Operand<TFloat32>> inputs = new ArrayList<>();
  private Output<?>[] gradients;

  GradientChecker(Graph graph, Session session, Operand<TFloat32> loss) {
    this.graph = graph;
    this.session = session;
    this.loss = loss;
  }

  /** Differentiates with respect to {@code x}, fed with random values of the given scale. */
  GradientChecker wrt(Operand<TFloat32> x, long seed, float scale) {
    int n = (int) x.shape().size();
    float[] v = new float[n];
    Random r = new Random(seed);
    for (int i = 0; i < n; i++) {
      v[i] = (float) (r.nextGaussian() * scale);
    }
    values.put(x, v);
    inputs.add(x);
    return this;
  }

  /** Builds the gradient ops; call once, before {@link #maxRelativeError}. */
  GradientChecker build() {
    Output<?>[] xs = inputs.stream().map(Operand::asOutput).toArray(Output[]::new);
    gradients = graph.addGradients(loss.asOutput(), xs);
    return this;
  }

  /**
   * The largest |analytic − numeric| / max(1, |numeric|) over {@code samples} random elements of
   * each input, numeric = (L(x+eps) − L(x−eps)) / 2eps. An element whose one-sided differences
   * disagree sits on a kink (a ReLU switching inside ±eps), where finite differences say nothing;
   * it is skipped, and the check fails if more than half of the elements are.
   */
  double maxRelativeError(int samples, float eps, long seed) {
    double worst = 0;
    int kinks = 0;
    Random r = new Random(seed);
    for (int k = 0; k < inputs.size(); k++) {
      Operand<TFloat32> x = inputs.get(k);
      float[] analytic = analytic(k);
      float[] v = values.get(x);
      for (int s = 0; s < samples; s++) {
        int i = r.nextInt(v.length);
        float orig = v[i];
        double base = lossValue();
        v[i] = orig + eps;
        double plus = lossValue();
        v[i] = orig - eps;
        double minus = lossValue();
        v[i] = orig;
        double numeric = (plus - minus) / (2 * eps);
        double forward = (plus - base) / eps;
        double backward = (base - minus) / eps;
        if (Math.abs(forward - backward) > 0.05 * Math.max(1.0, Math.abs(numeric))) {
          kinks++;
          continue;
        }
        double err = Math.abs(analytic[i] - numeric) / Math.max(1.0, Math.abs(numeric));
        worst = Math.max(worst, err);

      }
    }
    if (kinks > samples * inputs.size() / 2) {
      throw new AssertionError(kinks + " of " + samples * inputs.size()
          + " sampled elements sit on kinks: the check says nothing");
    }
    return worst;
  }

  private float[] analytic(int k) {
    return run(gradients[k]);
  }

  private double lossValue() {
    return run(loss.asOutput())[0];
  }

  /** Runs {@code fetch} with every input fed its current values; closes what it opened. */
  private float[] run(Output<?> fetch) {
    List<TFloat32> fed = new ArrayList<>();
    try {
      Session.Runner runner = session.runner();
      values.forEach((x, v) -> {
        TFloat32 t = TFloat32.tensorOf(Shape.of(x.shape().asArray()), DataBuffers.of(v, true, false));
        fed.add(t);
        runner.feed(x, t);
      });
      try (Result res = runner.fetch(fetch).run()) {
        TFloat32 g = (TFloat32) res.get(0);
        float[] out = new float[(int) g.shape().size()];
        g.copyTo(DataBuffers.of(out, false, false));
        return out;
      }
    } finally {
      fed.forEach(TFloat32::close);
    }
  }
}
