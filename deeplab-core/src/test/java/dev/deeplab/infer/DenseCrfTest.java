package dev.deeplab.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.RgbImage;
import org.junit.jupiter.api.Test;

/** {@link DenseCrf} on cases whose answer follows by hand from the mean-field update. */
class DenseCrfTest {
  private static RgbImage uniform(int w, int h, int rgb) {
    byte[] b = new byte[w * h * 3];
    for (int i = 0; i < w * h; i++) {
      b[3 * i] = (byte) (rgb >> 16);
      b[3 * i + 1] = (byte) (rgb >> 8);
      b[3 * i + 2] = (byte) rgb;
    }
    return new RgbImage(w, h, b);
  }

  /** Two classes: {@code p(class 0)} per pixel. */
  private static float[] twoClasses(double[] p0) {
    float[] p = new float[2 * p0.length];
    for (int i = 0; i < p0.length; i++) {
      p[2 * i] = (float) p0[i];
      p[2 * i + 1] = (float) (1 - p0[i]);
    }
    return p;
  }

  @Test
  void smoothsASingleFlippedPixelOfAUniformImage() {
    int w = 15;
    int h = 11;
    double[] p0 = new double[w * h];
    java.util.Arrays.fill(p0, 0.95);
    int flipped = 5 * w + 7;
    p0[flipped] = 0.4;
    float[] q = DenseCrf.deepLabV2().marginals(uniform(w, h, 0x808080), twoClasses(p0), 2);
    // At the flipped pixel the messages A(0), S(0) are near 1 (its neighbours are class 0):
    // Q(1)/Q(0) = (0.6/0.4) exp(-(4 + 3)(A(0) - A(1))), far below 1/100.
    assertTrue(q[2 * flipped] > 0.99, "Q(0) at the flipped pixel: " + q[2 * flipped]);
    for (int i = 0; i < w * h; i++) {
      assertTrue(q[2 * i] > q[2 * i + 1], "pixel " + i);
    }
  }

  @Test
  void moveABoundaryToTheColourEdge() {
    // Left 10 columns black, right 10 white; the prediction puts the class edge 3 columns too
    // far right, with weak confidence there. The appearance kernel (colour std 10) averages over
    // pixels of the same colour only, so the white columns join the white side's class.
    int w = 20;
    int h = 8;
    byte[] rgb = new byte[w * h * 3];
    double[] p0 = new double[w * h];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = y * w + x;
        if (x >= 10) {
          rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (byte) 255;
        }
        p0[i] = x < 10 ? 0.9 : x < 13 ? 0.6 : 0.1;
      }
    }
    DenseCrf crf = new DenseCrf(new DenseCrf.Settings(10, 5, 20, 10, 0, 1));
    int[] ids = DenseCrf.argmax(crf.marginals(new RgbImage(w, h, rgb), twoClasses(p0), 2), 2);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        assertEquals(x < 10 ? 0 : 1, ids[y * w + x], "pixel (" + x + ", " + y + ")");
      }
    }
  }

  @Test
  void aClassFallingBelowTheThresholdKeepsItsUpdatedMarginal() {
    // p = (0.7, 0.3) at every pixel of a uniform image, smoothness only: each message is w_s
    // times the class's marginal, so one update gives Q(1) = 0.3 e^(16 * 0.3) / (0.3 e^(16 * 0.3)
    // + 0.7 e^(16 * 0.7)) = 7.1e-4, below the 1e-3 under which the next update would not filter
    // class 1; the marginal returned is still this update's.
    int w = 6;
    int h = 5;
    double[] p0 = new double[w * h];
    java.util.Arrays.fill(p0, 0.7);
    DenseCrf crf = new DenseCrf(new DenseCrf.Settings(1, 0, 1, 1, 16, 1));
    float[] q = crf.marginals(uniform(w, h, 0x808080), twoClasses(p0), 2);
    double a = 0.3 * Math.exp(16 * 0.3);
    double want = a / (a + 0.7 * Math.exp(16 * 0.7));
    for (int i = 0; i < w * h; i++) {
      assertEquals(want, q[2 * i + 1], 1e-5 * want, "Q(1) at pixel " + i);
      assertEquals(1 - want, q[2 * i], 1e-6, "Q(0) at pixel " + i);
    }
  }

  @Test
  void noClassFilteredWhenAllAreNegligible() {
    // 1,200 classes at 1/1200 each, all below the 1e-3 under which a class is not filtered: no
    // class has a message, and each update gives back the uniform softmax.
    int w = 4;
    int h = 3;
    int classes = 1200;
    float[] p = new float[w * h * classes];
    java.util.Arrays.fill(p, 1f / classes);
    float[] q = DenseCrf.deepLabV2().marginals(uniform(w, h, 0x336699), p, classes);
    for (int i = 0; i < q.length; i++) {
      assertEquals(1.0 / classes, q[i], 1e-9, "marginal " + i);
    }
  }

  @Test
  void zeroWeightsOrIterationsGiveTheSoftmax() {
    int w = 9;
    int h = 7;
    java.util.Random r = new java.util.Random(7);
    float[] p = new float[w * h * 3];
    byte[] rgb = new byte[w * h * 3];
    r.nextBytes(rgb);
    for (int i = 0; i < w * h; i++) {
      float a = r.nextFloat();
      float b = r.nextFloat() * (1 - a);
      p[3 * i] = a;
      p[3 * i + 1] = b;
      p[3 * i + 2] = 1 - a - b;
    }
    RgbImage image = new RgbImage(w, h, rgb);
    DenseCrf.Settings v2 = DenseCrf.Settings.deepLabV2();
    for (DenseCrf.Settings s : new DenseCrf.Settings[] {
        v2.withAppearance(0, 67, 3).withSmoothness(0, 1), v2.withIterations(0)}) {
      assertArrayEquals(p, new DenseCrf(s).marginals(image, p, 3), 1e-6f, s.toString());
    }
  }

  @Test
  void refineGivesMarginalsAndTheirArgmax() {
    int w = 6;
    int h = 5;
    double[] p0 = new double[w * h];
    java.util.Arrays.fill(p0, 0.3);
    p0[0] = 0.45;
    float[] p = twoClasses(p0);
    Segmentation s = new Segmentation(w, h, 2, DenseCrf.argmax(p, 2), p);
    Segmentation refined = DenseCrf.deepLabV2().refine(uniform(w, h, 0x102030), s);
    assertEquals(w, refined.width());
    assertEquals(2, refined.numClasses());
    assertArrayEquals(DenseCrf.argmax(refined.probabilities(), 2), refined.classIds());
    assertEquals(0, refined.pixelCounts()[0]);
  }

  @Test
  void fastExpAgreesWithMathExp() {
    // Relative error 2e-6, plus the rounding of x log2(e) to float: |x| 2^-24 ln 2 relative.
    for (int i = 0; i <= 870_000; i++) {
      float x = -i * 1e-4f;
      double want = Math.exp(x);
      assertEquals(want, DenseCrf.exp(x), (2e-6 - x * 6e-8) * want, "exp(" + x + ")");
    }
    assertEquals(0f, DenseCrf.exp(-100f));
  }

  @Test
  void rejectsBadInput() {
    RgbImage image = uniform(4, 3, 0);
    DenseCrf crf = DenseCrf.deepLabV2();
    assertThrows(IllegalArgumentException.class, () -> crf.marginals(image, new float[23], 2));
    Segmentation noProbabilities = new Segmentation(4, 3, 2, new int[12], null);
    assertThrows(IllegalStateException.class, () -> crf.refine(image, noProbabilities));
    assertThrows(IllegalArgumentException.class, () -> crf.refine(uniform(3, 3, 0),
        new Segmentation(4, 3, 2, new int[12], new float[24])));
    assertThrows(IllegalArgumentException.class, () -> new DenseCrf.Settings(-1, 4, 67, 3, 3, 1));
    assertThrows(IllegalArgumentException.class, () -> new DenseCrf.Settings(10, -4, 67, 3, 3, 1));
    assertThrows(IllegalArgumentException.class, () -> new DenseCrf.Settings(10, 4, 0, 3, 3, 1));
    assertThrows(IllegalArgumentException.class,
        () -> new DenseCrf.Settings(10, 4, 67, 3, 3, Double.NaN));
  }
}
