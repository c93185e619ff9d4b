package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code deeplabv2_resnet101} preset (DeepLabv2's ASPP-sum head on ResNet-101, Chen et al.,
 * TPAMI 2017) through the command line, against what the Python reference ({@code
 * tools/reference/deeplab_reference.py}, the head written from the DeepLabv2 ResNet-101 prototxt)
 * wrote: {@code inspect} lists the preset's variables as its manifest does, and a checkpoint of
 * the reference's formula weights, exported at the 96×96 crop of the golden case {@code
 * deeplabv2_resnet_v1_101_os8_96} and run by {@code segment} on the reference's input image,
 * gives the reference's class ids.
 *
 * <p>The second test takes about 10 s (at a load of 12 on 2 cores: writing ResNet-101's 44
 * million formula weights 4 s, the export 4.5 s, segment 2 s); it is the only test of the
 * preset's command-line path from a checkpoint to class ids.
 */
class DeepLabV2PresetTest {
  private static final String PRESET = "deeplabv2_resnet101";
  private static final String GOLDEN = "golden/deeplabv2_resnet_v1_101_os8_96/";

  @Test
  void inspectListsTheManifestAndTheHead() throws Exception {
    List<String> manifest = PresetGolden.assertInspectListsManifest(PRESET);
    // Four 3x3 logits convolutions at rates 6, 12, 18, 24, with biases, and nothing else in the
    // head: no 1x1 ASPP branch, image pooling, batch norm or decoder.
    assertEquals(8, manifest.stream().filter(l -> l.startsWith("logits/semantic")).count());
    assertTrue(manifest.stream().allMatch(l -> l.startsWith("logits/semantic")
        || l.startsWith("resnet_v1_101/")), "only the backbone and the logits branches");

    CliReliabilityTest.Run json = CliReliabilityTest.run("inspect", "--json", "--preset", PRESET);
    assertEquals(0, json.code(), json.err());
    JsonNode config = new ObjectMapper().readTree(json.out()).path("config");
    assertEquals("resnet_v1_101", config.path("variant").asText());
    assertEquals(8, config.path("output_stride").asInt());
    assertEquals("[6,12,18,24]", config.path("atrous_rates").toString());
    assertEquals(3, config.path("logits_kernel_size").asInt());
    assertEquals(false, config.path("aspp_with_batch_norm").asBoolean(true));
    assertEquals(false, config.path("image_pooling").asBoolean(true));
    assertEquals(0, config.path("decoder_output_stride").asInt(-1));
  }

  @Test
  void exportedFormulaWeightsSegmentAsTheReference(@TempDir Path dir) throws Exception {
    PresetGolden.assertSegmentsAsReference(dir, PRESET, 96, GOLDEN);
  }
}
