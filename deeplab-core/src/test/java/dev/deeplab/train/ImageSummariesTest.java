package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.internal.train.Batch;
import dev.deeplab.internal.train.InputPipeline;
import dev.deeplab.model.LabelSet;
import dev.deeplab.testing.EventFiles;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/**
 * Image summaries during training: at the chosen steps only, the first image of the step's batch,
 * its label and the step's prediction, in the label set's colours, decoded back from the event
 * file and compared pixel by pixel with the batch (rebuilt by the input pipeline, a pure function
 * of the step) and the prediction the step returned.
 */
class ImageSummariesTest {
  @TempDir Path tmp;

  @Test
  void writesImageLabelAndPredictionOfTheFirstImage() throws Exception {
    int crop = 65;
    TrainConfig config = TrainConfig.builder(TinyModels.mobilenet(crop)).steps(3).batchSize(2)
        .baseLearningRate(0.01).seed(5).build();
    // voc-mini at the crop size, so that the crops show objects, not only background
    VocDataset data = new VocDataset(VocMini.downscaled(tmp.resolve("voc"), crop), "train");
    Map<Long, int[]> predictions = new HashMap<>();
    new Trainer(config, Trainer.Options.defaults(tmp.resolve("run")).withCheckpointEvery(0)
        .withImageSummariesEvery(2).withLabels(LabelSet.PASCAL_VOC))
        .onStep((g, r) -> predictions.put(r.step(), r.samplePrediction()))
        .train(data, null, null);
    assertNull(predictions.get(1L));
    assertNotNull(predictions.get(2L));
    assertNull(predictions.get(3L));

    Map<String, BufferedImage> images = new HashMap<>();
    for (Event e : EventFiles.readDirectory(tmp.resolve("run"))) {
      for (Summary.Value v : e.getSummary().getValueList()) {
        if (v.hasImage()) {
          assertEquals(2, e.getStep(), v.getTag());
          Summary.Image image = v.getImage();
          assertEquals(crop, image.getWidth());
          assertEquals(crop, image.getHeight());
          assertEquals(3, image.getColorspace());
          images.put(v.getTag(), ImageIO.read(
              new ByteArrayInputStream(image.getEncodedImageString().toByteArray())));
        }
      }
    }
    assertEquals(java.util.Set.of("samples/image", "samples/label", "samples/prediction"),
        images.keySet());

    Batch batch;
    try (InputPipeline input = new InputPipeline(data, config, false, 1, 1)) {
      batch = input.batch(1);
    }
    int[] palette = LabelSet.PASCAL_VOC.palette();
    int[] prediction = predictions.get(2L);
    int labelled = 0;
    for (int y = 0; y < crop; y++) {
      for (int x = 0; x < crop; x++) {
        int i = y * crop + x;
        int rgb = 0;
        for (int c = 0; c < 3; c++) {
          rgb = rgb << 8 | Math.round(batch.pixels()[i * 3 + c]);
        }
        assertEquals(rgb, images.get("samples/image").getRGB(x, y) & 0xFFFFFF,
            "image " + x + "," + y);
        int label = batch.labels()[i] & 0xFF;
        labelled += label != 0 && label != 255 ? 1 : 0;
        assertEquals(palette[label], images.get("samples/label").getRGB(x, y) & 0xFFFFFF,
            "label " + x + "," + y);
        assertEquals(palette[prediction[i]],
            images.get("samples/prediction").getRGB(x, y) & 0xFFFFFF, "prediction " + x + "," + y);
      }
    }
    System.out.println("image summaries: " + labelled + " object pixels in the sample label");
    assertTrue(labelled > 0, "the sample shows no object");
  }
}
