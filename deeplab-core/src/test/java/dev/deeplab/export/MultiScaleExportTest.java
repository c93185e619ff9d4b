package dev.deeplab.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.VocDataset;
import dev.deeplab.eval.ConfusionMatrix;
import dev.deeplab.eval.Evaluator;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.ServingOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official multi-scale and flipped inference baked into an export ({@code export
 * --inference-scales ... --flip}) equals {@code eval --scales ... --flip} on the same model: the
 * export, written and loaded back as a SavedModel, against the evaluator's graph built afresh with
 * the weights restored by name. Same probabilities, same class ids, same scores on voc-mini. The
 * ensemble's arithmetic is checked run by run in {@code MultiScaleServingTest}.
 */
class MultiScaleExportTest {
  private static final Path VOC_MINI = dev.deeplab.testing.TestData.vocMini();
  private static final List<Double> SCALES = List.of(0.5, 0.75, 1.0, 1.25);

  @Test
  void exportEqualsEvaluatorOnProbabilitiesIdsAndScores(@TempDir Path tmp) throws Exception {
    Path plain = TestModels.small();
    Path multi = ModelExporter.reexport(plain, tmp.resolve("multi"), OptionalLong.empty(),
        ServingOptions.defaults().withScales(SCALES, true));
    assertEquals(SCALES, SavedModels.readInfo(multi).serving().inferenceScales());
    assertTrue(SavedModels.readInfo(multi).serving().flip());

    VocDataset voc = new VocDataset(VOC_MINI, "val");
    List<RgbImage> images = new ArrayList<>();
    for (VocDataset.Sample s : voc.samples()) {
      images.add(voc.load(s, 21, 255).image());
    }
    RgbImage photo = images.get(0);
    images.add(new RgbImage(61, 47, crop(photo, 61, 47)));

    ConfusionMatrix evaluated = new ConfusionMatrix(21, 255);
    ConfusionMatrix exported = new ConfusionMatrix(21, 255);
    try (Evaluator eval = Evaluator.open(plain, SCALES, true);
        Segmenter served = Segmenter.load(multi);
        Evaluator evalOfExport = Evaluator.open(multi, List.of(1.0), false)) {
      for (RgbImage image : images) {
        float[] want = eval.probabilities(image);
        Segmentation got = served.segmentWithProbabilities(image);
        float[] p = got.probabilities();
        double maxError = 0;
        for (int i = 0; i < p.length; i++) {
          maxError = Math.max(maxError, Math.abs(p[i] - want[i]));
        }
        int[] ids = eval.predict(image);
        int[] gotIds = got.classIds();
        int differing = 0;
        for (int i = 0; i < ids.length; i++) {
          if (ids[i] != gotIds[i] && gap(want, i, 21) > 2e-5) {
            differing++;
          }
        }
        System.out.printf("%dx%d: max |p export - p eval| %.2e, %d ids differ outside near-ties%n",
            image.width(), image.height(), maxError, differing);
        assertTrue(maxError <= 1e-5, "probabilities differ by " + maxError);
        assertEquals(0, differing);
      }
      for (VocDataset.Sample s : voc.samples()) {
        VocDataset.LoadedSample loaded = voc.load(s, 21, 255);
        evaluated.add(loaded.label().toIntArray(), eval.predict(loaded.image()));
        exported.add(loaded.label().toIntArray(), evalOfExport.predict(loaded.image()));
      }
    }
    System.out.printf("voc-mini mIoU: eval --scales %s --flip %.6f, the export %.6f%n", SCALES,
        evaluated.meanIou(), exported.meanIou());
    assertEquals(evaluated.meanIou(), exported.meanIou(), 1e-9);
    assertEquals(evaluated.pixelAccuracy(), exported.pixelAccuracy(), 1e-9);
  }

  /** Top-1 minus top-2 probability at pixel {@code i}. */
  private static double gap(float[] p, int i, int classes) {
    float first = Float.NEGATIVE_INFINITY;
    float second = Float.NEGATIVE_INFINITY;
    for (int c = 0; c < classes; c++) {
      float v = p[i * classes + c];
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) {
        second = v;
      }
    }
    return first - second;
  }

  private static byte[] crop(RgbImage image, int w, int h) {
    byte[] out = new byte[w * h * 3];
    for (int y = 0; y < h; y++) {
      System.arraycopy(image.rgb(), (y * image.width()) * 3, out, y * w * 3, w * 3);
    }
    return out;
  }
}
