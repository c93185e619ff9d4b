package dev.deeplab.infer;

import dev.deeplab.export.ModelInfo;
import dev.deeplab.export.SavedModels;
import dev.deeplab.export.ServingGraph;
import java.io.IOException;
import java.nio.file.Path;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;

/**
 * Segments images with a SavedModel we exported ({@code savedmodels/<name>/<version>}): feeds the
 * {@code images} input of its {@code serving_default} signature and reads {@code semantic} (and
 * {@code probabilities} when asked). Safe to share between threads: TF sessions run concurrently
 * and the Java side keeps no mutable state. Close it to release the native model.
 *
 * <p><b>Large images.</b> The network sees at most the model's crop (513&times;513 for the
 * bundled model): the serving graph scales every larger image down to fit. An image whose longer
 * side is at most {@link #maxSide()} (default {@value #DEFAULT_MAX_SIDE}) is fed to TensorFlow as
 * it is. A larger one takes the large-image path: Java scales it down to the size the graph would
 * fit it into (align-corners bilinear with TensorFlow's own formula, rounded to 8 bits), feeds
 * that, and maps the class ids back to the full size by align-corners nearest neighbour
 * (probabilities: bilinear), again with TensorFlow's formula. The result equals the direct path's
 * except where rounding the resized pixels to 8 bits flips a near-tie.
 *
 * <p><b>Memory bound.</b> On the large-image path {@link #segment} allocates on the Java heap only
 * the result, 4 bytes per input pixel ({@code int} class ids), plus a constant amount bounded by
 * the crop size (the resized image, 3 bytes per crop pixel, and its class ids, 4 bytes per crop
 * pixel: under 2 MB for 513&times;513); TensorFlow's native memory is that of one crop-sized
 * image. With the caller's RGB input (3 bytes per pixel) a 10,000&times;8,000 photo therefore
 * needs about 7 bytes per pixel, 560 MB, in total. {@link #probabilities} returns {@code 4 *
 * numClasses} bytes per pixel, and refuses with an {@link IllegalArgumentException} images whose
 * result does not fit one Java array. On the direct path TensorFlow holds a few float copies of
 * the image (about 30 bytes per pixel, 130 MB at 2048&times;2048, more for {@code probabilities}).
 */
public final class Segmenter implements AutoCloseable {
  /** The default {@link #maxSide()}: longer sides up to this many pixels go to TF as they are. */
  public static final int DEFAULT_MAX_SIDE = 2048;

  private final SavedModelBundle bundle;
  private final int maxSide;
  private final ModelInfo info;
  private final Path directory;
  private final String imagesTensor;
  private final String semanticTensor;
  private final String probabilitiesTensor;

  /** The longest Java array the JVM reliably allocates. */
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

  private Segmenter(SavedModelBundle bundle, ModelInfo info, Path directory, int maxSide) {
    this.bundle = bundle;
    this.maxSide = maxSide;
    this.info = info;
    this.directory = directory;
    SignatureDef sig = bundle.metaGraphDef().getSignatureDefMap()
        .get(ServingGraph.DEFAULT_SIGNATURE);
    if (sig == null || !sig.getInputsMap().containsKey(ServingGraph.IMAGES)
        || !sig.getOutputsMap().containsKey(ServingGraph.SEMANTIC)) {
      bundle.close();
      throw new IllegalStateException("model " + directory + " has no '"
          + ServingGraph.DEFAULT_SIGNATURE + "' signature with input '" + ServingGraph.IMAGES
          + "' and output '" + ServingGraph.SEMANTIC + "'");
    }
    imagesTensor = sig.getInputsMap().get(ServingGraph.IMAGES).getName();
    semanticTensor = sig.getOutputsMap().get(ServingGraph.SEMANTIC).getName();
    probabilitiesTensor = sig.getOutputsMap().containsKey(ServingGraph.PROBABILITIES)
        ? sig.getOutputsMap().get(ServingGraph.PROBABILITIES).getName() : null;
  }

  /**
   * The pretrained DeepLabv3 + MobileNetV2 PASCAL VOC model packaged in this library ({@link
   * PretrainedModel}), ready to segment: no path needed.
   *
   * @throws IOException if the model cannot be unpacked into the user's cache or loaded
   */
  public static Segmenter pretrained() throws IOException {
    return load(PretrainedModel.directory());
  }

  /** Loads a model directory (a version directory, or a base whose highest version is taken). */
  public static Segmenter load(Path model) throws IOException {
    return load(model, 0);
  }

  /**
   * Loads a model with {@code threads} intra-op threads (0 lets TensorFlow choose).
   *
   * @throws IOException when the directory holds no SavedModel of ours or TF cannot load it
   */
  public static Segmenter load(Path model, int threads) throws IOException {
    return load(model, threads, DEFAULT_MAX_SIDE);
  }

  /**
   * Loads a model with {@code threads} intra-op threads (0 lets TensorFlow choose) and a limit
   * {@code maxSide} on the longer side of images fed to TensorFlow as they are; larger images take
   * the large-image path (see the class comment).
   *
   * @throws IOException when the directory is missing, holds no SavedModel of ours, TF cannot
   *     load it, or it lacks the {@code serving_default} signature with {@code images} and {@code
   *     semantic}
   * @throws IllegalArgumentException if {@code threads} is negative or {@code maxSide} is not
   *     positive
   */
  public static Segmenter load(Path model, int threads, int maxSide) throws IOException {
    if (threads < 0) {
      throw new IllegalArgumentException("threads must be 0 or more, got " + threads);
    }
    if (maxSide < 1) {
      throw new IllegalArgumentException("maxSide must be positive, got " + maxSide);
    }
    Path dir = SavedModels.resolve(model);
    ModelInfo info = SavedModels.readInfo(dir);
    HugePages.hintOnce();
    ConfigProto.Builder config = ConfigProto.newBuilder();
    if (threads > 0) {
      config.setIntraOpParallelismThreads(threads).setInterOpParallelismThreads(1);
    }
    SavedModelBundle bundle;
    try {
      bundle = SavedModelBundle.loader(dir.toString()).withTags(SavedModelBundle.DEFAULT_TAG)
          .withConfigProto(config.build()).load();
    } catch (TensorFlowException e) {
      throw new IOException("cannot load model " + dir + ": " + firstLine(e.getMessage()), e);
    }
    try {
      return new Segmenter(bundle, info, dir, maxSide);
    } catch (IllegalStateException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /**
   * Class ids for an interleaved RGB image, at the image's size.
   *
   * @param rgb {@code width * height * 3} bytes, interleaved RGB, row-major (not modified)
   * @throws IllegalArgumentException if {@code rgb} does not hold {@code width x height} pixels
   */
  public Segmentation segment(byte[] rgb, int width, int height) {
    checkSize(rgb, width, height);
    return run(rgb, width, height, true, false).segmentation();
  }

  /**
   * Class probabilities {@code [height, width, classes]} row-major, for an RGB image.
   *
   * @throws IllegalArgumentException if {@code rgb} does not hold {@code width x height} pixels,
   *     or the result ({@code width * height * classes} floats) does not fit one Java array
   * @throws IllegalStateException if the model has no {@code probabilities} output
   */
  public float[] probabilities(byte[] rgb, int width, int height) {
    checkProbabilities(rgb, width, height);
    return run(rgb, width, height, false, true).probabilities();
  }

  /**
   * Class ids and probabilities from a single run of the network: what {@link #segment} and
   * {@link #probabilities} return, for the price of one of them.
   *
   * @throws IllegalArgumentException as {@link #probabilities}
   * @throws IllegalStateException if the model has no {@code probabilities} output
   */
  public SegmentationWithProbabilities segmentWithProbabilities(byte[] rgb, int width,
      int height) {
    checkProbabilities(rgb, width, height);
    return run(rgb, width, height, true, true);
  }

  private void checkProbabilities(byte[] rgb, int width, int height) {
    if (probabilitiesTensor == null) {
      throw new IllegalStateException("model " + directory + " has no probabilities output");
    }
    int classes = info.config().numClasses();
    if ((long) width * height * classes > MAX_ARRAY) {
      throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
          "%dx%d image: %d classes x %d pixels of probabilities do not fit one Java array "
              + "(use segment() for class ids)", width, height, classes, (long) width * height));
    }
    checkSize(rgb, width, height);
  }

  /** Runs the network once, directly or on the large-image path; unrequested parts are null. */
  private SegmentationWithProbabilities run(byte[] rgb, int width, int height, boolean ids,
      boolean probabilities) {
    int classes = info.config().numClasses();
    if (!isLarge(width, height)) {
      return fetch(rgb, width, height, ids, probabilities);
    }
    int[] fit = Resampling.fittedSize(height, width, info.config().cropHeight(),
        info.config().cropWidth());
    int fh = fit[0];
    int fw = fit[1];
    SegmentationWithProbabilities small =
        fetch(Resampling.bilinearRgb(rgb, width, height, fw, fh), fw, fh, ids, probabilities);
    return new SegmentationWithProbabilities(
        ids ? new Segmentation(width, height,
            Resampling.nearest(small.segmentation().classIds(), fw, fh, width, height), classes)
            : null,
        probabilities ? Resampling.bilinear(small.probabilities(), fw, fh, classes, width, height)
            : null);
  }

  private boolean isLarge(int width, int height) {
    return Math.max(width, height) > maxSide;
  }

  private SegmentationWithProbabilities fetch(byte[] rgb, int width, int height, boolean ids,
      boolean probabilities) {
    Session.Runner runner = bundle.session().runner();
    if (ids) {
      runner.fetch(semanticTensor);
    }
    if (probabilities) {
      runner.fetch(probabilitiesTensor);
    }
    try (TUint8 input = TUint8.tensorOf(Shape.of(1, height, width, 3),
            DataBuffers.of(rgb, true, false));
        Result r = runner.feed(imagesTensor, input).run()) {
      Segmentation segmentation = null;
      if (ids) {
        int[] out = new int[width * height];
        ((TInt32) r.get(0)).copyTo(DataBuffers.of(out, false, false));
        segmentation = new Segmentation(width, height, out, info.config().numClasses());
      }
      float[] probs = null;
      if (probabilities) {
        TFloat32 p = (TFloat32) r.get(ids ? 1 : 0);
        probs = new float[Math.toIntExact(p.shape().size())];
        p.copyTo(DataBuffers.of(probs, false, false));
      }
      return new SegmentationWithProbabilities(segmentation, probs);
    }
  }

  private static void checkSize(byte[] rgb, int width, int height) {
    if (width < 1 || height < 1 || (long) width * height * 3 != rgb.length) {
      throw new IllegalArgumentException("expected " + width + "x" + height + " RGB pixels ("
          + (long) width * height * 3 + " bytes), got " + rgb.length);
    }
  }

  /** True when the model has a {@code probabilities} output (wrapped frozen graphs may not). */
  public boolean hasProbabilities() {
    return probabilitiesTensor != null;
  }

  /** The longest image side fed to TensorFlow as it is; longer ones are resized in Java. */
  public int maxSide() {
    return maxSide;
  }

  /** What the model says about itself: architecture, crop size, label set, class names. */
  public ModelInfo info() {
    return info;
  }

  /** The SavedModel version directory in use. */
  public Path directory() {
    return directory;
  }

  @Override
  public void close() {
    bundle.close();
  }

  private static String firstLine(String s) {
    return s == null ? "unknown error" : s.strip().split("\\R", 2)[0];
  }
}
