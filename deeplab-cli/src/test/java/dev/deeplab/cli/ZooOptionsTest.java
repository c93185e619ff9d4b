package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import dev.deeplab.model.DenseCellBranch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The architecture options of the official flags that the zoo's variants need. */
class ZooOptionsTest {

  private static JsonNode inspectJson(String... options) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = DeepLabCli.commandLine().setOut(new PrintWriter(out))
        .setErr(new PrintWriter(err));
    String[] args = new String[options.length + 2];
    args[0] = "inspect";
    args[1] = "--json";
    System.arraycopy(options, 0, args, 2, options.length);
    int code = cli.execute(args);
    assertEquals(0, code, err.toString());
    return new ObjectMapper().readTree(out.toString());
  }

  /**
   * A two-stage decoder from the command line: its variables are those the Python reference lists
   * for the golden case of the same network (whose logits GoldenParityTest checks).
   */
  @Test
  void twoStageDecoderListsTheReferenceManifest() throws Exception {
    StringWriter out = new StringWriter();
    CommandLine cli = DeepLabCli.commandLine().setOut(new PrintWriter(out));
    int code = cli.execute("inspect", "--variant", "xception_41", "--output-stride", "16",
        "--decoder-output-stride", "8,4", "--num-classes", "4", "--crop-size", "64");
    assertEquals(0, code);
    List<String> lines = out.toString().lines().toList();
    List<String> manifest = Files.readAllLines(dev.deeplab.testing.TestData.resources(
        "golden/xception_41_os16_dec84_64/variables.txt"));
    assertEquals(manifest, lines.subList(0, lines.size() - 1));
  }

  @Test
  void decoderStridesAreValidatedInOneLine() {
    for (String[] bad : new String[][] {
        {"--decoder-output-stride", "4,8"}, {"--decoder-output-stride", "2"},
        {"--decoder-output-stride", "8,4", "--no-decoder"}}) {
      StringWriter err = new StringWriter();
      CommandLine cli = DeepLabCli.commandLine().setOut(new PrintWriter(new StringWriter()))
          .setErr(new PrintWriter(err));
      String[] args = new String[bad.length + 3];
      args[0] = "inspect";
      args[1] = "--variant";
      args[2] = "xception_41";
      System.arraycopy(bad, 0, args, 3, bad.length);
      assertEquals(2, cli.execute(args), String.join(" ", bad));
      assertTrue(err.toString().contains("decoder"), err.toString());
    }
  }

  /** core/dense_prediction_cell_branch5_top1_cityscapes.json as the official file writes it. */
  private static final String BRANCH5_TOP1_CITYSCAPES = "[{\"kernel\": 3, \"rate\": [1, 6], "
      + "\"op\": \"conv\", \"input\": -1}, {\"kernel\": 3, \"rate\": [18, 15], \"op\": \"conv\", "
      + "\"input\": 0}, {\"kernel\": 3, \"rate\": [6, 3], \"op\": \"conv\", \"input\": 1}, "
      + "{\"kernel\": 3, \"rate\": [1, 1], \"op\": \"conv\", \"input\": 0}, {\"kernel\": 3, "
      + "\"rate\": [6, 21], \"op\": \"conv\", \"input\": 0}]\n";

  /**
   * Xception-71 with the zoo's cell read from its JSON file has the variables the Python
   * reference lists for the xception71_dpc_cityscapes preset, and the preset's cell.
   */
  @Test
  void denseCellFromTheOfficialJsonFile(@TempDir Path dir) throws Exception {
    Path json = Files.writeString(dir.resolve("dense_prediction_cell_branch5_top1_cityscapes.json"),
        BRANCH5_TOP1_CITYSCAPES);
    StringWriter out = new StringWriter();
    CommandLine cli = DeepLabCli.commandLine().setOut(new PrintWriter(out));
    int code = cli.execute("inspect", "--variant", "xception_71", "--num-classes", "19",
        "--crop-size", "65", "--dense-prediction-cell-json", json.toString());
    assertEquals(0, code);
    List<String> lines = out.toString().lines().toList();
    assertEquals(Files.readAllLines(dev.deeplab.testing.TestData.resources(
        "manifests/xception71_dpc_cityscapes.txt")), lines.subList(0, lines.size() - 1));
    JsonNode report = inspectJson("--variant", "xception_71", "--crop-size", "65",
        "--dense-prediction-cell-json", json.toString());
    assertEquals(new ObjectMapper().valueToTree(DenseCellBranch.BRANCH5_TOP1_CITYSCAPES),
        report.path("config").path("dense_prediction_cell_json"));
  }

  @Test
  void badDenseCellJsonIsOneLineAndExitOne(@TempDir Path dir) throws Exception {
    String[][] cases = {
        {"[{\"kernel\": 3, \"rate\": [1, 6], \"op\": \"conv\", \"input\": -1}", "end-of-input"},
        {"[{\"kernel\": 3, \"rate\": [1, 6], \"op\": \"conv\", \"input\": -1, \"foo\": 1}]",
            "unknown key \"foo\""},
        {"[{\"kernel\": 2, \"rate\": [1, 6], \"op\": \"conv\", \"input\": -1}]", "odd"},
        {"[{\"kernel\": [3], \"rate\": [1, 6], \"op\": \"conv\", \"input\": -1}]",
            "kernel must be a size or [height, width], got [3] (line 1, column"},
        {"[{\"op\": \"max_pool\", \"input\": -1}]", "conv or pyramid_pooling"},
        {"[{\"kernel\": 3, \"rate\": [1, 6], \"op\": \"conv\", \"input\": 2}]", "reads branch 2"},
        {"{\"kernel\": 3}", "expected a JSON array of branches"},
        {"[]", "no branches"}};
    int i = 0;
    for (String[] c : cases) {
      Path json = Files.writeString(dir.resolve("cell" + i++ + ".json"), c[0]);
      StringWriter err = new StringWriter();
      CommandLine cli = DeepLabCli.commandLine().setOut(new PrintWriter(new StringWriter()))
          .setErr(new PrintWriter(err));
      int code = cli.execute("inspect", "--variant", "xception_41", "--crop-size", "65",
          "--dense-prediction-cell-json", json.toString());
      String message = err.toString();
      System.out.print(message);
      assertEquals(1, code, c[0] + ": " + message);
      assertEquals(1, message.strip().lines().count(), message);
      assertTrue(message.contains(c[1]), c[0] + ": " + message);
    }
    StringWriter err = new StringWriter();
    int code = DeepLabCli.commandLine().setErr(new PrintWriter(err)).execute("inspect",
        "--variant", "xception_41", "--dense-prediction-cell-json", dir.resolve("none").toString());
    assertEquals(1, code);
    assertTrue(err.toString().contains("no such file"), err.toString());
  }

  @Test
  void boundedActivationIsRecordedInTheConfig() throws Exception {
    JsonNode on = inspectJson("--variant", "xception_41", "--crop-size", "65",
        "--bounded-activation");
    assertTrue(on.path("config").path("use_bounded_activation").asBoolean(), on.toString());
    JsonNode off = inspectJson("--variant", "xception_41", "--crop-size", "65");
    assertTrue(off.path("config").path("use_bounded_activation").isMissingNode(), off.toString());
    // The variables are the same: only the activations change.
    assertEquals(off.path("variables"), on.path("variables"));
  }
}
