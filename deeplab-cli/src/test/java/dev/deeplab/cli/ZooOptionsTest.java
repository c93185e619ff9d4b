package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;
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
