package dev.deeplab.internal.caffe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.testing.CaffeModelWriter;
import dev.deeplab.testing.ReferenceWeights;
import dev.deeplab.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code .caffemodel} reader ({@link CaffeNet}) and DeepLab-LargeFOV's import ({@link
 * LargeFovCaffeImporter}) on files written by the test's own protobuf encoder ({@link
 * CaffeModelWriter}): the formula weights of {@code tools/reference}, laid out as Caffe's blobs,
 * come back bit for bit under slim's names from both layer formats; bad files are refused in one
 * line.
 */
class LargeFovCaffeImporterTest {
  private static final ModelConfig LARGEFOV =
      ModelConfig.preset("deeplabv1_largefov_vgg16").withCropSize(97, 97);

  @TempDir
  Path tmp;

  private static FloatTensor tensor(long[] shape, float... values) {
    return new FloatTensor(shape, values);
  }

  @Test
  void readsBothLayerFormatsShapesAndValues() throws IOException {
    FloatTensor w = tensor(new long[] {2, 1, 1, 2}, 1f, -2f, 3.5f, 4f);
    FloatTensor b = tensor(new long[] {2}, 0.25f, -0.5f);
    for (boolean v1 : new boolean[] {true, false}) {
      Path file = tmp.resolve(v1 ? "v1.caffemodel" : "layer.caffemodel");
      try (CaffeModelWriter out = new CaffeModelWriter(file, v1)) {
        out.conv("conv1_1", w, b).relu("relu1_1").convDoubles("fc8_voc12", w, b);
      }
      CaffeNet net = CaffeNet.read(file, n -> !n.equals("fc8_voc12"));
      assertEquals(v1 ? "V1 layers" : "layer", net.format());
      assertEquals(2, net.layers().size(), "the ReLU has no weights");
      CaffeNet.Layer conv = net.layers().get(0);
      assertEquals("conv1_1", conv.name());
      assertEquals("Convolution", conv.type());
      assertArrayEquals(new long[] {2, 1, 1, 2}, conv.blobs().get(0).shape());
      assertArrayEquals(w.data(), conv.blobs().get(0).data());
      // V1 files give the legacy num, channels, height, width: a bias is 1x1x1xN
      assertArrayEquals(v1 ? new long[] {1, 1, 1, 2} : new long[] {2},
          conv.blobs().get(1).shape());
      assertArrayEquals(new long[] {2}, conv.blobs().get(1).squeezed());
      assertArrayEquals(b.data(), conv.blobs().get(1).data());
      CaffeNet.Layer fc8 = net.layers().get(1);
      assertNull(fc8.blobs().get(0).data(), "a layer not kept holds no values");
      assertArrayEquals(new long[] {2, 1, 1, 2}, fc8.blobs().get(0).shape());
      CaffeNet kept = CaffeNet.read(file, n -> true);
      assertArrayEquals(w.data(), kept.layers().get(1).blobs().get(0).data(), "double_data");
    }
  }

  /**
   * The files protobuf's own serializer wrote ({@code
   * tools/reference/make_caffemodel_fixtures.py}):
   * both layer formats, legacy dims and {@code BlobShape}, a {@code diff} skipped, {@code
   * double_data}; the values are the shared formula's.
   */
  @Test
  void readsFilesProtobufWrote() throws IOException {
    for (String format : new String[] {"v1", "layer"}) {
      CaffeNet net = CaffeNet.read(TestData.resources("caffe/tiny_" + format + ".caffemodel"),
          n -> true);
      assertEquals(format.equals("v1") ? "V1 layers" : "layer", net.format());
      assertEquals(List.of("conv1_1", "fc8_voc12"),
          net.layers().stream().map(CaffeNet.Layer::name).toList());
      Map<String, long[]> shapes = Map.of("conv1_1", new long[] {4, 3, 3, 3},
          "fc8_voc12", new long[] {2, 4, 1, 1});
      for (CaffeNet.Layer layer : net.layers()) {
        assertEquals("Convolution", layer.type());
        assertEquals(2, layer.blobs().size());
        long[] shape = shapes.get(layer.name());
        assertArrayEquals(shape, layer.blobs().get(0).shape());
        assertArrayEquals(formula(layer.name() + "/weights", (int) layer.blobs().get(0).count()),
            layer.blobs().get(0).data(), layer.name());
        assertArrayEquals(new long[] {shape[0]}, layer.blobs().get(1).squeezed());
        assertArrayEquals(formula(layer.name() + "/biases", (int) shape[0]),
            layer.blobs().get(1).data(), layer.name());
      }
    }
  }

  /** A classifier of the right class count on another width: refused without a class hint. */
  @Test
  void namesTheClassCountOnlyWhenItDiffers() throws IOException {
    Path tiny = TestData.resources("caffe/tiny_v1.caffemodel");
    LargeFovCaffeImporter.Plan plan = LargeFovCaffeImporter.plan(tiny, LARGEFOV,
        OptionalInt.empty());
    assertEquals(2, plan.config().numClasses(), "fc8_voc12's two classes");
    CaffeFormatException e = assertThrows(CaffeFormatException.class,
        () -> LargeFovCaffeImporter.requireClean(plan));
    assertEquals(tiny + " does not fit DeepLab-LargeFOV (2 classes): 28 missing, "
        + "3 shape mismatches", e.getMessage());
  }

  private static float[] formula(String name, int n) {
    double[] s = ReferenceWeights.signedUniform(name, n);
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) s[i];
    }
    return out;
  }

  /** The kernel transpose and conv1_1's BGR→RGB, on values whose positions are their indices. */
  @Test
  void kernelsTurnToHwioWithConv11sInputsReversed() {
    float[] v = new float[2 * 3 * 1 * 2];
    for (int i = 0; i < v.length; i++) {
      v[i] = i; // Caffe [out=2][in=3][kh=1][kw=2]: value = ((o*3 + c)*1 + y)*2 + x
    }
    CaffeNet.Blob blob = new CaffeNet.Blob(new long[] {2, 3, 1, 2}, v);
    FloatTensor hwio = LargeFovCaffeImporter.kernel(blob, false);
    assertArrayEquals(new long[] {1, 2, 3, 2}, hwio.shape());
    // TF [y=0][x=1][c=2][o=1] is element (0*2+1)*6 + 2*2 + 1 = 11; Caffe's (1*3+2)*2+1 = 11
    assertEquals(11f, hwio.data()[11]);
    // TF [0][0][c=1][o=0] = element 2; Caffe's (0*3+1)*2+0 = 2
    assertEquals(2f, hwio.data()[2]);
    // TF [0][1][c=0][o=1] = element 7; Caffe's (1*3+0)*2+1 = 7
    assertEquals(7f, hwio.data()[7]);
    FloatTensor rgb = LargeFovCaffeImporter.kernel(blob, true);
    // RGB channel 0 (red) is Caffe's channel 2: TF [0][1][c=0][o=1] = Caffe (1*3+2)*2+1 = 11
    assertEquals(11f, rgb.data()[7]);
    // RGB channel 1 stays green: TF [0][0][1][0] = Caffe (0*3+1)*2+0 = 2
    assertEquals(2f, rgb.data()[2]);
  }

  /**
   * The reference's formula weights for the 97×97 golden case, written as the released model's
   * blobs in both formats, import bit for bit: every one of the 32 variables, conv1_1 back in RGB.
   */
  @Test
  void formulaWeightsComeBackFromBothFormats() throws IOException {
    Map<String, FloatTensor> formula;
    try (ModelGraph g = ModelGraph.build(LARGEFOV)) {
      formula = ReferenceWeights.forVariables(g.variables().values());
    }
    Map<String, FloatTensor[]> blobs = CaffeModelWriter.largeFovBlobs(formula, "fc8_voc12");
    for (boolean v1 : new boolean[] {true, false}) {
      Path file = tmp.resolve("largefov.caffemodel");
      try (CaffeModelWriter out = new CaffeModelWriter(file, v1)) {
        for (Map.Entry<String, FloatTensor[]> e : blobs.entrySet()) {
          out.conv(e.getKey(), e.getValue()).relu("relu_" + e.getKey());
        }
      }
      LargeFovCaffeImporter.Plan plan =
          LargeFovCaffeImporter.plan(file, LARGEFOV, OptionalInt.empty());
      assertTrue(plan.clean(), plan.report().table());
      assertEquals("every layer matches", plan.summary());
      assertEquals("fc8_voc12", plan.classifier());
      assertEquals(21, plan.config().numClasses());
      assertEquals(32, plan.variables());
      assertEquals(formula.keySet(), plan.weights().keySet());
      for (Map.Entry<String, FloatTensor> e : formula.entrySet()) {
        FloatTensor got = plan.weights().get(e.getKey());
        assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
        assertTrue(Arrays.equals(e.getValue().data(), got.data()), e.getKey() + " differs");
      }

      // another class count than the file's fc8: refused with the file's count named
      LargeFovCaffeImporter.Plan five =
          LargeFovCaffeImporter.plan(file, LARGEFOV, OptionalInt.of(5));
      assertFalse(five.clean());
      CaffeFormatException e = assertThrows(CaffeFormatException.class,
          () -> LargeFovCaffeImporter.requireClean(five));
      assertTrue(e.getMessage().contains("2 shape mismatches"), e.getMessage());
      assertTrue(e.getMessage().contains("fc8_voc12 has 21 classes, the model 5"),
          e.getMessage());
      Files.delete(file);
    }
  }

  @Test
  void refusesAMissingLayerALeftOverOneAndAForeignModel() throws IOException {
    FloatTensor conv11 = tensor(new long[] {64, 3, 3, 3}, new float[64 * 27]);
    FloatTensor bias64 = tensor(new long[] {64}, new float[64]);
    Path partial = tmp.resolve("partial.caffemodel");
    try (CaffeModelWriter out = new CaffeModelWriter(partial, true)) {
      out.conv("conv1_1", conv11, bias64).conv("fc1_voc12_c0", bias64);
    }
    LargeFovCaffeImporter.Plan plan =
        LargeFovCaffeImporter.plan(partial, LARGEFOV, OptionalInt.empty());
    assertNull(plan.classifier());
    assertTrue(plan.report().mismatched().isEmpty(), plan.report().table());
    assertEquals(21, plan.config().numClasses(), "no fc8: the default 21");
    assertEquals(30, plan.report().missing().size());
    assertEquals("caffe:fc1_voc12_c0/0", plan.report().unexpected().get(0).name());
    CaffeFormatException e = assertThrows(CaffeFormatException.class,
        () -> LargeFovCaffeImporter.requireClean(plan));
    assertEquals(partial + " does not fit DeepLab-LargeFOV (21 classes): 30 missing, "
        + "1 unexpected (not restored)", e.getMessage());

    Path resnet = tmp.resolve("deeplabv2.caffemodel");
    try (CaffeModelWriter out = new CaffeModelWriter(resnet, false)) {
      out.conv("conv1", conv11, bias64).conv("res5c_branch2c", bias64);
    }
    LargeFovCaffeImporter.Plan foreign =
        LargeFovCaffeImporter.plan(resnet, LARGEFOV, OptionalInt.empty());
    e = assertThrows(CaffeFormatException.class,
        () -> LargeFovCaffeImporter.requireClean(foreign));
    assertEquals(resnet + " has none of DeepLab-LargeFOV's layers (conv1_1 ... conv5_3, fc6, "
        + "fc7); its layers with weights: conv1, res5c_branch2c", e.getMessage());

    Path twoHeads = tmp.resolve("two.caffemodel");
    try (CaffeModelWriter out = new CaffeModelWriter(twoHeads, false)) {
      out.conv("fc8_a", bias64).conv("fc8_b", bias64);
    }
    e = assertThrows(CaffeFormatException.class,
        () -> LargeFovCaffeImporter.plan(twoHeads, LARGEFOV, OptionalInt.empty()));
    assertTrue(e.getMessage().contains("has 2 classifier layers (fc8_a, fc8_b)"), e.getMessage());

    Path twice = tmp.resolve("twice.caffemodel");
    try (CaffeModelWriter out = new CaffeModelWriter(twice, true)) {
      out.conv("conv1_1", conv11, bias64).conv("conv1_1", conv11, bias64);
    }
    e = assertThrows(CaffeFormatException.class,
        () -> LargeFovCaffeImporter.plan(twice, LARGEFOV, OptionalInt.empty()));
    assertEquals(twice + " has two layers with weights named 'conv1_1'", e.getMessage());

    IllegalArgumentException notVgg = assertThrows(IllegalArgumentException.class,
        () -> LargeFovCaffeImporter.plan(partial, ModelConfig.preset("mobilenetv2_coco_voc"),
            OptionalInt.empty()));
    assertTrue(notVgg.getMessage().contains("not mobilenet_v2"), notVgg.getMessage());
  }

  @Test
  void refusesFilesThatAreNotCaffeModelsInOneLine() throws IOException {
    Path png = tmp.resolve("photo.caffemodel");
    Files.write(png, new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13});
    assertOneLine(png, "is not a Caffe model");

    Path text = tmp.resolve("deploy.prototxt");
    Files.writeString(text, "name: \"DeepLab-LargeFOV\"\nlayers { name: \"conv1_1\" }\n");
    assertOneLine(text, "is not a Caffe model");

    Path empty = tmp.resolve("empty.caffemodel");
    try (CaffeModelWriter out = new CaffeModelWriter(empty, false)) {
      out.relu("relu1_1");
    }
    assertOneLine(empty, "has no layer with weights");

    Path whole = tmp.resolve("whole.caffemodel");
    try (CaffeModelWriter out = new CaffeModelWriter(whole, true)) {
      out.conv("conv1_1", tensor(new long[] {4, 1, 1, 1}, 1f, 2f, 3f, 4f));
    }
    byte[] bytes = Files.readAllBytes(whole);
    Path truncated = tmp.resolve("truncated.caffemodel");
    Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 5));
    assertOneLine(truncated, "is truncated or not a Caffe model");

    // a blob whose dims promise more values than it holds
    Path shortBlob = tmp.resolve("short.caffemodel");
    try (CaffeModelWriter out = new CaffeModelWriter(shortBlob, false)) {
      out.conv("conv1_1", new FloatTensor(new long[] {4}, new float[] {1f, 2f, 3f, 4f}));
    }
    byte[] b = Files.readAllBytes(shortBlob);
    // the shape's packed dim is the file's last byte (4); make it 5
    assertEquals(4, b[b.length - 1]);
    b[b.length - 1] = 5;
    Files.write(shortBlob, b);
    assertOneLine(shortBlob, "blob 0 of layer 'conv1_1' has 4 values for its shape [5]");
  }

  private static void assertOneLine(Path file, String expected) {
    CaffeFormatException e = assertThrows(CaffeFormatException.class,
        () -> CaffeNet.read(file, n -> true));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertEquals(1, e.getMessage().lines().count(), e.getMessage());
  }
}
