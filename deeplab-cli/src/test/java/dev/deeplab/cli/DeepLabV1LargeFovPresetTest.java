package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.train.VocMini;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code deeplabv1_largefov_vgg16} preset (DeepLab-LargeFOV, Chen et al., ICLR 2015: VGG-16
 * with atrous fc6) through the command line, against what the Python reference ({@code
 * tools/reference/deeplab_net.deeplab_largefov}, written from the released prototxt in Caffe's
 * terms) wrote: {@code inspect} lists the preset's variables as its manifest does; a checkpoint
 * of the reference's formula weights, exported at the 97×97 crop of the golden case {@code
 * deeplab_largefov_vgg_16_97} and run by {@code segment} on the reference's input image, gives
 * the reference's class ids; {@code train --variant vgg_16} runs a step from scratch.
 */
class DeepLabV1LargeFovPresetTest {
  private static final String PRESET = "deeplabv1_largefov_vgg16";
  private static final String GOLDEN = "golden/deeplab_largefov_vgg_16_97/";

  @Test
  void inspectListsTheManifestAndTheHead() throws Exception {
    List<String> manifest = PresetGolden.assertInspectListsManifest(PRESET);
    // Thirteen 3x3 convs, fc6 (3x3 to 1024) and fc7 (1x1 to 1024) with biases, and fc8 as the
    // one 1x1 logits conv: no ASPP, image pooling, batch norm or decoder.
    assertEquals(2, manifest.stream().filter(l -> l.startsWith("logits/semantic/")).count());
    assertEquals(30, manifest.stream().filter(l -> l.startsWith("vgg_16/")).count());
    assertEquals(32, manifest.size());
    assertTrue(manifest.contains("vgg_16/fc6/weights [3,3,512,1024]"), manifest.toString());

    CliReliabilityTest.Run json = CliReliabilityTest.run("inspect", "--json", "--preset", PRESET);
    assertEquals(0, json.code(), json.err());
    JsonNode config = new ObjectMapper().readTree(json.out()).path("config");
    assertEquals("vgg_16", config.path("variant").asText());
    assertEquals(8, config.path("output_stride").asInt());
    assertEquals("[]", config.path("atrous_rates").toString());
    assertEquals(false, config.path("aspp_with_batch_norm").asBoolean(true));
    assertEquals(false, config.path("image_pooling").asBoolean(true));
    assertEquals(0, config.path("decoder_output_stride").asInt(-1));
  }

  @Test
  void exportedFormulaWeightsSegmentAsTheReference(@TempDir Path dir) throws Exception {
    PresetGolden.assertSegmentsAsReference(dir, PRESET, 97, GOLDEN);
  }

  /**
   * {@code train --variant vgg_16} (output stride 8 without being told) from scratch: one step
   * of batch 1 on voc-mini at 33×33 writes a checkpoint; {@code --output-stride 16} is one line.
   * (One step, as small crops are dear here: fc6's rate-12 conv runs on its 144 phases whatever
   * the map's size, 144 outputs per image where the 5×5 map has 25.)
   */
  @Test
  void trainsAStepFromScratch(@TempDir Path dir) throws Exception {
    Path data = VocMini.downscaled(dir.resolve("voc33"), 33);
    Path run = dir.resolve("run");
    CliReliabilityTest.Run r = CliReliabilityTest.run("train", "--variant", "vgg_16",
        "--data", data.toString(), "--crop-size", "33", "--batch-size", "1", "--steps", "1",
        "--checkpoint-dir", run.toString());
    System.out.print("train --variant vgg_16: " + r.out());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("trained steps 0..1"), r.out());
    assertTrue(Files.exists(run.resolve("checkpoint")), "no checkpoint written");

    CliReliabilityTest.Run refused = CliReliabilityTest.run("train", "--variant", "vgg_16",
        "--output-stride", "16", "--data", data.toString(), "--crop-size", "33",
        "--batch-size", "2", "--steps", "2", "--checkpoint-dir", dir.resolve("run16").toString());
    assertEquals(2, refused.code(), refused.err());
    assertTrue(refused.err().lines().findFirst().orElse("").contains("output stride 8"),
        refused.err());
    assertFalse(refused.hasStackTrace(), refused.err());
  }
}
