package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.LabelMap;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train}, {@code eval} and {@code segment} on the Cityscapes, ADE20K and TFRecord fixtures. */
class DatasetCommandsTest {
  @TempDir Path tmp;

  private static final List<String> TINY = List.of("--variant", "mobilenet_v2",
      "--depth-multiplier", "0.25", "--crop-size", "65", "--steps", "2", "--batch-size", "2",
      "--eval-every", "2", "--workers", "1");

  private static CliReliabilityTest.Run run(List<String> args) {
    CliReliabilityTest.Run r = CliReliabilityTest.run(args.toArray(String[]::new));
    System.out.println(String.join(" ", args) + "\n-> " + r.code() + "\n" + r.out() + r.err());
    return r;
  }

  /** Trains 2 steps with evaluation and exports; returns the SavedModel directory. */
  private Path train(String name, List<String> data) {
    List<String> args = new ArrayList<>(List.of("train"));
    args.addAll(data);
    args.addAll(TINY);
    args.addAll(List.of("--checkpoint-dir", tmp.resolve(name).toString(), "--export",
        tmp.resolve(name + "-model").toString()));
    CliReliabilityTest.Run r = run(args);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("trained steps 0..2") && r.out().contains("mIoU"), r.out());
    return tmp.resolve(name + "-model");
  }

  @Test
  void cityscapesTrainEvalAndLabelIdsForTheServer() throws Exception {
    Path root = TestData.datasets("cityscapes");
    Path model = train("city", List.of("--dataset", "cityscapes", "--data", root.toString()));
    CliReliabilityTest.Run eval = run(List.of("eval", "--dataset", "cityscapes", "--data",
        root.toString(), "--model", model.toString()));
    assertEquals(0, eval.code(), eval.err());
    assertTrue(eval.out().contains("traffic light") && eval.out().contains("mean IoU"),
        eval.out());

    Path out = tmp.resolve("results");
    Path image = root.resolve("leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png");
    CliReliabilityTest.Run seg = run(List.of("segment", "--dataset", "cityscapes",
        "--label-ids", "--model", model.toString(), "-o", out.toString(), image.toString()));
    assertEquals(0, seg.code(), seg.err());
    Path ids = out.resolve("frankfurt_000000_000294_labelIds.png");
    assertEquals(List.of(ids), Files.list(out).toList(), "only the server's file");
    LabelMap map = new LabelReader().read(ids);
    assertEquals(128, map.width());
    Set<Integer> evaluated = Set.of(7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
        31, 32, 33);
    long[] h = map.histogram();
    for (int v = 0; v < 256; v++) {
      assertTrue(h[v] == 0 || evaluated.contains(v), "label id " + v);
    }
  }

  @Test
  void ade20kWithResizeOptions() {
    Path root = TestData.datasets("ade20k/ADEChallengeData2016");
    List<String> data = List.of("--dataset", "ade20k", "--data", root.toString(),
        "--min-resize-value", "49", "--max-resize-value", "65", "--resize-factor", "16");
    Path model = train("ade", data);
    List<String> args = new ArrayList<>(List.of("eval", "--model", model.toString()));
    args.addAll(data);
    CliReliabilityTest.Run eval = run(args);
    assertEquals(0, eval.code(), eval.err());
    assertTrue(eval.out().contains("mean IoU") && eval.out().contains("ignore label 0"), eval.out());
  }

  @Test
  void tfRecordShards() {
    Path dir = TestData.datasets("tfrecord");
    Path model = train("tfrecord", List.of("--dataset", "cityscapes", "--data",
        dir.resolve("train_fine-*.tfrecord").toString(), "--eval-data",
        dir.resolve("val_fine-*.tfrecord").toString()));
    CliReliabilityTest.Run eval = run(List.of("eval", "--dataset", "cityscapes", "--data",
        dir.resolve("val_fine-*.tfrecord").toString(), "--model", model.toString(), "--json"));
    assertEquals(0, eval.code(), eval.err());
    assertTrue(eval.out().contains("\"sidewalk\""), eval.out());
  }

  @Test
  void mistakesAreOneLineErrors() {
    Path dir = TestData.datasets("tfrecord");
    for (List<String> args : List.of(
        List.of("eval", "--dataset", "kitti", "--data", dir.toString()),
        List.of("eval", "--data", dir.resolve("test-*.tfrecord").toString()),
        List.of("train", "--data", dir.resolve("train_fine-*.tfrecord").toString(),
            "--dataset", "cityscapes", "--variant", "mobilenet_v2", "--steps", "1",
            "--batch-size", "1", "--eval-every", "1", "--checkpoint-dir",
            tmp.resolve("x").toString()),
        List.of("segment", "--min-resize-value", "0", "--max-resize-value", "10", "x.png"))) {
      CliReliabilityTest.Run r = run(args);
      assertNotEquals(0, r.code());
      assertFalse(r.hasStackTrace(), r.err());
      assertEquals(1, r.errLines().stream().filter(l -> l.startsWith("deeplab")).count(),
          r.err());
    }
  }
}
