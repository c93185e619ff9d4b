package dev.deeplab.internal.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ServingOptions;
import dev.deeplab.testing.GoldenCases;
import dev.deeplab.testing.Npy;
import dev.deeplab.testing.ReferenceWeights;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;

/**
 * The whole serving graph (resize-to-fit, mean-pixel padding, network, upsampling, cut and
 * resize back), reading its variables or frozen ({@link ServingGraph#buildFrozen}: batch norm
 * folded into constant weights), against an independent reference: {@code
 * tools/reference/serving_reference.py} rebuilds the official export's pre/post-processing ({@code
 * input_preprocess.py},
 * {@code model.predict_labels}, {@code export_model.py}) plus our documented resize-to-fit and
 * probabilities output in float64 around the float64 network of {@code deeplab_net.py}, and
 * stores inputs of sizes other than the crop with the expected {@code semantic} and
 * {@code probabilities} (see {@code tools/reference/SERVING.md}).
 *
 * <p>Tolerances. An independent float32 run of the same pipeline with TF ops differs from the
 * float64 reference by at most 6.6e-6 in any probability (recorded per image in
 * {@code serving.json}); our float32 graph must stay within {@link #PROB_TOL}. Class ids must be
 * identical, except at pixels whose reference top-2 probability gap is below
 * {@code near_tie_threshold} (1e-4, ~15x that float32 noise), where float32 rounding may pick the
 * other class; those are counted and printed. The reference samples every resize at TF's float32
 * align-corners positions; float64 positions would move resized inputs by up to 6e-5 (the
 * {@code --check} sensitivity report), so the tolerance assumes TF's resize kernels.
 */
class ServingGraphReferenceTest {
  static final Path ROOT = Paths.get("src/test/resources/golden-serving");
  /** Max |p - p_ref| allowed; ~2x the float32-vs-float64 spread of an independent TF run. */
  static final double PROB_TOL = 1.5e-5;

  /** Each case with the graph that reads its variables, and with the frozen graph. */
  static Stream<Arguments> cases() throws Exception {
    return GoldenCases.names(ROOT).flatMap(n -> Stream.of(Arguments.of(n, false),
        Arguments.of(n, true)));
  }

  @ParameterizedTest(name = "{0}, frozen {1}")
  @MethodSource("cases")
  void servingOutputsMatchPythonReference(String name, boolean frozen) throws Exception {
    Path dir = ROOT.resolve(name);
    ObjectMapper json = new ObjectMapper();
    ModelConfig config = GoldenCases.configOf(json.readTree(dir.resolve("config.json").toFile()));
    JsonNode meta = json.readTree(dir.resolve("serving.json").toFile());
    double nearTie = meta.get("near_tie_threshold").asDouble();
    int classes = config.numClasses();
    List<String> failures = new ArrayList<>();
    double worstProb = 0;
    int images = 0;
    long start = System.nanoTime();
    Map<String, FloatTensor> weights;
    try (ModelGraph network = ModelGraph.build(config)) {
      weights = ReferenceWeights.forVariables(network.variables().values());
    }
    try (ServingGraph graph = frozen ? ServingGraph.buildFrozen(config, ServingOptions.defaults(),
            LabelSet.unnamed(classes), weights) : ServingGraph.build(config);
        Session session = new Session(graph.graph())) {
      if (!frozen) { // the frozen graph's signatures must not read the variables: left unset
        Checkpoints.restore(session, weights);
      }
      System.out.printf("%s: crop %dx%d, %d classes, near-tie threshold %.2g, prob tolerance %.2g"
          + " (graph + weights %.1f s)%n", name, config.cropHeight(), config.cropWidth(), classes,
          nearTie, PROB_TOL, (System.nanoTime() - start) / 1e9);
      for (JsonNode e : meta.get("images")) {
        String image = e.get("name").asText();
        JsonNode files = e.get("files");
        Npy.Array input = Npy.read(dir.resolve(files.get("input").asText()));
        Npy.Array semantic = Npy.read(dir.resolve(files.get("semantic").asText()));
        Npy.Array probs = Npy.read(dir.resolve(files.get("probabilities").asText()));
        Npy.Array gap = Npy.read(dir.resolve(files.get("top2_gap").asText()));
        long[] s = input.shape();
        byte[] pixels = new byte[input.data().length];
        for (int i = 0; i < pixels.length; i++) {
          pixels[i] = (byte) (int) input.data()[i];
        }
        long t0 = System.nanoTime();
        try (TUint8 x = TUint8.tensorOf(Shape.of(s), DataBuffers.of(pixels, true, false));
            Result r = session.runner().feed(graph.images(), x)
                .fetch(graph.semantic()).fetch(graph.probabilities()).run()) {
          double ms = (System.nanoTime() - t0) / 1e6;
          TInt32 sem = (TInt32) r.get(0);
          TFloat32 prob = (TFloat32) r.get(1);
          assertArrayEquals(semantic.shape(), sem.shape().asArray(), image + ": semantic shape");
          assertArrayEquals(probs.shape(), prob.shape().asArray(), image + ": probabilities shape");
          int[] ids = new int[(int) sem.shape().size()];
          sem.copyTo(DataBuffers.of(ids, false, false));
          float[] p = new float[(int) prob.shape().size()];
          prob.copyTo(DataBuffers.of(p, false, false));

          double maxErr = 0;
          double sumErr = 0;
          int maxAt = 0;
          for (int i = 0; i < p.length; i++) {
            double d = Math.abs(p[i] - probs.data()[i]);
            sumErr += d;
            if (d > maxErr) {
              maxErr = d;
              maxAt = i;
            }
          }
          int nearTies = 0;
          int tieDiffs = 0;
          int realDiffs = 0;
          int firstReal = -1;
          for (int i = 0; i < ids.length; i++) {
            boolean tie = gap.data()[i] < nearTie;
            nearTies += tie ? 1 : 0;
            if (ids[i] != (int) semantic.data()[i]) {
              if (tie) {
                tieDiffs++;
              } else {
                realDiffs++;
                if (firstReal < 0) {
                  firstReal = i;
                }
              }
            }
          }
          worstProb = Math.max(worstProb, maxErr);
          images++;
          JsonNode resized = e.get("resized");
          System.out.printf("  %-14s input %-11s -> fitted %dx%d: prob max|err| %.2e (mean %.1e,"
                  + " at %s), ids differ at %d of %d px (%d near-ties, %d of them differ),"
                  + " %.0f ms%n",
              image, dims(s), resized.get(0).asInt(), resized.get(1).asInt(), maxErr,
              sumErr / p.length, where(maxAt, s, classes), realDiffs + tieDiffs, ids.length,
              nearTies, tieDiffs, ms);
          if (maxErr > PROB_TOL) {
            failures.add(String.format("%s: probability error %.3g at %s (got %.6f, want %.6f)",
                image, maxErr, where(maxAt, s, classes), p[maxAt], probs.data()[maxAt]));
          }
          if (realDiffs > 0) {
            failures.add(String.format("%s: class id differs at %d pixels with top-2 gap >= %.1g,"
                    + " first at %s (got %d, want %d, gap %.3g)", image, realDiffs, nearTie,
                where(firstReal * (long) classes, s, classes), ids[firstReal],
                (int) semantic.data()[firstReal], gap.data()[firstReal]));
          }
        }
      }
    }
    System.out.printf("%s: %d inputs, worst probability error %.2e, %.1f s%n", name, images,
        worstProb, (System.nanoTime() - start) / 1e9);
    assertTrue(images > 0, "no images in " + dir.resolve("serving.json"));
    assertEquals(List.of(), failures, name);
  }

  private static String dims(long[] s) {
    return Arrays.stream(s).limit(3).mapToObj(Long::toString)
        .reduce((a, b) -> a + "x" + b).orElse("");
  }

  /** "[n,y,x,c]" of a flat index into a [n,h,w,classes] array. */
  private static String where(long flat, long[] s, int classes) {
    long c = flat % classes;
    long px = flat / classes;
    long x = px % s[2];
    long y = (px / s[2]) % s[1];
    long n = px / (s[1] * s[2]);
    return "[" + n + "," + y + "," + x + "," + c + "]";
  }
}
