package dev.deeplab.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.checkpoint.CheckpointEntry;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.serving.CheckpointImporter;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelInfo;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deeplab import --checkpoint}: official-layout checkpoints written here (V2; V1 is covered
 * by tools/interop/check_checkpoint_import.py since Java cannot write it) with the extras real
 * ones carry, the variable report, {@code --reinitialize}, and one-line refusals that leave no
 * output behind.
 */
class CheckpointImportTest {
  @TempDir
  static Path tmp;

  static Map<String, FloatTensor> weights;
  static Path good;

  @BeforeAll
  static void writeCheckpoint() throws Exception {
    weights = Fixtures.weights(Fixtures.SMALL);
    good = tmp.resolve("official/model.ckpt-30000");
    Fixtures.writeCheckpoint(good, weights, true);
  }

  static Cli.Run importCkpt(Path prefix, Path output, String... more) {
    List<String> args = new ArrayList<>(List.of("import", "--checkpoint", prefix.toString()));
    args.addAll(Fixtures.SMALL_ARGS);
    args.addAll(List.of(more));
    args.addAll(List.of("--output", output.toString()));
    return Cli.run(args.toArray(new String[0]));
  }

  @Test
  void importsV2WithSlotsAndGlobalStepAndRestoresOnlyModelVariables() throws Exception {
    Path out = tmp.resolve("models/ok");
    Cli.Run r = importCkpt(good, out);
    assertEquals(0, r.exit(), r.err());
    int slots = (int) weights.keySet().stream()
        .filter(k -> !k.endsWith("moving_mean") && !k.endsWith("moving_variance")).count();
    assertTrue(r.out().contains((slots + 1) + " optimizer slots and counters ignored"), r.out());
    assertFalse(r.out().contains("unexpected"), r.out());
    assertTrue(r.out().contains("(V2, " + (weights.size() + slots + 1) + " entries)"), r.out());

    Path version = out.resolve("1");
    String prefix = version.resolve("variables/variables").toString();
    Map<String, CheckpointEntry> saved = Checkpoints.list(prefix);
    assertEquals(weights.keySet(), saved.keySet(), "exactly the model variables");
    Map<String, FloatTensor> back = Checkpoints.readFloats(prefix, List.copyOf(weights.keySet()));
    for (Map.Entry<String, FloatTensor> e : weights.entrySet()) {
      assertArrayEquals(e.getValue().data(), back.get(e.getKey()).data(), 0f, e.getKey());
    }
    ModelInfo info = SavedModels.readInfo(version);
    assertEquals(Fixtures.SMALL, info.config());
    assertEquals("checkpoint:model.ckpt-30000", info.source());
    try (Segmenter s = Segmenter.load(out)) {
      Segmentation seg = s.segment(Fixtures.gradient(40, 25), 40, 25);
      assertEquals(40 * 25, seg.classIds().length);
    }
  }

  @Test
  void acceptsIndexFileAndDirectoryWithStateFile() throws Exception {
    assertEquals(good.toString(),
        CheckpointImporter.resolvePrefix(Path.of(good + ".index")));
    assertEquals(good.toString(),
        CheckpointImporter.resolvePrefix(Path.of(good + ".data-00000-of-00001")));
    Path dir = tmp.resolve("state");
    Fixtures.writeCheckpoint(dir.resolve("model.ckpt-5"), Map.of("a", weights.values()
        .iterator().next()), false);
    Fixtures.writeCheckpoint(dir.resolve("model.ckpt-10"), Map.of("a", weights.values()
        .iterator().next()), false);
    Files.writeString(dir.resolve("checkpoint"), "model_checkpoint_path: \"model.ckpt-10\"\n"
        + "all_model_checkpoint_paths: \"model.ckpt-5\"\n"
        + "all_model_checkpoint_paths: \"model.ckpt-10\"\n");
    assertEquals(dir.resolve("model.ckpt-10").toString(), CheckpointImporter.resolvePrefix(dir));
  }

  @Test
  void reportsMissingMismatchedAndUnexpectedInATableAndRefuses() throws Exception {
    Map<String, FloatTensor> w = new LinkedHashMap<>(weights);
    String missing = "MobilenetV2/Conv/BatchNorm/gamma";
    String mismatched = "image_pooling/weights";
    w.remove(missing);
    FloatTensor m = w.get(mismatched);
    w.put(mismatched, new FloatTensor(new long[] {1, 1, m.shape()[2], 7},
        new float[(int) m.shape()[2] * 7]));
    w.put("MobilenetV2/Logits/Conv2d_1c_1x1/weights",
        new FloatTensor(new long[] {2}, new float[2]));
    Path prefix = tmp.resolve("bad/model.ckpt");
    Fixtures.writeCheckpoint(prefix, w, true);
    Path out = tmp.resolve("models/bad");

    Cli.Run r = importCkpt(prefix, out);
    assertEquals(1, r.exit());
    List<String> table = r.out().lines().filter(l -> l.startsWith("  ")).toList();
    assertTrue(table.get(0).matches("\\s+status\\s+variable\\s+model\\s+checkpoint"), table.get(0));
    assertTrue(table.stream().anyMatch(l -> l.matches(
        "\\s+missing\\s+" + missing + "\\s+\\[16]\\s+-")), r.out());
    assertTrue(table.stream().anyMatch(l -> l.matches(
        "\\s+shape\\s+" + mismatched + "\\s+\\[1,1,\\d+,256]\\s+\\[1,1,\\d+,7]")), r.out());
    assertTrue(table.stream().anyMatch(l -> l.matches(
        "\\s+unexpected\\s+MobilenetV2/Logits/Conv2d_1c_1x1/weights\\s+-\\s+\\[2]")), r.out());
    assertTrue(table.stream().noneMatch(l -> l.contains("Momentum") || l.contains("global_step")),
        "training state is not listed");
    assertEquals(1, r.errorLines().size(), r.err());
    String error = r.errorLines().get(0);
    assertTrue(error.startsWith("deeplab: checkpoint " + prefix + " does not fit mobilenet_v2: "
        + "1 missing, 1 shape mismatch"), error);
    assertTrue(error.contains("--reinitialize MobilenetV2,image_pooling"), error);
    assertFalse(Files.exists(out), "no output directory");
  }

  @Test
  void reinitializeLogitsForAnotherClassCount() throws Exception {
    // A checkpoint trained for 21 classes, fine-tuned here for 4: logits start fresh.
    Map<String, FloatTensor> w21 = Fixtures.weights(Fixtures.SMALL.withNumClasses(21));
    Path prefix = tmp.resolve("voc21/model.ckpt");
    Fixtures.writeCheckpoint(prefix, w21, true);
    Path out = tmp.resolve("models/four");

    Cli.Run refused = importCkpt(prefix, out);
    assertEquals(1, refused.exit());
    assertTrue(refused.errorLines().get(0).contains("2 shape mismatches"), refused.err());
    assertTrue(refused.errorLines().get(0).endsWith(
        "give --reinitialize logits to start those variables fresh"), refused.err());
    assertFalse(Files.exists(out));

    Cli.Run r = importCkpt(prefix, out, "--reinitialize", "logits");
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().lines().anyMatch(l -> l.matches(
        "\\s+reinit\\s+logits/semantic/weights\\s+\\[1,1,256,4]\\s+\\[1,1,256,21]")), r.out());
    assertTrue(r.out().contains("2 reinitialized (logits)"), r.out());

    String saved = out.resolve("1/variables/variables").toString();
    Map<String, FloatTensor> back = Checkpoints.readFloats(saved,
        List.of("logits/semantic/weights", "logits/semantic/biases", "image_pooling/weights"));
    float[] biases = back.get("logits/semantic/biases").data();
    assertArrayEquals(new float[4], biases, 0f, "fresh biases are zero");
    float[] kernel = back.get("logits/semantic/weights").data();
    // The official logits initialiser: truncated normal, stddev 0.01, cut at two deviations.
    double sumSq = 0;
    for (float v : kernel) {
      assertTrue(Math.abs(v) <= 0.02 + 1e-6, "truncated-normal value " + v);
      sumSq += v * v;
    }
    double std = Math.sqrt(sumSq / kernel.length);
    assertTrue(std > 0.006 && std < 0.012, "stddev " + std);
    assertArrayEquals(w21.get("image_pooling/weights").data(),
        back.get("image_pooling/weights").data(), 0f, "the rest comes from the checkpoint");
  }

  @Test
  void unknownReinitializeScopeIsOneLine() {
    Path out = tmp.resolve("models/scope");
    Cli.Run r = importCkpt(good, out, "--reinitialize", "logit");
    assertEquals(1, r.exit());
    assertEquals(1, r.errorLines().size(), r.err());
    assertTrue(r.errorLines().get(0).startsWith(
        "deeplab: --reinitialize logit matches no variable of the model"), r.err());
    assertFalse(Files.exists(out));
  }

  @Test
  void truncatedDataIsOneLineAndWritesNothing() throws Exception {
    Path prefix = tmp.resolve("truncated/model.ckpt");
    Fixtures.writeCheckpoint(prefix, weights, true);
    Path data = Path.of(prefix + ".data-00000-of-00001");
    try (RandomAccessFile f = new RandomAccessFile(data.toFile(), "rw")) {
      f.setLength(f.length() / 2);
    }
    Path out = tmp.resolve("models/truncated");
    Cli.Run r = importCkpt(prefix, out);
    assertEquals(1, r.exit(), r.err());
    assertEquals(1, r.errorLines().size(), r.err());
    assertTrue(r.errorLines().get(0).startsWith("deeplab: cannot read checkpoint " + prefix),
        r.err());
    assertFalse(Files.exists(out), "no output directory");
  }

  @Test
  void truncatedIndexIsOneLineAndWritesNothing() throws Exception {
    Path prefix = tmp.resolve("badindex/model.ckpt");
    Fixtures.writeCheckpoint(prefix, weights, false);
    Path index = Path.of(prefix + ".index");
    try (RandomAccessFile f = new RandomAccessFile(index.toFile(), "rw")) {
      f.setLength(f.length() - 20);
    }
    Path out = tmp.resolve("models/badindex");
    Cli.Run r = importCkpt(prefix, out);
    assertEquals(1, r.exit(), r.err());
    assertEquals(1, r.errorLines().size(), r.err());
    assertTrue(r.errorLines().get(0).startsWith("deeplab: cannot read checkpoint " + prefix),
        r.err());
    assertFalse(Files.exists(out));
  }

  @Test
  void checkpointOfAnotherVariantIsOneLineNamingIt() {
    Path out = tmp.resolve("models/variant");
    Cli.Run r = Cli.run("import", "--checkpoint", good.toString(), "--variant", "xception_41",
        "--num-classes", "4", "--crop-size", "33", "--output", out.toString());
    assertEquals(1, r.exit());
    assertEquals(1, r.errorLines().size(), r.err());
    String e = r.errorLines().get(0);
    assertTrue(e.startsWith("deeplab: checkpoint " + good + " has none of the "), e);
    assertTrue(e.endsWith("backbone variables of xception_41 (under xception_41/); its backbone "
        + "is under MobilenetV2/: --variant mobilenet_v2?"), e);
    assertTrue(r.out().contains("... and "), "long tables are cut: " + r.out().length());
    assertFalse(Files.exists(out));
  }

  @Test
  void noCheckpointThereIsOneLine() {
    Cli.Run r = importCkpt(tmp.resolve("nothing/model.ckpt"), tmp.resolve("models/none"));
    assertEquals(1, r.exit());
    assertEquals(1, r.errorLines().size(), r.err());
    assertTrue(r.errorLines().get(0).contains("no checkpoint"), r.err());
  }
}
