package dev.deeplab.eval;

import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.serving.FrozenGraphWrapper;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.serving.ServingGraph;
import dev.deeplab.model.ModelInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TUint8;

/**
 * Predicts class ids the way the official evaluation does ({@code eval.py}, {@code
 * predict_labels_multi_scale}): for each scale the image is resized and run with the crop scaled
 * alike, the logits are upsampled to the image, softmaxed, optionally averaged with the
 * prediction on the left-right flipped image, and the softmax is averaged over all runs before
 * the argmax. With one scale of 1.0 and no flip it is the plain single-scale prediction.
 *
 * <p>A single scale without flip runs the model's own {@code serving_default} signature through a
 * {@link Segmenter}, so any SavedModel of ours works (a wrapped frozen graph included); other
 * settings load the model's weights by name into one graph per scale.
 *
 * <p>Thread-safe once open, as {@link dev.deeplab.infer.Segmenter} is: TensorFlow sessions run
 * concurrently and the Java side keeps no mutable state. Close it to release the native models.
 */
public final class Evaluator implements AutoCloseable {
  private final ModelInfo info;
  private final List<ServingGraph> graphs = new ArrayList<>();
  private final List<Session> sessions = new ArrayList<>();
  private final boolean flip;
  private Segmenter direct;

  private Evaluator(ModelInfo info, boolean flip) {
    this.info = info;
    this.flip = flip;
  }

  /** Opens a SavedModel we exported for evaluation at the given scales. */
  public static Evaluator open(Path model, List<Double> scales, boolean flip) throws IOException {
    if (scales.isEmpty() || scales.stream().anyMatch(s -> !(s > 0 && s <= 4))) {
      throw new IllegalArgumentException("scales must be in (0, 4], got " + scales);
    }
    Path dir = SavedModels.resolve(model);
    Evaluator e = new Evaluator(SavedModels.readInfo(dir), flip);
    if (scales.equals(List.of(1.0)) && !flip) {
      e.direct = Segmenter.load(dir);
      return e;
    }
    if (FrozenGraphWrapper.isWrapped(e.info)) {
      throw new IllegalArgumentException("multi-scale and flipped evaluation rebuild the network "
          + "from its weights; " + dir + " wraps a frozen graph, which runs at one scale only");
    }
    String variables = dir.resolve("variables").resolve("variables").toString();
    try {
      for (double s : scales) {
        ServingGraph g = ServingGraph.forScale(e.info.config(), s);
        e.graphs.add(g);
        Session session = new Session(g.graph());
        e.sessions.add(session);
        session.restore(variables);
      }
    } catch (TensorFlowException | IllegalArgumentException ex) {
      e.close();
      throw new IOException("cannot load weights of " + dir + ": "
          + String.valueOf(ex.getMessage()).strip().split("\\R", 2)[0], ex);
    }
    return e;
  }

  public ModelInfo info() {
    return info;
  }

  /** Class ids of {@code image}, row-major: the argmax of {@link #probabilities}. */
  public int[] predict(RgbImage image) {
    if (direct != null) {
      return direct.segment(image).classIds();
    }
    float[] p = average(image);
    int c = info.config().numClasses();
    int[] ids = new int[image.width() * image.height()];
    for (int i = 0; i < ids.length; i++) {
      int best = 0;
      for (int k = 1; k < c; k++) {
        if (p[i * c + k] > p[i * c + best]) {
          best = k;
        }
      }
      ids[i] = best;
    }
    return ids;
  }

  /**
   * The softmax probabilities of {@code image}, {@code [height, width, classes]} row-major,
   * averaged over the scales and flips ({@code predict_labels_multi_scale}'s mean).
   *
   * @throws IllegalStateException for a model without probabilities (a wrapped frozen graph)
   */
  public float[] probabilities(RgbImage image) {
    return direct != null ? direct.segmentWithProbabilities(image).probabilities() : average(image);
  }

  private float[] average(RgbImage image) {
    int w = image.width();
    int h = image.height();
    int c = info.config().numClasses();
    float[] sum = new float[w * h * c];
    byte[] flipped = flip ? flipRows(image.rgb(), w, h, 3) : null;
    for (int i = 0; i < graphs.size(); i++) {
      accumulate(i, image.rgb(), w, h, sum, false);
      if (flip) {
        accumulate(i, flipped, w, h, sum, true);
      }
    }
    int runs = graphs.size() * (flip ? 2 : 1);
    for (int i = 0; i < sum.length; i++) {
      sum[i] /= runs;
    }
    return sum;
  }

  private void accumulate(int g, byte[] rgb, int w, int h, float[] sum, boolean flipped) {
    int c = info.config().numClasses();
    try (TUint8 in = tensor(rgb, w, h);
        Result r = sessions.get(g).runner().feed(graphs.get(g).images(), in)
            .fetch(graphs.get(g).probabilities()).run()) {
      float[] p = new float[w * h * c];
      ((TFloat32) r.get(0)).copyTo(DataBuffers.of(p, false, false));
      if (flipped) {
        p = flipRows(p, w, h, c);
      }
      for (int i = 0; i < p.length; i++) {
        sum[i] += p[i];
      }
    }
  }

  private static TUint8 tensor(byte[] rgb, int w, int h) {
    return TUint8.tensorOf(Shape.of(1, h, w, 3), DataBuffers.of(rgb, true, false));
  }

  /** Mirrors each row of an interleaved [h, w, channels] array. */
  static byte[] flipRows(byte[] a, int w, int h, int channels) {
    byte[] out = new byte[a.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        System.arraycopy(a, (y * w + x) * channels, out, (y * w + (w - 1 - x)) * channels, channels);
      }
    }
    return out;
  }

  static float[] flipRows(float[] a, int w, int h, int channels) {
    float[] out = new float[a.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        System.arraycopy(a, (y * w + x) * channels, out, (y * w + (w - 1 - x)) * channels, channels);
      }
    }
    return out;
  }

  @Override
  public void close() {
    if (direct != null) {
      direct.close();
    }
    sessions.forEach(Session::close);
    graphs.forEach(ServingGraph::close);
  }
}
