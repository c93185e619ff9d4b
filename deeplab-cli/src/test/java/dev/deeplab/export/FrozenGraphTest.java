package dev.deeplab.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.serving.FrozenGraphWrapper;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;

/**
 * {@code deeplab import --frozen-graph}: a tiny graph in the official export's shape, built here
 * with TF Java ({@code ImageTensor} uint8 [1,?,?,3] → class = (R > 127) + 2·(G > 127) → {@code
 * SemanticPredictions} [1,H,W]), wrapped as a SavedModel and run through our {@link Segmenter}
 * and the bytes signature.
 */
class FrozenGraphTest {
  @TempDir
  Path tmp;

  /** Writes the tiny frozen graph; {@code input} names the placeholder. */
  static Path frozenGraph(Path file, String input, String output, boolean int64, boolean probs,
      boolean logitsConst) throws Exception {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TUint8> in = tf.withName(input).placeholder(TUint8.class,
          Placeholder.shape(Shape.of(1, -1, -1, 3)));
      Operand<TFloat32> x = tf.dtypes.cast(in, TFloat32.class);
      Operand<TFloat32> r = tf.gather(x, tf.constant(0), tf.constant(3));
      Operand<TFloat32> gr = tf.gather(x, tf.constant(1), tf.constant(3));
      Operand<TInt32> ids = tf.math.add(
          tf.dtypes.cast(tf.math.greater(r, tf.constant(127f)), TInt32.class),
          tf.math.mul(tf.constant(2),
              tf.dtypes.cast(tf.math.greater(gr, tf.constant(127f)), TInt32.class)));
      if (int64) {
        tf.withName(output).dtypes.cast(ids, TInt64.class);
      } else {
        tf.withName(output).identity(ids);
      }
      if (probs) {
        tf.withName(FrozenGraphWrapper.PROBABILITIES).oneHot(ids, tf.constant(4),
            tf.constant(1f), tf.constant(0f));
      }
      if (logitsConst) {
        tf.withSubScope("logits").withSubScope("semantic").withName("weights")
            .constant(new float[1][1][8][4]);
      }
      Files.write(file, g.toGraphDef().toByteArray());
    }
    return file;
  }

  static int[] expected(byte[] rgb) {
    int[] ids = new int[rgb.length / 3];
    for (int p = 0; p < ids.length; p++) {
      ids[p] = ((rgb[3 * p] & 0xff) > 127 ? 1 : 0) + ((rgb[3 * p + 1] & 0xff) > 127 ? 2 : 0);
    }
    return ids;
  }

  /** Blocks of 10x10 pixels with colours from a fixed sequence. */
  static byte[] blocks(int w, int h) {
    byte[] rgb = new byte[w * h * 3];
    int[][] colours = {{200, 30, 0}, {20, 220, 90}, {250, 250, 10}, {10, 10, 240}, {130, 126, 5}};
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int[] c = colours[((y / 10) * 7 + x / 10) % colours.length];
        for (int k = 0; k < 3; k++) {
          rgb[(y * w + x) * 3 + k] = (byte) c[k];
        }
      }
    }
    return rgb;
  }

  static byte[] png(byte[] rgb, int w, int h) throws Exception {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = (y * w + x) * 3;
        img.setRGB(x, y,
            ((rgb[i] & 0xff) << 16) | ((rgb[i + 1] & 0xff) << 8) | (rgb[i + 2] & 0xff));
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  @Test
  void wrapsFrozenGraphWithServingSignatures() throws Exception {
    Path pb = frozenGraph(tmp.resolve("frozen_inference_graph.pb"), "ImageTensor",
        "SemanticPredictions", false, false, true);
    Path out = tmp.resolve("wrapped");
    Cli.Run r = Cli.run("import", "--frozen-graph", pb.toString(), "--crop-size", "16",
        "--output", out.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("backbone not recognised, 4 classes"), r.out());
    ModelInfo info = SavedModels.readInfo(out.resolve("1"));
    assertEquals(4, info.config().numClasses());
    assertTrue(FrozenGraphWrapper.isWrapped(info), info.source());
    assertEquals(List.of(), Fixtures.list(out.resolve("1/variables")), "no variables");

    try (SavedModelBundle b = SavedModelBundle.load(out.resolve("1").toString(), "serve")) {
      Map<String, SignatureDef> sigs = b.metaGraphDef().getSignatureDefMap();
      assertEquals(java.util.Set.of("serving_default", "predict_images"), sigs.keySet(),
          "no probabilities signature: the frozen graph has none");
      for (SignatureDef s : sigs.values()) {
        assertEquals("tensorflow/serving/predict", s.getMethodName());
      }
      SignatureDef d = sigs.get("predict_images");
      assertEquals(java.util.Set.of("semantic"), d.getOutputsMap().keySet());
      assertEquals(List.of(1L, -1L, -1L, 3L), d.getInputsOrThrow("images").getTensorShape()
          .getDimList().stream().map(x -> x.getSize()).toList());
      assertEquals(java.util.Set.of("semantic_png_bytes"),
          sigs.get("serving_default").getOutputsMap().keySet());

      int w = 13;
      int h = 9;
      byte[] rgb = Fixtures.gradient(w, h);
      try (TString bytes = TString.tensorOfBytes(NdArrays.vectorOfObjects(png(rgb, w, h)));
          Result res = b.function("serving_default").call(Map.of("image_bytes", bytes))) {
        TString png = (TString) res.get("semantic_png_bytes").get();
        assertEquals(Shape.of(1), png.shape());
        java.awt.image.BufferedImage mask = javax.imageio.ImageIO.read(
            new java.io.ByteArrayInputStream(png.asBytes().getObject(0)));
        assertEquals(w, mask.getWidth());
        assertEquals(h, mask.getHeight());
        assertArrayEquals(expected(rgb), mask.getRaster().getSamples(0, 0, w, h, 0, (int[]) null));
      }
    }

    try (Segmenter s = Segmenter.load(out)) {
      byte[] rgb = Fixtures.gradient(16, 11);
      assertArrayEquals(expected(rgb), s.segment(rgb, 16, 11).classIds(), "fits the crop");
      // Larger than the 16x16 crop: scaled down to 16x12, run, ids mapped back.
      int w = 40;
      int h = 30;
      byte[] big = blocks(w, h);
      int[] ids = s.segment(big, w, h).classIds();
      int[] want = expected(big);
      int compared = 0;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          if (x % 10 >= 3 && x % 10 <= 6 && y % 10 >= 3 && y % 10 <= 6) {
            assertEquals(want[y * w + x], ids[y * w + x], "pixel " + x + "," + y);
            compared++;
          }
        }
      }
      assertEquals(16 * 12, compared);
    }
  }

  @Test
  void wrappedGraphEvaluatesAtOneScaleAndRefusesMore() throws Exception {
    Path pb = frozenGraph(tmp.resolve("f.pb"), "ImageTensor", "SemanticPredictions", false, false,
        false);
    Path out = tmp.resolve("wrapped-eval");
    assertEquals(0, Cli.run("import", "--frozen-graph", pb.toString(), "--num-classes", "4",
        "--crop-size", "32", "--output", out.toString()).exit());
    byte[] rgb = blocks(30, 20);
    try (dev.deeplab.eval.Evaluator e = dev.deeplab.eval.Evaluator.open(out, List.of(1.0), false)) {
      assertArrayEquals(expected(rgb), e.predict(new dev.deeplab.image.RgbImage(30, 20, rgb)));
    }
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
        () -> dev.deeplab.eval.Evaluator.open(out, List.of(0.5, 1.0), false));
    assertTrue(refused.getMessage().contains("frozen graph"), refused.getMessage());
  }

  @Test
  void int64PredictionsAndProbabilities() throws Exception {
    Path pb = frozenGraph(tmp.resolve("f.pb"), "ImageTensor", "SemanticPredictions", true, true,
        false);
    Path out = tmp.resolve("wrapped64");
    Cli.Run r = Cli.run("import", "--frozen-graph", pb.toString(), "--num-classes", "4",
        "--output", out.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("SemanticProbabilities"), r.out());
    try (Segmenter s = Segmenter.load(out)) {
      byte[] rgb = Fixtures.gradient(7, 5);
      int[] want = expected(rgb);
      assertArrayEquals(want, s.segment(rgb, 7, 5).classIds());
      float[] p = s.segmentWithProbabilities(rgb, 7, 5).probabilities();
      assertEquals(7 * 5 * 4, p.length);
      for (int i = 0; i < want.length; i++) {
        assertEquals(1f, p[i * 4 + want[i]], 0f);
      }
    }
    // Re-exporting a wrapped graph copies it as a new version.
    Path copy = ModelExporter.reexport(out, out, java.util.OptionalLong.empty());
    assertEquals(out.resolve("2"), copy);
    try (Segmenter s = Segmenter.load(out)) {
      assertEquals(copy, s.directory());
      byte[] rgb = Fixtures.gradient(6, 6);
      assertArrayEquals(expected(rgb), s.segment(rgb, 6, 6).classIds());
    }
  }

  @Test
  void otherTensorNamesGiveOneLineNamingTheTensor() throws Exception {
    Path noInput = frozenGraph(tmp.resolve("a.pb"), "input", "SemanticPredictions", false, false,
        true);
    Path out = tmp.resolve("none");
    Cli.Run r = Cli.run("import", "--frozen-graph", noInput.toString(), "--output",
        out.toString());
    assertEquals(1, r.exit());
    assertEquals(List.of("deeplab: frozen graph " + noInput + " has no tensor ImageTensor:0 (the "
        + "input of an official export_model.py graph); its placeholders: input"),
        r.errorLines());

    Path noOutput = frozenGraph(tmp.resolve("b.pb"), "ImageTensor", "labels", false, false, true);
    r = Cli.run("import", "--frozen-graph", noOutput.toString(), "--output", out.toString());
    assertEquals(1, r.exit());
    assertEquals(List.of("deeplab: frozen graph " + noOutput + " has no tensor "
        + "SemanticPredictions:0 (the output of an official export_model.py graph)"),
        r.errorLines());

    Path text = Files.writeString(tmp.resolve("c.pb"), "this is not a graph\n");
    r = Cli.run("import", "--frozen-graph", text.toString(), "--output", out.toString());
    assertEquals(1, r.exit());
    assertEquals(1, r.errorLines().size(), r.err());
    assertTrue(r.errorLines().get(0).startsWith("deeplab: not a frozen graph"), r.err());

    Path noClasses = frozenGraph(tmp.resolve("d.pb"), "ImageTensor", "SemanticPredictions", false,
        false, false);
    r = Cli.run("import", "--frozen-graph", noClasses.toString(), "--output", out.toString());
    assertEquals(1, r.exit());
    assertEquals(List.of("deeplab: cannot tell the number of classes of " + noClasses
        + " (no logits/semantic/weights node): give --num-classes or --labels"), r.errorLines());
    assertFalse(Files.exists(out), "no output directory");
  }

  @Test
  void detectsArchitectureFromNodeNames() throws Exception {
    Path pb = frozenGraph(tmp.resolve("e.pb"), "ImageTensor", "SemanticPredictions", false, false,
        true);
    FrozenGraphWrapper.Detected d = FrozenGraphWrapper.detect(FrozenGraphWrapper.read(pb));
    assertTrue(d.variant().isEmpty());
    assertEquals(4, d.numClasses().getAsInt());
    assertFalse(d.decoder());
    assertNull(d.variant().orElse(null));
    assertNotNull(d.config());
  }

  /**
   * NAS frozen graphs: the tiny graph with Const weights named and shaped as {@code
   * core/nas_network.py} writes them (cell {@code i}'s {@code 1x1/weights} to the stem filters
   * times the filter scaling, which doubles at each step down the official network path; the
   * classification head's conv), imported without architecture options: the recorded config has
   * the backbone, its stem filters, head and output stride.
   */
  @Test
  void nasOptionsFromTheCellWeights() throws Exception {
    int[] pnas8 = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    int[] pnas16 = {1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2};
    int[] pnas32 = {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
    int[] hnas = {0, 0, 0, 1, 2, 1, 2, 2, 3, 3, 2, 1};
    Object[][] cases = {
        // scope, path levels, stem filters, head, expected output stride
        {"pnasnet", pnas16, 8, false, 16},
        {"pnasnet", pnas8, 20, false, 8},
        {"pnasnet", pnas32, 12, true, 32},
        {"hnasnet", hnas, 8, false, 8},
        {"hnasnet", hnas, 20, true, 16}};
    int i = 0;
    for (Object[] c : cases) {
      String scope = (String) c[0];
      int stem = (Integer) c[2];
      boolean head = (Boolean) c[3];
      Path pb = nasFrozenGraph(tmp.resolve("nas" + i + ".pb"), scope, (int[]) c[1], stem, head);
      Path out = tmp.resolve("nas" + i++);
      Cli.Run r = Cli.run("import", "--frozen-graph", pb.toString(), "--crop-size", "65",
          "--output", out.toString());
      assertEquals(0, r.exit(), r.err());
      String what = "nas_" + scope + " with decoder (output stride " + c[4] + ", " + stem
          + " stem filters" + (head ? ", classification head" : "") + "), 4 classes";
      assertTrue(r.out().contains(what), what + " in: " + r.out());
      ModelConfig config = SavedModels.readInfo(out.resolve("1")).config();
      assertEquals(ModelVariant.fromName("nas_" + scope), config.variant());
      assertEquals(stem, config.nasStemOutputNumConvFilters());
      assertEquals(head, config.nasUseClassificationHead());
      assertEquals((int) (Integer) c[4], config.outputStride());
      assertEquals(List.of(4), config.decoderOutputStrides());
      assertFalse(config.nasRemoveOs32Stride());
    }
  }

  /** The tiny frozen graph with NAS weights (input depth 1, only their shapes matter here). */
  private static Path nasFrozenGraph(Path file, String scope, int[] levels, int stem,
      boolean head) throws Exception {
    Path tiny = frozenGraph(file, "ImageTensor", "SemanticPredictions", false, false, true);
    try (Graph g = new Graph()) {
      g.importGraphDef(org.tensorflow.proto.GraphDef.parseFrom(Files.readAllBytes(tiny)));
      Ops tf = Ops.create(g).withSubScope(scope);
      tf.withSubScope("conv0").withName("weights").constant(new float[3][3][3][64]);
      for (int i = 0; i < levels.length; i++) {
        // filter_scaling: 1 at level 0, doubled at each level below
        int filters = stem << levels[i];
        tf.withSubScope("cell_" + i).withSubScope("1x1").withName("weights")
            .constant(new float[1][1][1][filters]);
      }
      if (head) {
        tf.withSubScope("classification_head_conv").withName("weights")
            .constant(new float[1][1][1][2048]);
      }
      Ops.create(g).withSubScope("decoder").withSubScope("feature_projection0")
          .withName("weights").constant(new float[1][1][1][48]);
      Files.write(file, g.toGraphDef().toByteArray());
    }
    return file;
  }
}
