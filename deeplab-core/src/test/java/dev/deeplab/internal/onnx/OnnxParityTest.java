package dev.deeplab.internal.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.io.AtomicFiles;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.ModelInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our ONNX models run by ONNX Runtime against the same models run by TensorFlow (our SavedModel
 * through {@link Segmenter}): probabilities within 1e-4, class ids identical outside near-ties.
 */
class OnnxParityTest {
  @TempDir Path tmp;

  @Test
  void bundledModelMatchesTensorFlowOnPhotosOfSeveralSizes() throws Exception {
    Path model = TestModels.BUNDLED;
    ModelInfo info = SavedModels.readInfo(model);
    var weights = Checkpoints.modelWeights(model.resolve("variables").resolve("variables"));
    OnnxModelWriter.Written w = OnnxModelWriter.build(info.config(), weights, true, "test", "");
    Path file = tmp.resolve("m.onnx");
    AtomicFiles.write(file, out -> w.model().writeTo(out));
    // the graph has 37 FusedBatchNormV3 (the dense convs; depthwise ones are folded in TF already)
    assertEquals(37, w.foldedBatchNorms(), "dense conv batch norms folded");
    RgbImage pets = TestModels.photo("pets.jpg");
    // as it is, an odd-sized crop, and larger than the 513 crop (scaled down to fit it first)
    List<RgbImage> images = List.of(pets, TestModels.crop(pets, 31, 17, 201, 157),
        TestModels.upscale(pets, 700, 561));
    try (Segmenter tf = Segmenter.load(model);
        OnnxRuntimeSession ort = new OnnxRuntimeSession(file, 2)) {
      for (RgbImage image : images) {
        Segmentation expected = tf.segmentWithProbabilities(image);
        OnnxRuntimeSession.Output got =
            ort.run(image.rgb(), 1, image.height(), image.width(), true);
        compare(expected, got, image.width() + "x" + image.height());
      }
    }
  }

  static void compare(Segmentation expected, OnnxRuntimeSession.Output got, String what) {
    float[] p = expected.probabilities();
    float[] q = got.probabilities();
    assertEquals(p.length, q.length, what + ": probability count");
    double worst = 0;
    for (int i = 0; i < p.length; i++) {
      worst = Math.max(worst, Math.abs(p[i] - q[i]));
    }
    int c = expected.numClasses();
    int[] ids = expected.classIds();
    int differ = 0;
    int nearTies = 0;
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] != got.classIds()[i]) {
        differ++;
        float a = p[i * c + ids[i]];
        float b = p[i * c + got.classIds()[i]];
        if (Math.abs(a - b) < 1e-3) {
          nearTies++;
        }
      }
    }
    System.out.printf("%s: max |dp| %.2e, class ids differing %d (near-ties %d) of %d%n",
        what, worst, differ, nearTies, ids.length);
    assertTrue(worst <= 1e-4, what + ": probabilities differ by " + worst);
    assertEquals(nearTies, differ, what + ": class ids differ outside near-ties");
  }
}
