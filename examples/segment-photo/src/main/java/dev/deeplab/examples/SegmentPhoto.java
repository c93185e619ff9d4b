package dev.deeplab.examples;

import dev.deeplab.image.ImageReader;
import dev.deeplab.image.MaskWriter;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.SegmentationException;
import dev.deeplab.infer.Segmenter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Segments one photo with the pretrained DeepLab model that ships in the library, prints the
 * classes it found with their share of the pixels ({@code dog 15.1%}), and writes the class mask
 * as a palette PNG (pixel value = class id, PASCAL VOC colours).
 *
 * <pre>
 * java -cp ... dev.deeplab.examples.SegmentPhoto pets.jpg pets_mask.png
 * </pre>
 *
 * <p>Exits 1 with a one-line message if the photo cannot be read or the mask cannot be written.
 */
public final class SegmentPhoto {
  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: SegmentPhoto PHOTO MASK.png");
      System.exit(1);
    }
    try {
      // Read the photo first: a missing or broken file fails fast, before the model loads.
      RgbImage photo = new ImageReader().read(Path.of(args[0]));
      // The model is unpacked once into $DEEPLAB_CACHE (default ~/.cache/deeplab), then loaded.
      try (Segmenter segmenter = Segmenter.pretrained()) {
        Segmentation result = segmenter.segment(photo);
        List<String> names = segmenter.info().classNames();
        double[] shares = result.classShares();
        for (int id = 0; id < shares.length; id++) {
          if (shares[id] > 0) {
            System.out.printf("%s %.1f%%%n", names.get(id), 100 * shares[id]);
          }
        }
        Path mask = Path.of(args[1]);
        MaskWriter.writeMask(mask, result.toLabelMap(), segmenter.info().labels().palette());
        System.out.printf("wrote %s (%dx%d)%n", mask, result.width(), result.height());
      }
    } catch (IOException | SegmentationException e) {
      System.err.println("SegmentPhoto: " + e.getMessage());
      System.exit(1);
    }
  }
}
