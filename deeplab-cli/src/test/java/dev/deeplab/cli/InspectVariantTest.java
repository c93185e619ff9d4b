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
 * {@code deeplab inspect --variant ...} prints one {@code name [d0,...]} line per variable and the
 * parameter total; both are checked against the manifest the Python reference wrote.
 */
class InspectVariantTest {

  @Test
  void mobilenetV2ListsTheManifestAndItsTotal() throws Exception {
    StringWriter out = new StringWriter();
    CommandLine cli = DeepLabCli.commandLine().setOut(new PrintWriter(out));
    int code = cli.execute("inspect", "--variant", "mobilenet_v2", "--output-stride", "16");
    assertEquals(0, code);
    List<String> lines = out.toString().lines().toList();
    List<String> manifest = Files.readAllLines(
        dev.deeplab.testing.TestData.resources("manifests/mobilenetv2_coco_voc.txt"));
    long total = 0;
    for (String line : manifest) {
      String shape = line.substring(line.indexOf('[') + 1, line.indexOf(']'));
      long n = 1;
      for (String d : shape.split(",")) {
        n *= Long.parseLong(d);
      }
      total += n;
    }
    assertEquals(manifest, lines.subList(0, lines.size() - 1));
    assertEquals("total parameters: " + total, lines.get(lines.size() - 1));
    assertTrue(total > 2_000_000 && total < 2_200_000, "MobileNetV2 DeepLabv3 has ~2.1M");
  }
}
