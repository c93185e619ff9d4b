package dev.deeplab.infer;

import dev.deeplab.export.OnnxExporter;
import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.infer.Network;
import dev.deeplab.internal.infer.Resampling;
import dev.deeplab.internal.infer.TensorFlowNetwork;
import dev.deeplab.internal.onnx.OnnxFiles;
import dev.deeplab.internal.onnx.OnnxModelWriter.Outputs;
import dev.deeplab.internal.onnx.OnnxRuntimeLibraries;
import dev.deeplab.internal.onnx.OnnxRuntimeNetwork;
import dev.deeplab.internal.serving.ModelOps;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.ModelInfo;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Segments images with a DeepLab SavedModel of ours: the pretrained model packaged in this
 * library ({@link #pretrained()}), or any model we exported or imported ({@link #load}, {@link
 * #builder()}). The official export's preprocessing runs inside the model (DeepLab, Chen et al.,
 * "Encoder-Decoder with Atrous Separable Convolution for Semantic Image Segmentation", ECCV 2018;
 * {@code research/deeplab/export_model.py}): images of any size go in, one class id per pixel
 * comes out at the same size.
 *
 * <pre>{@code
 * try (Segmenter segmenter = Segmenter.pretrained()) {
 *   Segmentation s = segmenter.segment(Path.of("pets.jpg"));
 *   int id = s.classId(100, 200);                       // 12: "dog"
 *   String name = segmenter.info().classNames().get(id);
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> Thread-safe: TensorFlow sessions run concurrently and the Java side keeps no
 * mutable state; share one instance. Close it to release the native model.
 *
 * <p><b>Errors.</b> Bad arguments throw {@link IllegalArgumentException}, unreadable or malformed
 * image files {@link ImageFormatException}, and a failure inside TensorFlow while segmenting
 * {@link SegmentationException}.
 *
 * <p><b>Large images.</b> The network sees at most the model's crop (513&times;513 for the
 * pretrained model): the serving graph scales every larger image down to fit. An image whose
 * longer side is at most {@link Builder#maxSide} (default {@value #DEFAULT_MAX_SIDE}) is fed to
 * TensorFlow as it is. A larger one takes the large-image path: Java scales it down to the size
 * the graph would fit it into (align-corners bilinear with TensorFlow's own formula, rounded to 8
 * bits), feeds that, and maps the class ids back to the full size by align-corners nearest
 * neighbour (probabilities: bilinear), again with TensorFlow's formula. The result equals the
 * direct path's except where rounding the resized pixels to 8 bits flips a near-tie.
 *
 * <p><b>Memory bound.</b> On the large-image path {@link #segment} allocates on the Java heap only
 * the result, 4 bytes per input pixel ({@code int} class ids), plus a constant amount bounded by
 * the crop size; TensorFlow's native memory is that of one crop-sized image. With the caller's RGB
 * input (3 bytes per pixel) a 10,000&times;8,000 photo therefore needs about 7 bytes per pixel,
 * 560 MB, in total. Probabilities take {@code 4 * numClasses} bytes per pixel. On the direct path
 * TensorFlow holds a few float copies of the image (about 30 bytes per pixel, 130 MB at
 * 2048&times;2048). Encoded images ({@link #segment(Path)}, {@link #segment(byte[])}) are refused
 * from their header above {@link Builder#maxPixels} pixels, before any pixel buffer exists.
 */
public final class Segmenter implements AutoCloseable {
  /** The default {@link Builder#maxSide}: longer sides up to this many pixels go to TF as they are. */
  public static final int DEFAULT_MAX_SIDE = 2048;

  /** The longest Java array the JVM reliably allocates. */
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

  private final Network network;
  private final Engine engine;
  private final ModelInfo info;
  private final Path directory;
  private final int maxSide;
  private final ImageReader reader;

  private Segmenter(Network network, Engine engine, ModelInfo info, Path directory,
      Builder options) {
    this.network = network;
    this.engine = engine;
    this.info = info;
    this.directory = directory;
    this.maxSide = options.maxSide;
    this.reader = new ImageReader(options.maxPixels);
  }

  /**
   * The pretrained DeepLabv3 + MobileNetV2 PASCAL VOC model packaged in this library ({@link
   * PretrainedModel}), ready to segment: no path needed.
   *
   * @throws IOException if the model cannot be unpacked into the user's cache or loaded
   */
  public static Segmenter pretrained() throws IOException {
    return builder().build();
  }

  /**
   * Loads a model directory (a version directory, or a base whose highest version is taken) with
   * the default options.
   *
   * @throws IOException if the directory is missing, holds no SavedModel of ours, or TensorFlow
   *     cannot load it
   */
  public static Segmenter load(Path model) throws IOException {
    return builder().model(model).build();
  }

  /** Options for a segmenter; {@link Builder#build()} loads the model. Not thread-safe. */
  public static Builder builder() {
    return new Builder();
  }

  /** The options of a {@link Segmenter}. Not thread-safe; each {@link #build()} loads anew. */
  public static final class Builder {
    private Path model;
    private Engine engine;
    private boolean fastestEngine;
    private int threads;
    private int maxSide = DEFAULT_MAX_SIDE;
    private long maxPixels = ImageReader.DEFAULT_MAX_PIXELS;
    private boolean allowForeignModel;
    private List<Path> calibrationImages;
    private OnnxExporter.CalibrationListener calibrationListener = (done, total) -> { };

    private Builder() {}

    /**
     * The SavedModel to load: a version directory, or a base whose highest version is taken
     * (default: the pretrained model).
     */
    public Builder model(Path directory) {
      this.model = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /**
     * The runtime that runs the network (default: {@link Engine#TENSORFLOW}, or {@link
     * Engine#ONNX_RUNTIME} for an {@code .onnx} file). With ONNX Runtime, a SavedModel is written
     * as ONNX once ({@link dev.deeplab.export.OnnxExporter}) into the cache that {@link
     * #pretrained()} uses, under a name derived from the model's content.
     */
    public Builder engine(Engine engine) {
      this.engine = Objects.requireNonNull(engine, "engine");
      this.fastestEngine = false;
      return this;
    }

    /**
     * Runs the network on the faster engine: {@link Engine#ONNX_RUNTIME} when ONNX Runtime is on
     * the classpath and the model can be written as ONNX ({@link OnnxExporter#supports}: one of
     * our single-scale SavedModels), else {@link Engine#TENSORFLOW}. ONNX Runtime took 0.48 of
     * TensorFlow's time on MobileNetV2 and 0.61 on Xception-65 (BENCHMARKS.md §9d); its class ids
     * differ from TensorFlow's only at near-ties. {@code deeplab segment} and {@code deeplab
     * eval} run this way unless told an engine.
     */
    public Builder fastestEngine() {
      this.engine = null;
      this.fastestEngine = true;
      return this;
    }

    /** The engine's intra-op threads; 0 (the default) lets it use every core. */
    public Builder threads(int n) {
      if (n < 0) {
        throw new IllegalArgumentException("threads must be 0 or more, got " + n);
      }
      this.threads = n;
      return this;
    }

    /**
     * The longest image side fed to TensorFlow as it is (default {@value #DEFAULT_MAX_SIDE});
     * larger images take the large-image path (class comment).
     */
    public Builder maxSide(int pixels) {
      if (pixels < 1) {
        throw new IllegalArgumentException("maxSide must be positive, got " + pixels);
      }
      this.maxSide = pixels;
      return this;
    }

    /**
     * The largest {@code width * height} of encoded images decoded by {@link #segment(Path)} and
     * {@link #segment(byte[])} (default {@value ImageReader#DEFAULT_MAX_PIXELS}), checked from the
     * header before decoding.
     */
    public Builder maxPixels(long pixels) {
      if (pixels < 1) {
        throw new IllegalArgumentException("maxPixels must be positive, got " + pixels);
      }
      this.maxPixels = pixels;
      return this;
    }

    /**
     * Runs the network in int8 on ONNX Runtime: the SavedModel written as ONNX and quantised
     * ({@link dev.deeplab.export.OnnxExporter#exportInt8}) with its activations calibrated on
     * {@code calibrationImages} (image files, or directories of them: images like those to be
     * segmented), once, into the cache under a name derived from the model's and the images'
     * contents. Implies {@link Engine#ONNX_RUNTIME}; an {@code .onnx} model is used as it is.
     */
    public Builder int8(List<Path> calibrationImages) {
      if (calibrationImages.isEmpty()) {
        throw new IllegalArgumentException("int8 needs calibration images");
      }
      this.calibrationImages = List.copyOf(calibrationImages);
      return this;
    }

    /** As {@link #int8(List)}, telling {@code listener} of calibration (when it is not cached). */
    public Builder int8(List<Path> calibrationImages, OnnxExporter.CalibrationListener listener) {
      this.calibrationListener = Objects.requireNonNull(listener, "listener");
      return int8(calibrationImages);
    }

    /**
     * Loads a SavedModel whose graphs hold operations ours never use (file-system, Python or
     * network operations such as {@code ReadFile}, {@code WriteFile}, {@code PyFunc}), which is
     * refused by default: a model is a program that TensorFlow runs, so allow this only for a
     * model you trust (README, "Security").
     */
    public Builder allowForeignModel() {
      this.allowForeignModel = true;
      return this;
    }

    /**
     * Loads the model.
     *
     * @throws IOException if the directory is missing, holds no SavedModel of ours (or one whose
     *     graphs hold operations ours never use, unless {@link #allowForeignModel}), or TensorFlow
     *     cannot load it
     */
    public Segmenter build() throws IOException {
      Path path = model != null ? model : PretrainedModel.directory();
      if (calibrationImages != null && engine == Engine.TENSORFLOW) {
        throw new IllegalArgumentException("int8 runs on Engine.ONNX_RUNTIME, not TensorFlow");
      }
      if (Files.isRegularFile(path) && path.getFileName().toString().endsWith(".onnx")) {
        if (engine == Engine.TENSORFLOW) {
          throw new IllegalArgumentException(path + " is an ONNX model: it runs on "
              + "Engine.ONNX_RUNTIME, not TensorFlow");
        }
        if (calibrationImages != null) {
          throw new IllegalArgumentException(path + " is an ONNX model already: int8 quantises "
              + "a SavedModel (export it with OnnxExporter.exportInt8 instead)");
        }
        OnnxRuntimeNetwork net = onnxRuntime(path, null);
        try {
          return new Segmenter(net, Engine.ONNX_RUNTIME, net.modelInfo(), path, this);
        } catch (IOException | RuntimeException e) {
          net.close();
          throw e;
        }
      }
      Path dir = SavedModels.resolve(path);
      boolean fastest = fastestEngine && calibrationImages == null && onnxRuntimeAvailable();
      if (engine == Engine.ONNX_RUNTIME || calibrationImages != null || fastest) {
        // ONNX Runtime's native load overlaps the checks below (BENCHMARKS.md §9b)
        try {
          OnnxRuntimeLibraries.preload();
        } catch (LinkageError e) {
          // no ONNX Runtime on the classpath: onnxRuntime() says so
        }
      }
      ModelInfo info = SavedModels.readInfo(dir);
      Engine chosen = engine != null ? engine
          : fastest && OnnxFiles.supports(info) ? Engine.ONNX_RUNTIME : Engine.TENSORFLOW;
      if (chosen == Engine.ONNX_RUNTIME || calibrationImages != null) {
        // TensorFlow never reads this graph: a check passed once is remembered in the cache
        ModelOps.check(dir, allowForeignModel, PretrainedModel.cacheRoot());
      } else {
        ModelOps.check(dir, allowForeignModel);
      }
      try {
        Checkpoints.checkIndex(dir.resolve("variables").resolve("variables").toString());
      } catch (CheckpointException e) {
        throw new IOException(e.getMessage(), e);
      }
      if (calibrationImages != null) {
        Path cache = PretrainedModel.cacheRoot();
        OnnxRuntimeNetwork net = onnxRuntime(
            OnnxFiles.cachedInt8(dir, cache, calibrationImages, Outputs.LOGITS,
                calibrationListener),
            () -> OnnxFiles.cachedInt8(dir, cache, calibrationImages, Outputs.PROBABILITIES,
                calibrationListener));
        return new Segmenter(net, Engine.ONNX_RUNTIME, info, dir, this);
      }
      if (chosen == Engine.ONNX_RUNTIME) {
        Path cache = PretrainedModel.cacheRoot();
        OnnxRuntimeNetwork net = onnxRuntime(OnnxFiles.cached(dir, cache, Outputs.LOGITS),
            () -> OnnxFiles.cached(dir, cache, Outputs.PROBABILITIES));
        return new Segmenter(net, Engine.ONNX_RUNTIME, info, dir, this);
      }
      return new Segmenter(new TensorFlowNetwork(dir, threads), Engine.TENSORFLOW, info, dir,
          this);
    }

    private static boolean onnxRuntimeAvailable() {
      try {
        Class.forName("ai.onnxruntime.OrtSession", false, Segmenter.class.getClassLoader());
        return true;
      } catch (ClassNotFoundException | LinkageError e) {
        return false;
      }
    }

    private OnnxRuntimeNetwork onnxRuntime(Path file, OnnxRuntimeNetwork.ModelSource probs)
        throws IOException {
      try {
        return new OnnxRuntimeNetwork(file, threads, probs);
      } catch (NoClassDefFoundError e) {
        throw new IOException("the ONNX Runtime engine needs com.microsoft.onnxruntime:onnxruntime "
            + "on the classpath (an optional dependency of deeplab-core)", e);
      }
    }
  }

  /**
   * Class ids for an image file (JPEG, PNG, BMP or GIF; other formats the JDK reads too).
   *
   * @throws ImageFormatException with a one-line message naming the file if it cannot be read, is
   *     not an image, or has more than {@link Builder#maxPixels} pixels
   */
  public Segmentation segment(Path imageFile) throws ImageFormatException {
    return segment(reader.read(imageFile));
  }

  /**
   * Class ids for an encoded image held in memory (the bytes of a JPEG, PNG, BMP or GIF file).
   *
   * @throws ImageFormatException with a one-line message if it is not a readable image or has
   *     more than {@link Builder#maxPixels} pixels
   */
  public Segmentation segment(byte[] encodedImage) throws ImageFormatException {
    return segment(reader.read(encodedImage, "image bytes"));
  }

  /** Class ids for a Java image of any type (converted to 8-bit RGB; alpha is dropped). */
  public Segmentation segment(BufferedImage image) {
    return segment(RgbImage.of(image));
  }

  /** Class ids for an RGB image. */
  public Segmentation segment(RgbImage image) {
    return run(image.rgb(), image.width(), image.height(), false);
  }

  /**
   * Class ids for interleaved RGB pixels.
   *
   * @param rgb {@code width * height * 3} bytes, interleaved RGB, row-major (not modified)
   * @throws IllegalArgumentException if {@code rgb} does not hold {@code width x height} pixels
   */
  public Segmentation segment(byte[] rgb, int width, int height) {
    checkSize(rgb, width, height);
    return run(rgb, width, height, false);
  }

  /**
   * Class ids and probabilities ({@link Segmentation#probabilities()}) from one run of the
   * network.
   *
   * @throws IllegalArgumentException if the probabilities ({@code width * height * classes}
   *     floats) do not fit one Java array
   * @throws IllegalStateException if the model has no probabilities output
   */
  public Segmentation segmentWithProbabilities(RgbImage image) {
    return segmentWithProbabilities(image.rgb(), image.width(), image.height());
  }

  /**
   * {@link #segmentWithProbabilities(RgbImage)} for interleaved RGB pixels.
   *
   * @throws IllegalArgumentException if {@code rgb} does not hold {@code width x height} pixels,
   *     or the probabilities do not fit one Java array
   * @throws IllegalStateException if the model has no probabilities output
   */
  public Segmentation segmentWithProbabilities(byte[] rgb, int width, int height) {
    if (!network.hasProbabilities()) {
      throw new IllegalStateException("model " + directory + " has no probabilities output");
    }
    int classes = info.config().numClasses();
    if ((long) width * height * classes > MAX_ARRAY) {
      throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
          "%dx%d image: %d classes x %d pixels of probabilities do not fit one Java array "
              + "(use segment() for class ids)", width, height, classes, (long) width * height));
    }
    checkSize(rgb, width, height);
    return run(rgb, width, height, true);
  }

  /**
   * Class ids for several images, in order. Consecutive images of the same size go through the
   * network together, as one batch of up to {@code 8}, which uses the cores better than one at a
   * time; images of other sizes, and large ones, run alone. Results equal {@link
   * #segment(RgbImage)}'s.
   */
  public List<Segmentation> segmentAll(List<RgbImage> images) {
    List<Segmentation> out = new ArrayList<>(images.size());
    int i = 0;
    while (i < images.size()) {
      RgbImage first = images.get(i);
      int j = i + 1;
      if (!isLarge(first.width(), first.height())) {
        while (j < images.size() && j - i < BATCH && images.get(j).width() == first.width()
            && images.get(j).height() == first.height()) {
          j++;
        }
      }
      if (j - i == 1) {
        out.add(segment(first));
      } else {
        out.addAll(fetchBatch(images.subList(i, j)));
      }
      i = j;
    }
    return out;
  }

  private static final int BATCH = 8;

  /** True when the model has a probabilities output (wrapped frozen graphs may not). */
  public boolean hasProbabilities() {
    return network.hasProbabilities();
  }

  /** The runtime running the network. */
  public Engine engine() {
    return engine;
  }

  /** The longest image side fed to TensorFlow as it is; longer ones are resized in Java. */
  public int maxSide() {
    return maxSide;
  }

  /** What the model says about itself: architecture, crop size, label set, class names. */
  public ModelInfo info() {
    return info;
  }

  /** The SavedModel version directory in use (or the ONNX file loaded). */
  public Path directory() {
    return directory;
  }

  @Override
  public void close() {
    network.close();
  }

  /** Runs the network once, directly or on the large-image path. */
  private Segmentation run(byte[] rgb, int width, int height, boolean probabilities) {
    int classes = info.config().numClasses();
    if (!isLarge(width, height)) {
      return fetch(rgb, width, height, probabilities);
    }
    int[] fit = Resampling.fittedSize(height, width, info.config().cropHeight(),
        info.config().cropWidth());
    int fh = fit[0];
    int fw = fit[1];
    Segmentation small = fetch(Resampling.bilinearRgb(rgb, width, height, fw, fh), fw, fh,
        probabilities);
    int[] ids = Resampling.nearest(small.classIdsShared(), fw, fh, width, height);
    float[] p = probabilities
        ? Resampling.bilinear(small.probabilitiesShared(), fw, fh, classes, width, height) : null;
    return new Segmentation(width, height, classes, ids, p);
  }

  private boolean isLarge(int width, int height) {
    return Math.max(width, height) > maxSide;
  }

  private Segmentation fetch(byte[] rgb, int width, int height, boolean probabilities) {
    Network.Output out = network.run(rgb, 1, height, width, probabilities);
    return new Segmentation(width, height, info.config().numClasses(), out.classIds(),
        out.probabilities());
  }

  private List<Segmentation> fetchBatch(List<RgbImage> images) {
    int n = images.size();
    int width = images.get(0).width();
    int height = images.get(0).height();
    int pixels = width * height;
    byte[] batch = new byte[Math.multiplyExact(n, pixels * 3)];
    for (int i = 0; i < n; i++) {
      System.arraycopy(images.get(i).rgb(), 0, batch, i * pixels * 3, pixels * 3);
    }
    int[] all = network.run(batch, n, height, width, false).classIds();
    List<Segmentation> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(new Segmentation(width, height, info.config().numClasses(),
          java.util.Arrays.copyOfRange(all, i * pixels, (i + 1) * pixels), null));
    }
    return out;
  }

  private static void checkSize(byte[] rgb, int width, int height) {
    if (width < 1 || height < 1 || (long) width * height * 3 != rgb.length) {
      throw new IllegalArgumentException("expected " + width + "x" + height + " RGB pixels ("
          + (long) width * height * 3 + " bytes), got " + rgb.length);
    }
  }

}
