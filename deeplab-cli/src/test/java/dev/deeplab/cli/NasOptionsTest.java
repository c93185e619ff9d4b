package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The NAS backbones from the command line: {@code inspect} lists the variables the Python
 * reference wrote for the golden case of the same network (whose logits GoldenParityTest checks),
 * and settings the official network cannot run are usage errors naming the cause.
 */
class NasOptionsTest {

  private static List<String> inspect(String... options) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = DeepLabCli.commandLine().setOut(new PrintWriter(out))
        .setErr(new PrintWriter(err));
    String[] args = new String[options.length + 1];
    args[0] = "inspect";
    System.arraycopy(options, 0, args, 1, options.length);
    assertEquals(0, cli.execute(args), err.toString());
    List<String> lines = out.toString().lines().toList();
    return lines.subList(0, lines.size() - 1);
  }

  private static List<String> manifest(String goldenCase) throws Exception {
    return Files.readAllLines(dev.deeplab.testing.TestData.resources(
        "golden/" + goldenCase + "/variables.txt"));
  }

  @Test
  void pnasnetWithTheClassificationHeadListsTheReferenceManifest() throws Exception {
    assertEquals(manifest("nas_pnasnet_f8_os32_head_65"), inspect("--variant", "nas_pnasnet",
        "--output-stride", "32", "--no-decoder", "--num-classes", "3", "--crop-size", "65",
        "--nas-stem-output-num-conv-filters", "8", "--nas-classification-head"));
  }

  @Test
  void hnasnetWithoutTheOs32StrideListsTheReferenceManifest() throws Exception {
    assertEquals(manifest("nas_hnasnet_f8_os8_remove32_65"), inspect("--variant", "nas_hnasnet",
        "--output-stride", "8", "--no-decoder", "--num-classes", "3", "--crop-size", "65",
        "--nas-stem-output-num-conv-filters", "8", "--nas-remove-os32-stride"));
  }

  @Test
  void unreachableStridesAndCropsAreUsageErrors() {
    String[][] bad = {
        // hnasnet's cells end at stride 8: 16 needs the classification head
        {"--variant", "nas_hnasnet", "--output-stride", "16", "--no-nas-classification-head"},
        // its resizes (2d-1) give 7 rows where 8 are expected from a crop of 64
        {"--variant", "nas_hnasnet", "--output-stride", "8", "--crop-size", "64"},
        // pnasnet's stride-32 cells at 16 while the head expects 32
        {"--variant", "nas_pnasnet", "--output-stride", "32", "--nas-remove-os32-stride"},
        {"--variant", "nas_pnasnet", "--nas-stem-output-num-conv-filters", "0"}};
    for (String[] options : bad) {
      StringWriter err = new StringWriter();
      CommandLine cli = DeepLabCli.commandLine().setOut(new PrintWriter(new StringWriter()))
          .setErr(new PrintWriter(err));
      String[] args = new String[options.length + 1];
      args[0] = "inspect";
      System.arraycopy(options, 0, args, 1, options.length);
      assertEquals(2, cli.execute(args), String.join(" ", options));
      // the message, then picocli's usage
      String message = err.toString().lines().findFirst().orElse("");
      assertTrue(message.startsWith("deeplab inspect: nas"), err.toString());
    }
  }
}
