package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.torch.TorchNetworks;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.testing.PthWriter;
import dev.deeplab.train.VocMini;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deeplab train --init-from FILE.pth --arch ARCH}: two steps of VainF's DeepLabV3+
 * MobileNetV2 from a seeded state dict on voc-mini at 97×97, exported as a SavedModel of the
 * PyTorch network that segments at the image's size; the architecture mistakes give one line
 * (the training itself is checked by {@code TorchFineTuneTest}).
 */
class TrainPytorchTest {
  @TempDir
  Path tmp;

  @Test
  void finetunesAPytorchFileAndExports() throws Exception {
    Path pth = tmp.resolve("vainf.pth");
    PthWriter.write(pth, PthWriter.seededStateDict(
        TorchNetworks.config(ModelVariant.VAINF_DEEPLABV3PLUS_MOBILENET, 21, 97), 5));
    Path data = VocMini.downscaled(tmp.resolve("voc97"), 97);
    Path export = tmp.resolve("exported");
    CliReliabilityTest.Run r = CliReliabilityTest.run("train", "--init-from", pth.toString(),
        "--arch", "vainf_deeplabv3plus_mobilenet", "--data", data.toString(), "--crop-size", "97",
        "--batch-size", "2", "--steps", "2", "--checkpoint-dir", tmp.resolve("run").toString(),
        "--export", export.toString());
    System.out.print("train --arch: " + r.out());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("trained steps 0..2"), r.out());
    Path model = SavedModels.resolve(export);
    ModelConfig served = SavedModels.readInfo(model).config();
    assertEquals(ModelVariant.VAINF_DEEPLABV3PLUS_MOBILENET, served.variant());
    assertEquals(1024, served.cropHeight());
    try (Segmenter s = Segmenter.load(model)) {
      Segmentation seg = s.segment(data.resolve("JPEGImages").resolve(
          Files.list(data.resolve("JPEGImages")).findFirst().orElseThrow().getFileName()));
      assertEquals(97, seg.width());
      assertEquals(97, seg.height());
    }
  }

  @Test
  void architectureMistakesAreOneLine() throws Exception {
    Path pth = tmp.resolve("x.pth");
    Files.write(pth, new byte[] {1});
    String[] common = {"train", "--init-from", pth.toString(), "--data",
        VocMini.root().toString(), "--crop-size", "65", "--steps", "1", "--batch-size", "1",
        "--checkpoint-dir", tmp.resolve("run").toString()};
    assertRefused(CliReliabilityTest.run(common), "--arch is required with a PyTorch --init-from");
    assertRefused(CliReliabilityTest.run(concat(common, "--arch", "resnet_v1_50")),
        "--arch resnet_v1_50 is not a PyTorch network");
    assertRefused(CliReliabilityTest.run(concat(common, "--arch",
        "torchvision_deeplabv3_resnet50", "--variant", "mobilenet_v2")),
        "give --arch or --variant/--preset, not both");
    assertRefused(CliReliabilityTest.run(concat(common, "--arch",
        "torchvision_deeplabv3_resnet50", "--output-stride", "16")), "has output stride 8 only");
    assertFalse(Files.exists(tmp.resolve("run").resolve("checkpoint")));
  }

  private static void assertRefused(CliReliabilityTest.Run r, String expected) {
    assertEquals(2, r.code(), r.err());
    String first = r.err().lines().findFirst().orElse("");
    assertTrue(first.contains(expected), r.err());
    assertFalse(r.hasStackTrace(), r.err());
  }

  private static String[] concat(String[] a, String... b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
