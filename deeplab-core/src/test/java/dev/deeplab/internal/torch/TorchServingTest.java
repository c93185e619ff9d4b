package dev.deeplab.internal.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.serving.SavedModelWriter;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.model.ServingOptions;
import dev.deeplab.testing.Npy;
import dev.deeplab.testing.ReferenceWeights;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.types.TString;

/**
 * The SavedModel of a PyTorch network: torchvision's ResNet-50 DeepLabV3 with the golden's
 * formula weights ({@link TorchGoldenTest}) written by {@link SavedModelWriter}; its class ids and
 * probabilities on the golden's image, at the image's own (odd) size, must be torchvision's; the
 * {@code serving_default} path, on two PNGs of different sizes in one request, must give the same
 * masks as the images path.
 */
class TorchServingTest {
  private static final int H = 37;
  private static final int W = 45;

  @TempDir
  Path tmp;

  @Test
  void savedModelMatchesTorchvision() throws Exception {
    ModelConfig config = TorchNetworks.config(ModelVariant.TORCHVISION_DEEPLABV3_RESNET50, 3, 64);
    Map<String, FloatTensor> weights;
    try (ModelGraph g = ModelGraph.build(config.withCropSize(33, 33))) {
      weights = TorchGoldenTest.formulaWeights(g.variables());
    }
    Path dir = SavedModelWriter.write(weights, new ModelInfo(config, LabelSet.unnamed(3),
        "test"), tmp.resolve("tv"), OptionalLong.empty());
    Npy.Array golden = Npy.read(Path.of(
        "src/test/resources/torch-golden/torchvision_deeplabv3_resnet50_c3_37x45.npy"));
    RgbImage image = rgb(ReferenceWeights.input(H, W), H, W);
    RgbImage small = crop(image, 30, 41);
    try (Segmenter s = Segmenter.load(dir)) {
      Segmentation seg = s.segmentWithProbabilities(image);
      double maxDiff = 0;
      for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
          int p = y * W + x;
          double[] softmax = softmax(golden.data(), p * 3, 3);
          int want = argmax(softmax);
          assertEquals(want, seg.classId(x, y), "class at " + x + "," + y);
          for (int c = 0; c < 3; c++) {
            maxDiff = Math.max(maxDiff, Math.abs(seg.probabilities()[p * 3 + c] - softmax[c]));
          }
        }
      }
      assertTrue(maxDiff < 1e-4, "probabilities differ by " + maxDiff);
      int[] bytesPath0;
      int[] bytesPath1;
      try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString());
          TString in = TString.tensorOfBytes(NdArrays.vectorOfObjects(png(image), png(small)));
          org.tensorflow.Result r = bundle.function("serving_default")
              .call(Map.of("image_bytes", in))) {
        TString out = (TString) r.get("semantic_png_bytes").orElseThrow();
        assertEquals(Shape.of(2), out.shape());
        bytesPath0 = indices(out.asBytes().getObject(0), W, H);
        bytesPath1 = indices(out.asBytes().getObject(1), 41, 30);
      }
      Segmentation smallSeg = s.segment(small);
      for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
          assertEquals(seg.classId(x, y), bytesPath0[y * W + x]);
        }
      }
      for (int y = 0; y < 30; y++) {
        for (int x = 0; x < 41; x++) {
          assertEquals(smallSeg.classId(x, y), bytesPath1[y * 41 + x]);
        }
      }
    }
  }

  @Test
  void refusesMultiScaleServing() {
    ModelConfig config = TorchNetworks.config(ModelVariant.TORCHVISION_DEEPLABV3_RESNET50, 3, 64);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> dev.deeplab.internal.serving.TorchServingGraph.build(config,
            new ServingOptions(List.of(0.5, 1.0), false, ServingOptions.defaults().maxPixels()),
            LabelSet.unnamed(3)));
    assertTrue(e.getMessage().contains("not available for PyTorch networks"), e.getMessage());
  }

  private static RgbImage rgb(FloatTensor t, int h, int w) {
    byte[] b = new byte[h * w * 3];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (int) t.data()[i];
    }
    return new RgbImage(w, h, b);
  }

  private static RgbImage crop(RgbImage img, int h, int w) {
    byte[] b = new byte[h * w * 3];
    for (int y = 0; y < h; y++) {
      System.arraycopy(img.rgb(), y * img.width() * 3, b, y * w * 3, w * 3);
    }
    return new RgbImage(w, h, b);
  }

  private static byte[] png(RgbImage img) throws Exception {
    BufferedImage bi = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_INT_RGB);
    byte[] p = img.rgb();
    for (int y = 0; y < img.height(); y++) {
      for (int x = 0; x < img.width(); x++) {
        int i = (y * img.width() + x) * 3;
        bi.setRGB(x, y, (p[i] & 0xff) << 16 | (p[i + 1] & 0xff) << 8 | (p[i + 2] & 0xff));
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(bi, "png", out);
    return out.toByteArray();
  }

  private static int[] indices(byte[] png, int w, int h) throws Exception {
    BufferedImage bi = ImageIO.read(new ByteArrayInputStream(png));
    assertEquals(w, bi.getWidth());
    assertEquals(h, bi.getHeight());
    int[] out = new int[w * h];
    bi.getRaster().getPixels(0, 0, w, h, out);
    return out;
  }

  private static double[] softmax(double[] v, int from, int n) {
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, v[from + i]);
    }
    double sum = 0;
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = Math.exp(v[from + i] - max);
      sum += out[i];
    }
    for (int i = 0; i < n; i++) {
      out[i] /= sum;
    }
    return out;
  }

  private static int argmax(double[] v) {
    int a = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[a]) {
        a = i;
      }
    }
    return a;
  }
}
