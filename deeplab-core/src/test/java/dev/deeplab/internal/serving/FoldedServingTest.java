package dev.deeplab.internal.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deeplab.image.RgbImage;
import dev.deeplab.image.TestImages;
import dev.deeplab.infer.TestModels;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A SavedModel exported with batch norm folded into constant weights ({@code export
 * --fold-batch-norm}) keeps the serving contract of {@link ServingContractTest}: called as TF
 * Serving calls it, {@code serving_default} gives the same palette PNGs and {@code predict_images}
 * the same class ids as the export that reads its variables (the pretrained weights at a 97
 * crop).
 */
class FoldedServingTest {

  @Test
  void foldedExportServesTheSameMasks(@TempDir Path tmp) throws Exception {
    Path folded = SavedModelWriter.reexport(TestModels.small(), tmp.resolve("folded"),
        OptionalLong.empty(), null, true);
    BufferedImage photo = ImageIO.read(new ByteArrayInputStream(
        TestModels.resource("/dev/deeplab/photos/chelsea.png")));
    List<BufferedImage> images = List.of(photo, photo.getSubimage(120, 40, 61, 47));
    List<byte[]> encoded = images.stream().map(i -> TestImages.encode(i, "png")).toList();
    try (ServedModel current = new ServedModel(TestModels.small());
        ServedModel foldedModel = new ServedModel(folded)) {
      assertEquals(current.signatures().keySet(), foldedModel.signatures().keySet());
      List<byte[]> want = current.pngs(encoded);
      List<byte[]> got = foldedModel.pngs(encoded);
      assertEquals(want.size(), got.size());
      for (int i = 0; i < want.size(); i++) {
        assertArrayEquals(want.get(i), got.get(i), "mask PNG of image " + i);
      }
      RgbImage pixels = RgbImage.of(photo);
      assertArrayEquals(current.ids(pixels.rgb(), pixels.width(), pixels.height()),
          foldedModel.ids(pixels.rgb(), pixels.width(), pixels.height()), "predict_images");
    }
  }
}
