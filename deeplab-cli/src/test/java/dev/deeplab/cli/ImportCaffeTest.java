package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.testing.CaffeModelWriter;
import dev.deeplab.testing.ReferenceWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deeplab import --caffe}: the reference's formula weights for the golden case {@code
 * deeplab_largefov_vgg_16_97}, written by the test's own protobuf encoder as the released
 * DeepLab-LargeFOV {@code .caffemodel} (V1 {@code layers}, Caffe's [out,in,kh,kw] blobs, conv1_1
 * in BGR, {@code fc8_voc12}; 82 MB at VGG-16's fixed width, so written here rather than
 * committed), import and then segment the reference's input image as the reference does;
 * command-line mistakes exit 2, refused files exit 1 with one line and no output directory.
 */
class ImportCaffeTest {
  private static final String PRESET = "deeplabv1_largefov_vgg16";

  @TempDir
  Path tmp;

  @Test
  void importedFormulaWeightsSegmentAsTheReference() throws Exception {
    ModelConfig config = ModelConfig.preset(PRESET).withCropSize(97, 97);
    Map<String, FloatTensor> formula;
    try (ModelGraph g = ModelGraph.build(config)) {
      formula = ReferenceWeights.forVariables(g.variables().values());
    }
    Path file = tmp.resolve("deeplab_largefov.caffemodel");
    try (CaffeModelWriter out = new CaffeModelWriter(file, true)) {
      for (Map.Entry<String, FloatTensor[]> e
          : CaffeModelWriter.largeFovBlobs(formula, "fc8_voc12").entrySet()) {
        out.conv(e.getKey(), e.getValue()).relu("relu_" + e.getKey());
      }
    }
    formula = null;
    Path model = tmp.resolve("model");
    CliReliabilityTest.Run r = CliReliabilityTest.run("import", "--caffe", file.toString(),
        "--preset", PRESET, "--crop-size", "97", "--labels", "pascal_voc", "-o",
        model.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("caffe " + file + " (V1 layers, 16 layers with weights, "
        + "classifier fc8_voc12); model vgg_16 (output stride 8, 21 classes, crop 97x97): 32 "
        + "variables"), r.out());
    assertTrue(r.out().contains("every layer matches"), r.out());
    Path segmented = Files.createDirectory(tmp.resolve("segmented"));
    PresetGolden.assertModelSegmentsAsReference(segmented, model, 97,
        "golden/deeplab_largefov_vgg_16_97/");

    // the file's 21 classes against --num-classes 5: refused in one line, the table on stdout
    CliReliabilityTest.Run five = CliReliabilityTest.run("import", "--caffe", file.toString(),
        "--preset", PRESET, "--num-classes", "5", "-o", tmp.resolve("five").toString());
    assertRefused(five, 1, "fc8_voc12 has 21 classes, the model 5");
    assertTrue(five.out().contains("logits/semantic/weights"), five.out());
    assertFalse(Files.exists(tmp.resolve("five")));
  }

  @Test
  void refusesMistakesAndForeignFilesInOneLine() throws Exception {
    Path file = tmp.resolve("deeplabv2.caffemodel");
    try (CaffeModelWriter out = new CaffeModelWriter(file, false)) {
      out.conv("res5c_branch2c", new FloatTensor(new long[] {2}, new float[] {1f, 2f}));
    }
    String f = file.toString();
    assertRefused(run("--caffe", f), 2, "--caffe needs --preset deeplabv1_largefov_vgg16");
    assertRefused(run("--caffe", f, "--preset", "mobilenetv2_coco_voc"), 2,
        "--caffe reads DeepLab-LargeFOV only");
    assertRefused(run("--caffe", f, "--preset", PRESET, "--decoder"), 2,
        "--caffe takes --preset, --num-classes and --crop-size only");
    assertRefused(run("--caffe", f, "--preset", PRESET), 1,
        "has none of DeepLab-LargeFOV's layers");
    Path text = tmp.resolve("test.prototxt");
    Files.writeString(text, "layers { name: \"conv1_1\" type: CONVOLUTION }\n");
    assertRefused(run("--caffe", text.toString(), "--preset", PRESET), 1,
        "is not a Caffe model");
    assertRefused(run("--caffe", tmp.resolve("absent.caffemodel").toString(), "--preset",
        PRESET), 1, "absent.caffemodel");
  }

  private CliReliabilityTest.Run run(String... args) {
    String[] all = new String[args.length + 3];
    all[0] = "import";
    System.arraycopy(args, 0, all, 1, args.length);
    all[args.length + 1] = "-o";
    all[args.length + 2] = tmp.resolve("out").toString();
    return CliReliabilityTest.run(all);
  }

  private void assertRefused(CliReliabilityTest.Run r, int code, String expected) {
    CliReliabilityTest.assertImportRefused(r, code, expected);
    assertFalse(Files.exists(tmp.resolve("out")));
  }
}
