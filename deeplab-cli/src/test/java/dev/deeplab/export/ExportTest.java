package dev.deeplab.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Engine;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.serving.SavedModelWriter;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.serving.ServingGraph;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Session;

/**
 * {@code deeplab export}: from a training checkpoint (slots and {@code global_step} left out) or
 * from one of our SavedModels, into the next free version; and atomicity: a failed export leaves
 * no integer-named directory and no partial files that TF Serving would pick up.
 */
class ExportTest {
  @TempDir
  static Path tmp;

  static Map<String, FloatTensor> weights;
  static Path training;

  @BeforeAll
  static void writeTrainingCheckpoint() throws Exception {
    weights = Fixtures.weights(Fixtures.SMALL);
    Path dir = tmp.resolve("train");
    training = dir.resolve("model.ckpt-200");
    Fixtures.writeCheckpoint(training, weights, true);
    Files.writeString(dir.resolve("checkpoint"), "model_checkpoint_path: \"model.ckpt-200\"\n");
  }

  static Cli.Run export(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "export";
    System.arraycopy(args, 0, all, 1, args.length);
    return Cli.run(all);
  }

  static String[] fromCheckpoint(Path checkpoint, Path output, String... more) {
    List<String> a = new java.util.ArrayList<>(List.of("--checkpoint", checkpoint.toString()));
    a.addAll(Fixtures.SMALL_ARGS);
    a.addAll(List.of(more));
    a.addAll(List.of("--output", output.toString()));
    return a.toArray(new String[0]);
  }

  @Test
  void exportsTrainingCheckpointThenNextVersionsAndReexports() throws Exception {
    Path base = tmp.resolve("models/trained");
    // The training directory itself: its 'checkpoint' state file names the newest prefix.
    Cli.Run first = export(fromCheckpoint(training.getParent(), base));
    assertEquals(0, first.exit(), first.err());
    assertTrue(first.out().contains("wrote " + base.resolve("1")), first.out());
    Cli.Run second = export(fromCheckpoint(training, base, "--labels", "pascal_voc"));
    assertEquals(1, second.exit(), "4 classes do not make the VOC label set");
    assertTrue(second.errorLines().get(0).contains("label set pascal_voc has 21"),
        second.err());
    assertEquals(List.of("1"), Fixtures.list(base));

    Cli.Run again = export("--model", base.toString(), "--output", base.toString());
    assertEquals(0, again.exit(), again.err());
    assertEquals(List.of("1", "2"), Fixtures.list(base));
    ModelInfo info = SavedModels.readInfo(base.resolve("2"));
    assertEquals(Fixtures.SMALL, info.config());
    assertTrue(info.source().startsWith("re-export of " + base.resolve("1")), info.source());
    String v2 = base.resolve("2/variables/variables").toString();
    assertEquals(weights.keySet(), Checkpoints.list(v2).keySet());
    Map<String, FloatTensor> back = Checkpoints.readFloats(v2, List.copyOf(weights.keySet()));
    weights.forEach((k, v) -> assertArrayEquals(v.data(), back.get(k).data(), 0f, k));

    Cli.Run exists = export(fromCheckpoint(training, base, "--model-version", "2"));
    assertEquals(1, exists.exit());
    assertEquals(List.of("deeplab: version 2 already exists: " + base.resolve("2")),
        exists.errorLines());
    assertEquals(List.of("1", "2"), Fixtures.list(base));
  }

  /**
   * {@code --fold-batch-norm} (and off by default): a graph without batch norm ops whose
   * probabilities equal those of the graph that reads the variables (within 1e-4; both run by
   * TensorFlow through {@link Segmenter}), and a checkpoint holding the official variables
   * unchanged, so that a re-export without folding (which reads them by name) is the same model
   * again.
   */
  @Test
  void foldedExportAgreesWithUnfoldedAndKeepsTheOfficialVariables() throws Exception {
    Path base = tmp.resolve("models/folding");
    Cli.Run source = export(fromCheckpoint(training, base)); // not folded by default
    assertEquals(0, source.exit(), source.err());
    Cli.Run folded = export(fromCheckpoint(training, base, "--fold-batch-norm"));
    assertEquals(0, folded.exit(), folded.err());
    Cli.Run unfolded = export("--model", base.resolve("2").toString(), "--output",
        base.toString(), "--no-fold-batch-norm");
    assertEquals(0, unfolded.exit(), unfolded.err());
    assertTrue(opCount(base.resolve("1"), "FusedBatchNormV3") > 0);
    assertEquals(0, opCount(base.resolve("2"), "FusedBatchNormV3"), "batch norm left in the graph");
    assertEquals(0, opCount(base.resolve("2"), "Rsqrt"), "batch norm folded at run time");
    for (String v : List.of("2", "3")) {
      String prefix = base.resolve(v + "/variables/variables").toString();
      assertEquals(weights.keySet(), Checkpoints.list(prefix).keySet(), v);
      Map<String, FloatTensor> back = Checkpoints.readFloats(prefix, List.copyOf(weights.keySet()));
      weights.forEach((k, w) -> assertArrayEquals(w.data(), back.get(k).data(), 0f, v + " " + k));
    }

    java.util.Random rnd = new java.util.Random(5);
    byte[] rgb = new byte[57 * 41 * 3]; // larger than the 33 crop: scaled to fit it
    rnd.nextBytes(rgb);
    RgbImage image = new RgbImage(57, 41, rgb);
    try (Segmenter a = Segmenter.builder().model(base.resolve("1")).engine(Engine.TENSORFLOW)
            .build();
        Segmenter b = Segmenter.builder().model(base.resolve("2")).engine(Engine.TENSORFLOW)
            .build();
        Segmenter c = Segmenter.builder().model(base.resolve("3")).engine(Engine.TENSORFLOW)
            .build()) {
      float[] expected = a.segmentWithProbabilities(image).probabilities();
      float[] got = b.segmentWithProbabilities(image).probabilities();
      float[] again = c.segmentWithProbabilities(image).probabilities();
      double max = 0;
      for (int i = 0; i < expected.length; i++) {
        max = Math.max(max, Math.abs(expected[i] - got[i]));
      }
      System.out.printf("folded export: max |dp| %.3g over %d probabilities%n", max,
          expected.length);
      assertTrue(max <= 1e-4, "folded probabilities differ by " + max);
      assertArrayEquals(expected, again, 0f, "unfolded re-export of the folded export");
    }
  }

  private static long opCount(Path version, String type) throws IOException {
    return org.tensorflow.proto.SavedModel.parseFrom(Files.readAllBytes(
            version.resolve("saved_model.pb"))).getMetaGraphs(0).getGraphDef().getNodeList()
        .stream().filter(n -> n.getOp().equals(type)).count();
  }

  @Test
  void optionsAreChecked() {
    Cli.Run none = export("--output", tmp.resolve("x").toString());
    assertEquals(2, none.exit(), "a wrong command line");
    assertTrue(none.err().startsWith("deeplab export: Missing required argument"), none.err());
    assertTrue(none.err().contains("--checkpoint=PREFIX | --model=DIR"), none.err());
    assertTrue(none.err().contains("Usage: deeplab export"), none.err());
    Cli.Run noVariant = export("--checkpoint", training.toString(), "--output",
        tmp.resolve("x").toString());
    assertEquals(2, noVariant.exit());
    assertEquals("deeplab export: --variant (or --preset) is required",
        noVariant.errorLines().get(0));
    Cli.Run both = export("--model", tmp.toString(), "--checkpoint", training.toString(),
        "--output", tmp.resolve("x").toString());
    assertEquals(2, both.exit());
    assertTrue(both.errorLines().get(0).contains("mutually exclusive"), both.err());
    Cli.Run onnx = export("--format", "onnx", "--model", tmp.toString(), "--no-fold-batch-norm",
        "--output", tmp.resolve("x.onnx").toString());
    assertEquals(2, onnx.exit());
    assertTrue(onnx.errorLines().get(0).contains("its batch norm is always folded"), onnx.err());
  }

  @Test
  void weightMapMissingAVariableWritesNothing() throws Exception {
    Path base = tmp.resolve("atomic/missing");
    Map<String, FloatTensor> w = new LinkedHashMap<>(weights);
    w.remove("logits/semantic/biases");
    ModelInfo info = new ModelInfo(Fixtures.SMALL, LabelSet.unnamed(Fixtures.SMALL.numClasses()), "test");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SavedModelWriter.write(w, info, base, OptionalLong.empty()));
    assertTrue(e.getMessage().contains("logits/semantic/biases missing"), e.getMessage());
    assertEquals(List.of(), Fixtures.list(base));
  }

  @Test
  void existingTargetVersionIsRefusedAndKept() throws Exception {
    Path base = tmp.resolve("atomic/exists");
    Files.createDirectories(base.resolve("3"));
    Files.writeString(base.resolve("3/saved_model.pb"), "keep");
    ModelInfo info = new ModelInfo(Fixtures.SMALL, LabelSet.unnamed(Fixtures.SMALL.numClasses()), "test");
    IOException e = assertThrows(IOException.class,
        () -> SavedModelWriter.write(weights, info, base, OptionalLong.of(3)));
    assertTrue(e.getMessage().startsWith("version 3 already exists"), e.getMessage());
    assertEquals(List.of("3"), Fixtures.list(base));
    assertEquals("keep", Files.readString(base.resolve("3/saved_model.pb")));
  }

  @Test
  void failureWhileWritingVariablesLeavesNoVersion() throws Exception {
    // A session whose variables were never set: TF fails in the middle of the export, after the
    // exporter has created the version's directories, when it saves the variables.
    Path base = tmp.resolve("atomic/midway");
    Files.createDirectories(base.resolve("1"));
    ModelInfo info = new ModelInfo(Fixtures.SMALL, LabelSet.unnamed(Fixtures.SMALL.numClasses()), "test");
    try (ServingGraph graph = ServingGraph.build(Fixtures.SMALL);
        Session session = new Session(graph.graph(), false)) {
      assertThrows(RuntimeException.class,
          () -> SavedModels.export(session, graph, base, OptionalLong.empty(), info));
    }
    assertEquals(List.of("1"), Fixtures.list(base), "no version 2, no temporary directory");
  }

  @Test
  void writerFailingAfterPartialFilesLeavesNothing() throws Exception {
    Path base = tmp.resolve("atomic/writer");
    ModelInfo info = new ModelInfo(Fixtures.SMALL, LabelSet.unnamed(Fixtures.SMALL.numClasses()), "test");
    IOException e = assertThrows(IOException.class, () -> SavedModels.writeVersion(base,
        OptionalLong.empty(), info, dir -> {
          Files.writeString(dir.resolve("saved_model.pb"), "partial");
          Files.createDirectories(dir.resolve("variables"));
          Files.writeString(dir.resolve("variables/variables.index"), "partial");
          throw new IOException("disk full");
        }));
    assertEquals("cannot write " + base.resolve("1") + ": disk full", e.getMessage());
    assertEquals(List.of(), Fixtures.list(base));

    Path ok = SavedModels.writeVersion(base, OptionalLong.empty(), info,
        dir -> Files.writeString(dir.resolve("saved_model.pb"), "complete"));
    assertEquals(base.resolve("1"), ok);
    assertEquals(List.of("1"), Fixtures.list(base));
    assertEquals(List.of("assets", "saved_model.pb"), Fixtures.list(ok));
    assertEquals(List.of("deeplab_model.json", "labels.txt"), Fixtures.list(ok.resolve("assets")));
  }
}
