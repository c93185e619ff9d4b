package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.cli.TrainCommand;
import dev.deeplab.internal.serving.SavedModels;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code deeplab train} end to end: train, resume, evaluate, TensorBoard events, export. */
class TrainCommandTest {
  @TempDir Path tmp;

  private int run(StringWriter out, String... args) {
    CommandLine cli = new CommandLine(new TrainCommand());
    cli.setOut(new PrintWriter(out, true));
    return cli.execute(args);
  }

  @Test
  void trainsResumesEvaluatesAndExports() throws Exception {
    Path ckpt = tmp.resolve("run");
    String[] common = {"--variant", "mobilenet_v2", "--depth-multiplier", "0.25", "--data",
        VocMini.root().toString(), "--batch-size", "2", "--crop-size", "65", "--checkpoint-dir",
        ckpt.toString(), "--checkpoint-every", "2", "--keep", "2", "--seed", "3"};
    StringWriter out = new StringWriter();
    assertEquals(0, run(out, concat(common, "--steps", "2")));
    assertTrue(out.toString().contains("trained steps 0..2"), out.toString());
    out = new StringWriter();
    assertEquals(0, run(out, concat(common, "--steps", "4", "--eval-every", "4", "--export",
        tmp.resolve("exported").toString())));
    String text = out.toString();
    System.out.print("train command: " + text);
    assertTrue(text.contains("trained steps 2..4") && text.contains("mIoU"), text);
    assertTrue(Files.exists(ckpt.resolve("model.ckpt-4.index")));
    try (var files = Files.list(ckpt)) {
      assertTrue(files.anyMatch(p -> p.getFileName().toString().startsWith("events.out.tfevents")));
    }
    Path model = SavedModels.resolve(tmp.resolve("exported"));
    assertEquals(513, SavedModels.readInfo(model).config().cropHeight());
    assertTrue(Files.exists(model.resolve("saved_model.pb")));
  }

  private static String[] concat(String[] a, String... b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
