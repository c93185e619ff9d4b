package dev.deeplab.internal.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.TestModels;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ServingOptions;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;

/**
 * The multi-scale ensemble of the serving graph against its runs computed one by one: for each
 * scale a single-scale graph of its own ({@link ServingGraph#forScale}), the flipped image flipped
 * in Java and its probabilities flipped back in Java, the mean taken in Java ({@code
 * predict_labels_multi_scale}). For images that fit the crop the two agree to float rounding;
 * larger images are averaged at the size that fits the crop, so their outputs are checked for
 * consistency and bounded work instead.
 */
class MultiScaleServingTest {
  private static final List<Double> SCALES = List.of(0.5, 1.0, 1.5);

  @Test
  void ensembleEqualsItsRunsAveragedInJava() throws Exception {
    Path model = TestModels.small();
    ModelConfig config = SavedModels.readInfo(model).config();
    String weights = model.resolve("variables/variables").toString();
    RgbImage photo = new ImageReader().read(TestModels.resource("/dev/deeplab/photos/chelsea.png"),
        "chelsea.png");
    // Two crops of the photo that fit the 97x97 crop: odd and even sizes.
    List<RgbImage> images = List.of(crop(photo, 150, 60, 61, 47), crop(photo, 200, 80, 96, 64));
    int classes = config.numClasses();
    try (ServingGraph ensemble = ServingGraph.build(config,
            ServingOptions.defaults().withScales(SCALES, true), LabelSet.PASCAL_VOC);
        Session session = new Session(ensemble.graph())) {
      session.restore(weights);
      for (RgbImage image : images) {
        float[] want = new float[image.width() * image.height() * classes];
        for (double s : SCALES) {
          try (ServingGraph one = ServingGraph.forScale(config, s);
              Session run = new Session(one.graph())) {
            run.restore(weights);
            add(want, probabilities(run, one.images(), one.probabilities(), image));
            float[] mirrored = probabilities(run, one.images(), one.probabilities(),
                new RgbImage(image.width(), image.height(), flip(image.rgb(), image.width(),
                    image.height(), 3)));
            add(want, flip(mirrored, image.width(), image.height(), classes));
          }
        }
        for (int i = 0; i < want.length; i++) {
          want[i] /= 2 * SCALES.size();
        }
        float[] got = probabilities(session, ensemble.images(), ensemble.probabilities(), image);
        double maxError = 0;
        for (int i = 0; i < got.length; i++) {
          maxError = Math.max(maxError, Math.abs(got[i] - want[i]));
        }
        int[] ids = ids(session, ensemble, image);
        int differing = 0;
        for (int p = 0; p < ids.length; p++) {
          if (ids[p] != argmax(want, p, classes) && gap(want, p, classes) > 1e-5) {
            differing++;
          }
        }
        System.out.printf("%dx%d, scales %s + flip: max |ensemble - runs averaged in Java| %.2e, "
            + "%d ids differ outside near-ties%n", image.width(), image.height(), SCALES,
            maxError, differing);
        assertTrue(maxError <= 1e-5, "max error " + maxError);
        assertEquals(0, differing);
      }
      // An image larger than the crop: full-size outputs, ids the argmax of the average where
      // the bilinear map agrees with the nearest-neighbour ids (away from class borders).
      float[] p = probabilities(session, ensemble.images(), ensemble.probabilities(), photo);
      int[] ids = ids(session, ensemble, photo);
      assertEquals(photo.width() * photo.height(), ids.length);
      int agree = 0;
      for (int i = 0; i < ids.length; i++) {
        agree += ids[i] == argmax(p, i, classes) ? 1 : 0;
      }
      double share = agree / (double) ids.length;
      System.out.printf("%dx%d (larger than the crop): ids agree with the argmax of the "
          + "probabilities at %.4f of the pixels%n", photo.width(), photo.height(), share);
      assertTrue(share > 0.97, "agreement " + share);
    }
  }

  private static float[] probabilities(Session s, Operand<TUint8> in, Operand<TFloat32> out,
      RgbImage image) {
    try (TUint8 t = tensor(image); Result r = s.runner().feed(in, t).fetch(out).run()) {
      TFloat32 p = (TFloat32) r.get(0);
      float[] v = new float[Math.toIntExact(p.shape().size())];
      p.copyTo(DataBuffers.of(v, false, false));
      return v;
    }
  }

  private static int[] ids(Session s, ServingGraph g, RgbImage image) {
    try (TUint8 t = tensor(image);
        Result r = s.runner().feed(g.images(), t).fetch(g.semantic()).run()) {
      int[] v = new int[image.width() * image.height()];
      ((TInt32) r.get(0)).copyTo(DataBuffers.of(v, false, false));
      return v;
    }
  }

  private static TUint8 tensor(RgbImage image) {
    return TUint8.tensorOf(Shape.of(1, image.height(), image.width(), 3),
        DataBuffers.of(image.rgb(), true, false));
  }

  private static void add(float[] sum, float[] p) {
    for (int i = 0; i < sum.length; i++) {
      sum[i] += p[i];
    }
  }

  private static int argmax(float[] p, int pixel, int classes) {
    int best = 0;
    for (int c = 1; c < classes; c++) {
      if (p[pixel * classes + c] > p[pixel * classes + best]) {
        best = c;
      }
    }
    return best;
  }

  private static double gap(float[] p, int pixel, int classes) {
    float first = Float.NEGATIVE_INFINITY;
    float second = Float.NEGATIVE_INFINITY;
    for (int c = 0; c < classes; c++) {
      float v = p[pixel * classes + c];
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) {
        second = v;
      }
    }
    return first - second;
  }

  /** Mirrors each row of an interleaved {@code [h, w, channels]} array. */
  private static byte[] flip(byte[] a, int w, int h, int channels) {
    byte[] out = new byte[a.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        System.arraycopy(a, (y * w + x) * channels, out, (y * w + w - 1 - x) * channels,
            channels);
      }
    }
    return out;
  }

  private static float[] flip(float[] a, int w, int h, int channels) {
    float[] out = new float[a.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        System.arraycopy(a, (y * w + x) * channels, out, (y * w + w - 1 - x) * channels,
            channels);
      }
    }
    return out;
  }

  private static RgbImage crop(RgbImage image, int x0, int y0, int w, int h) {
    byte[] out = new byte[w * h * 3];
    for (int y = 0; y < h; y++) {
      System.arraycopy(image.rgb(), ((y0 + y) * image.width() + x0) * 3, out, y * w * 3, w * 3);
    }
    return new RgbImage(w, h, out);
  }
}
