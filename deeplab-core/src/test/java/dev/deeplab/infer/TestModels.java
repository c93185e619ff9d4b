package dev.deeplab.infer;

import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.serving.SavedModelWriter;
import dev.deeplab.internal.tflite.BundledDeepLabModel;
import dev.deeplab.internal.tflite.TfliteDeepLabWeights;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.OptionalLong;
import java.util.stream.Stream;

/**
 * The models the inference, CLI and reliability tests share, made once per test JVM:
 *
 * <ul>
 *   <li>{@link #BUNDLED}: the committed default SavedModel (depth multiplier 1.0, crop 513);
 *   <li>{@link #dm05()}: a fresh import of the bundled depth-multiplier-0.5 TFLite file (crop 513);
 *   <li>{@link #small()}: a fresh import of the depth-multiplier-1.0 TFLite file exported with a
 *       97&times;97 crop: the real pretrained weights, about 25 times cheaper per image than the
 *       513 crop, for tests that run hundreds of small images.
 * </ul>
 *
 * <p>Fresh exports go to a temporary directory deleted when the JVM exits.
 */
public final class TestModels {
  /**
   * The pretrained model packaged in the library, unpacked from the classpath into the test
   * cache ({@code DEEPLAB_CACHE}, set by the build) as users get it: the version directory.
   */
  public static final Path BUNDLED = pretrained();

  /** The committed copy of the pretrained model in the repository (a base directory). */
  public static final Path COMMITTED = Path.of("..", "savedmodels", PretrainedModel.NAME);

  private static Path pretrained() {
    try {
      return PretrainedModel.directory();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The crop of {@link #small()}. */
  public static final int SMALL_CROP = 97;

  private static Path root;
  private static Path dm05;
  private static Path small;

  private TestModels() {}

  /** A fresh import of the depth-multiplier-0.5 TFLite file with its own 513 crop (version dir). */
  public static synchronized Path dm05() throws Exception {
    if (dm05 == null) {
      dm05 = export(BundledDeepLabModel.MOBILENET_V2_DM05, "dm05", 0);
    }
    return dm05;
  }

  /** The depth-multiplier-1.0 weights with a {@value #SMALL_CROP} crop (the version directory). */
  public static synchronized Path small() throws Exception {
    if (small == null) {
      small = export(BundledDeepLabModel.MOBILENET_V2_DM10, "dm10_small", SMALL_CROP);
    }
    return small;
  }

  private static Path export(BundledDeepLabModel model, String name, int crop) throws Exception {
    TfliteDeepLabWeights w = model.load();
    ModelConfig config = ModelConfig.defaults(ModelVariant.MOBILENET_V2, w.outputStride())
        .withDepthMultiplier(w.depthMultiplier()).withNumClasses(w.numClasses())
        .withCropSize(w.inputHeight(), w.inputWidth());
    if (crop > 0) {
      config = config.withCropSize(crop, crop);
    }
    ModelInfo info = new ModelInfo(config, LabelSet.PASCAL_VOC, "tflite:" + model.fileName());
    return SavedModelWriter.write(w.variables(), info, root().resolve(name), OptionalLong.of(1));
  }

  /** A temporary directory for this JVM's test models, deleted at exit. */
  private static synchronized Path root() throws IOException {
    if (root == null) {
      root = Files.createTempDirectory("deeplab-test-models-");
      Path dir = root;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
    }
    return root;
  }

  /** Deletes a directory tree, ignoring failures. */
  public static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // best effort
    }
  }

  /** Reads a classpath resource, e.g. {@code /dev/deeplab/photos/owl.jpg}. */
  public static byte[] resource(String name) {
    try (var in = TestModels.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("test resource " + name + " not found");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Decodes a bundled photo, e.g. {@code pets.jpg}. */
  public static RgbImage photo(String name) throws IOException {
    return new ImageReader().read(resource("/dev/deeplab/photos/" + name), name);
  }

  /** A {@code w x h} crop of {@code image} at ({@code x}, {@code y}). */
  public static RgbImage crop(RgbImage image, int x, int y, int w, int h) {
    if (x < 0 || y < 0 || x + w > image.width() || y + h > image.height()) {
      throw new IllegalArgumentException("crop outside the image");
    }
    byte[] out = new byte[w * h * 3];
    for (int r = 0; r < h; r++) {
      System.arraycopy(image.rgb(), ((y + r) * image.width() + x) * 3, out, r * w * 3, w * 3);
    }
    return new RgbImage(w, h, out);
  }

  /** Nearest-neighbour resizing: cheap, and keeps the photo recognisable. */
  public static RgbImage upscale(RgbImage src, int w, int h) {
    byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
    int[] xs = new int[w];
    for (int x = 0; x < w; x++) {
      xs[x] = (int) ((long) x * src.width() / w) * 3;
    }
    byte[] in = src.rgb();
    for (int y = 0; y < h; y++) {
      int row = (int) ((long) y * src.height() / h) * src.width() * 3;
      int o = y * w * 3;
      for (int x = 0; x < w; x++) {
        int i = row + xs[x];
        out[o++] = in[i];
        out[o++] = in[i + 1];
        out[o++] = in[i + 2];
      }
    }
    return new RgbImage(w, h, out);
  }
}
