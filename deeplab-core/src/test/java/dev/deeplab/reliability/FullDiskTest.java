package dev.deeplab.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.serving.SavedModelWriter;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.train.CheckpointManager;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A full disk (a small tmpfs) gives a one-line error and loses nothing: exports leave no version
 * directory and no temporary files, training keeps its previous complete checkpoint. Mounting
 * needs root; {@link FullDiskUnprivilegedTest} checks the Java writers on every run.
 */
class FullDiskTest {
  private static Path root;
  private static final List<Path> mounts = new ArrayList<>();
  private static boolean mounted;

  @BeforeAll
  static void mount() throws Exception {
    root = Files.createTempDirectory("deeplab-fulldisk");
    // one training checkpoint of the tiny model is ~2.5 MB: 4 MB holds one but not two
    mounted = mount(root.resolve("train"), "4m") && mount(root.resolve("export"), "512k");
  }

  private static boolean mount(Path dir, String size) throws Exception {
    Files.createDirectories(dir);
    Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs",
        dir.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes()).strip();
    boolean ok = p.waitFor() == 0;
    if (ok) {
      mounts.add(dir);
    } else {
      System.out.println("mount " + dir + " failed: " + out);
    }
    return ok;
  }

  @AfterAll
  static void unmount() throws Exception {
    for (Path m : mounts) {
      new ProcessBuilder("umount", m.toString()).inheritIO().start().waitFor();
    }
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static List<String> list(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static void assertOneLine(String message) {
    assertTrue(message != null && !message.isBlank() && !message.contains("\n"),
        "not a one-line message: " + message);
  }

  @Test
  void exportsToAFullDiskFailCleanly() throws Exception {
    Assumptions.assumeTrue(mounted, "needs root to mount a small tmpfs");
    // real weights of the tiny model, from one training step on the normal disk
    Path run = root.resolve("source-run");
    new Trainer(TrainingChild.config(1), Trainer.Options.defaults(run).withCheckpointEvery(1))
        .train(new VocDataset(TrainingChild.vocMini(), "train"), null, null);
    Map<String, FloatTensor> weights =
        Checkpoints.modelWeights(new CheckpointManager(run, 1).latest().orElseThrow());
    ModelInfo info = new ModelInfo(TrainingChild.tinyModel(),
        LabelSet.unnamed(TrainingChild.tinyModel().numClasses()), "full-disk test");

    Path base = root.resolve("export/model");
    IOException e = assertThrows(IOException.class,
        () -> SavedModelWriter.write(weights, info, base, OptionalLong.empty()));
    System.out.println("SavedModelWriter.write on a full disk: " + e);
    assertOneLine(e.getMessage());
    assertTrue(e.getMessage().contains("No space left on device"), e.toString());
    assertTrue(e.getMessage().startsWith("cannot write " + base.resolve("1")), e.toString());
    assertEquals(List.of(), list(base), "left behind in " + base);

    Path base2 = root.resolve("export/raw");
    IOException e2 = assertThrows(IOException.class,
        () -> SavedModels.writeVersion(base2, OptionalLong.of(7), info,
            dir -> Files.write(dir.resolve("saved_model.pb"), new byte[1 << 20])));
    System.out.println("SavedModels.writeVersion on a full disk: " + e2);
    assertOneLine(e2.getMessage());
    assertTrue(e2.getMessage().startsWith("cannot write " + base2.resolve("7")), e2.toString());
    assertEquals(List.of(), list(base2), "left behind in " + base2);
  }

  @Test
  void trainingOnAFullDiskFailsAndKeepsTheLastCheckpoint() throws Exception {
    Assumptions.assumeTrue(mounted, "needs root to mount a small tmpfs");
    Path dir = root.resolve("train/run");
    Trainer trainer = new Trainer(TrainingChild.config(3),
        Trainer.Options.defaults(dir).withCheckpointEvery(1).withKeep(1));
    Exception e = assertThrows(Exception.class,
        () -> trainer.train(new VocDataset(TrainingChild.vocMini(), "train"), null, null));
    System.out.println("training on a full disk: " + e);
    assertTrue(e instanceof IOException, "not an IOException: " + e);
    assertOneLine(e.getMessage());
    CheckpointManager ckpts = new CheckpointManager(dir, 1);
    assertEquals(1L, ckpts.latestStep().orElseThrow(), "files: " + list(dir));
    assertFalse(Checkpoints.modelWeights(ckpts.latest().orElseThrow()).isEmpty());
    List<String> files = list(dir);
    System.out.println("checkpoint dir after the failure: " + files);
    assertTrue(files.stream().noneMatch(f -> f.startsWith(".tmp-")), "temp files: " + files);
  }
}
