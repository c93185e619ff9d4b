package dev.deeplab.internal.train;

import dev.deeplab.image.LabelMap;
import dev.deeplab.image.MaskWriter;
import dev.deeplab.image.RgbImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * Image summaries of a training step, as the official {@code train.py} writes them with {@code
 * --save_summaries_images}: the first image of the batch ({@value #IMAGE}), its label ({@value
 * #LABEL}) and the step's prediction for it ({@value #PREDICTION}). Unlike the official grey
 * levels ({@code label * (255 // num_classes)}), labels and predictions are drawn in the colours
 * of the run's label set, the ignore label included.
 */
public final class SampleImages {
  public static final String IMAGE = "samples/image";
  public static final String LABEL = "samples/label";
  public static final String PREDICTION = "samples/prediction";

  private SampleImages() {}

  /**
   * Writes the three images of {@code batch}'s first image at {@code step}.
   *
   * @param prediction its class ids, row-major at the crop size
   * @param palette colours {@code 0xRRGGBB} by class id, 256 entries
   */
  public static void write(TensorBoardWriter events, long step, Batch batch, int[] prediction,
      int[] palette) throws IOException {
    int h = batch.height();
    int w = batch.width();
    byte[] rgb = new byte[h * w * 3];
    float[] pixels = batch.pixels();
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = (byte) Math.round(Math.max(0f, Math.min(255f, pixels[i])));
    }
    ByteArrayOutputStream png = new ByteArrayOutputStream();
    if (!ImageIO.write(new RgbImage(w, h, rgb).toBufferedImage(), "png", png)) {
      throw new IOException("no PNG encoder in this JVM");
    }
    byte[] labels = java.util.Arrays.copyOf(batch.labels(), h * w);
    events.image(IMAGE, step, w, h, 3, png.toByteArray());
    events.image(LABEL, step, w, h, 3, MaskWriter.encodeMask(new LabelMap(w, h, labels), palette));
    events.image(PREDICTION, step, w, h, 3,
        MaskWriter.encodeMask(LabelMap.ofInts(w, h, prediction), palette));
  }
}
