package dev.deeplab.infer;

import dev.deeplab.export.ModelInfo;
import dev.deeplab.export.SavedModels;
import dev.deeplab.export.ServingGraph;
import java.io.IOException;
import java.nio.file.Path;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
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
 * {@code probabilities} when asked). Safe to share between threads: TF sessions run concurrently.
 * Close it to release the native model.
 */
public final class Segmenter implements AutoCloseable {
  private final SavedModelBundle bundle;
  private final ModelInfo info;
  private final Path directory;
  private final String imagesTensor;
  private final String semanticTensor;
  private final String probabilitiesTensor;

  private Segmenter(SavedModelBundle bundle, ModelInfo info, Path directory) {
    this.bundle = bundle;
    this.info = info;
    this.directory = directory;
    SignatureDef sig = bundle.metaGraphDef().getSignatureDefMap()
        .get(ServingGraph.DEFAULT_SIGNATURE);
    if (sig == null || !sig.getInputsMap().containsKey(ServingGraph.IMAGES)
        || !sig.getOutputsMap().containsKey(ServingGraph.SEMANTIC)) {
      bundle.close();
      throw new IllegalArgumentException("model " + directory + " has no '"
          + ServingGraph.DEFAULT_SIGNATURE + "' signature with input '" + ServingGraph.IMAGES
          + "' and output '" + ServingGraph.SEMANTIC + "'");
    }
    imagesTensor = sig.getInputsMap().get(ServingGraph.IMAGES).getName();
    semanticTensor = sig.getOutputsMap().get(ServingGraph.SEMANTIC).getName();
    probabilitiesTensor = sig.getOutputsMap().containsKey(ServingGraph.PROBABILITIES)
        ? sig.getOutputsMap().get(ServingGraph.PROBABILITIES).getName() : null;
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
    Path dir = SavedModels.resolve(model);
    ModelInfo info = SavedModels.readInfo(dir);
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
    return new Segmenter(bundle, info, dir);
  }

  /** Class ids for an interleaved RGB image. */
  public Segmentation segment(byte[] rgb, int width, int height) {
    checkSize(rgb, width, height);
    try (TUint8 input = TUint8.tensorOf(Shape.of(1, height, width, 3), DataBuffers.of(rgb, true, false));
        Result r = bundle.session().runner().feed(imagesTensor, input).fetch(semanticTensor).run()) {
      TInt32 ids = (TInt32) r.get(0);
      int[] out = new int[width * height];
      ids.copyTo(DataBuffers.of(out, false, false));
      return new Segmentation(width, height, out, info.config().numClasses());
    }
  }

  /** Class probabilities {@code [height, width, classes]} row-major, for an RGB image. */
  public float[] probabilities(byte[] rgb, int width, int height) {
    checkSize(rgb, width, height);
    if (probabilitiesTensor == null) {
      throw new IllegalStateException("model " + directory + " has no probabilities output");
    }
    try (TUint8 input = TUint8.tensorOf(Shape.of(1, height, width, 3), DataBuffers.of(rgb, true, false));
        Result r = bundle.session().runner().feed(imagesTensor, input)
            .fetch(probabilitiesTensor).run()) {
      TFloat32 p = (TFloat32) r.get(0);
      float[] out = new float[(int) p.shape().size()];
      p.copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  private static void checkSize(byte[] rgb, int width, int height) {
    if (width < 1 || height < 1 || (long) width * height * 3 != rgb.length) {
      throw new IllegalArgumentException("expected " + width + "x" + height + " RGB pixels ("
          + (long) width * height * 3 + " bytes), got " + rgb.length);
    }
  }

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
