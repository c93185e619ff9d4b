package dev.deeplab.internal.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.DatasetException;
import dev.deeplab.data.VocDataset;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.RgbImage;
import dev.deeplab.train.Augmentation;
import dev.deeplab.train.TinyModels;
import dev.deeplab.train.TrainConfig;
import dev.deeplab.train.VocMini;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The input pipeline: official augmentation, determinism, epochs, bad samples. */
class InputPipelineTest {
  @TempDir Path tmp;

  private static TrainConfig config(int crop, int batch, Augmentation aug, long seed) {
    return TrainConfig.builder(TinyModels.mobilenet(crop)).steps(100).batchSize(batch)
        .augmentation(aug).seed(seed).build();
  }

  @Test
  void officialScalesAreTheDiscreteLinspace() {
    assertEquals(List.of(0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0), Augmentation.official().scales());
    assertEquals(List.of(1.0), Augmentation.none().scales());
  }

  @Test
  void identityWithoutAugmentationWhenImageFitsTheCrop() {
    RgbImage img = new RgbImage(3, 2, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
        15, 16, 17, 18});
    LabelMap lab = new LabelMap(3, 2, new byte[] {0, 1, 2, 3, 4, 5});
    float[] px = new float[3 * 2 * 3];
    byte[] lb = new byte[6];
    Augmenter.augment(img, lab, Augmentation.none(), 2, 3, new float[] {127.5f, 127.5f, 127.5f},
        255, new SplittableRandom(1), px, 0, lb, 0);
    for (int i = 0; i < px.length; i++) {
      assertEquals(i + 1, px[i], 0f);
    }
    assertArrayEquals(new byte[] {0, 1, 2, 3, 4, 5}, lb);
  }

  @Test
  void padsWithMeanPixelAndIgnoreLabelAndFlips() {
    RgbImage img = new RgbImage(2, 1, new byte[] {10, 20, 30, 40, 50, 60});
    LabelMap lab = new LabelMap(2, 1, new byte[] {1, 2});
    float[] mean = {127.5f, 127.5f, 127.5f};
    Set<String> seen = new HashSet<>();
    for (int seed = 0; seed < 40; seed++) {
      float[] px = new float[3 * 3 * 3];
      byte[] lb = new byte[9];
      Augmenter.augment(img, lab, new Augmentation(1, 1, 0, true), 3, 3, mean, 255,
          new SplittableRandom(seed), px, 0, lb, 0);
      // the padded crop holds the two pixels in its first row, in either order
      boolean flipped = lb[0] == -1;
      if (flipped) {
        assertArrayEquals(new byte[] {-1, 2, 1, -1, -1, -1, -1, -1, -1}, lb);
        assertEquals(127.5f, px[0]);
        assertEquals(40f, px[3]);
        assertEquals(10f, px[6]);
      } else {
        assertArrayEquals(new byte[] {1, 2, -1, -1, -1, -1, -1, -1, -1}, lb);
        assertEquals(10f, px[0]);
        assertEquals(60f, px[5]);
        assertEquals(127.5f, px[6]);
      }
      seen.add(flipped ? "flipped" : "plain");
    }
    assertEquals(Set.of("flipped", "plain"), seen, "both flips occur");
  }

  @Test
  void scalingUsesAlignCornersBilinearAndNearest() {
    // 2x2 image scaled by 2 -> 4x4; align corners maps 0..3 onto 0..1 in steps of 1/3
    RgbImage img = new RgbImage(2, 2, new byte[] {0, 0, 0, 90, 90, 90, 0, 0, 0, 90, 90, 90});
    LabelMap lab = new LabelMap(2, 2, new byte[] {3, 7, 3, 7});
    float[] px = new float[4 * 4 * 3];
    byte[] lb = new byte[16];
    Augmenter.augment(img, lab, new Augmentation(2, 2, 0, false), 4, 4, new float[3], 255,
        new SplittableRandom(0), px, 0, lb, 0);
    assertEquals(0f, px[0], 1e-4);
    assertEquals(30f, px[3], 1e-4);
    assertEquals(60f, px[6], 1e-4);
    assertEquals(90f, px[9], 1e-4);
    assertArrayEquals(new byte[] {3, 3, 7, 7}, new byte[] {lb[0], lb[1], lb[2], lb[3]});
  }

  @Test
  void batchesAreDeterministicAndIndependentOfWorkersAndStart() throws Exception {
    VocDataset data = new VocDataset(VocMini.root(), "train");
    TrainConfig c = config(65, 3, Augmentation.official(), 9);
    List<Batch> a = new ArrayList<>();
    try (InputPipeline p = new InputPipeline(data, c, false, 1, 1)) {
      p.start(0, 6);
      for (int i = 0; i < 6; i++) {
        a.add(p.next());
      }
    }
    try (InputPipeline p = new InputPipeline(data, c, false, 3, 5)) {
      p.start(2, 6);
      for (int i = 2; i < 6; i++) {
        Batch b = p.next();
        assertEquals(i, b.step());
        assertEquals(a.get(i).ids(), b.ids());
        assertArrayEquals(a.get(i).pixels(), b.pixels());
        assertArrayEquals(a.get(i).labels(), b.labels());
      }
    }
    // 4 samples, batch 3: each epoch visits every sample once, in a seeded shuffled order
    List<String> order = new ArrayList<>();
    a.forEach(b -> order.addAll(b.ids()));
    for (int e = 0; e < 4; e++) {
      assertEquals(4, new HashSet<>(order.subList(4 * e, 4 * e + 4)).size(), "epoch " + e);
    }
    try (InputPipeline p = new InputPipeline(data, config(65, 3, Augmentation.official(), 10),
        false, 1, 1)) {
      assertNotEquals(order.subList(0, 12), ids(p, 4), "another seed, another order");
    }
  }

  private static List<String> ids(InputPipeline p, int steps) throws Exception {
    List<String> out = new ArrayList<>();
    p.start(0, steps);
    for (int i = 0; i < steps; i++) {
      out.addAll(p.next().ids());
    }
    return out.subList(0, 12);
  }

  @Test
  void badSamplesStopTrainingUnlessSkipped() throws Exception {
    Path root = VocMini.downscaled(tmp.resolve("d"), 33);
    Files.writeString(root.resolve("JPEGImages/voc_val_0001.png"), "not an image");
    VocDataset data = new VocDataset(root, "train");
    TrainConfig c = config(33, 4, Augmentation.none(), 1);
    try (InputPipeline p = new InputPipeline(data, c, false, 1, 1)) {
      p.start(0, 1);
      DatasetException e = assertThrows(DatasetException.class, p::next);
      assertTrue(e.getMessage().contains("voc_val_0001") && e.getMessage().contains("--skip-bad-samples"),
          e.getMessage());
    }
    try (InputPipeline p = new InputPipeline(data, c, true, 1, 1)) {
      p.start(0, 2);
      Batch b = p.next();
      assertTrue(!b.ids().contains("voc_val_0001"));
      assertEquals(4, b.ids().size());
      assertEquals(Set.of("voc_val_0001"), p.skippedSamples());
    }
  }
}
