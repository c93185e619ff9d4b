package dev.deeplab.eval;

import dev.deeplab.image.LabelMap;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.serving.FrozenGraphWrapper;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.serving.ServingGraph;
import dev.deeplab.model.ModelInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;

/**
 * Predicts class ids the way the official evaluation does ({@code eval.py}, {@code
 * predict_labels_multi_scale}): for each scale the image is resized and run with the crop scaled
 * alike, the logits are upsampled, softmaxed, optionally averaged with the prediction on the
 * left-right flipped image, and the softmax is averaged over all runs before the argmax. With one
 * scale of 1.0 and no flip it is the plain single-scale prediction.
 *
 * <p>A single scale without flip runs the model's own serving graph through a {@link Segmenter},
 * so any SavedModel of ours works (a wrapped frozen graph included); other settings rebuild the
 * serving graph with those inference scales ({@code export --inference-scales ... --flip} bakes
 * the same graph into a SavedModel) and load the model's weights into it by name.
 *
 * <p>Thread-safe once open, as {@link Segmenter} is: TensorFlow sessions run concurrently and the
 * Java side keeps no mutable state. Close it to release the native models.
 */
public final class Evaluator implements AutoCloseable {
  private final ModelInfo info;
  private final Segmenter direct;
  private final ServingGraph graph;
  private final Session session;

  private Evaluator(ModelInfo info, Segmenter direct, ServingGraph graph, Session session) {
    this.info = info;
    this.direct = direct;
    this.graph = graph;
    this.session = session;
  }

  /**
   * Opens a SavedModel we exported for evaluation at the given scales.
   *
   * @throws IllegalArgumentException for scales outside (0, 4], or several scales or flipping on
   *     a wrapped frozen graph
   * @throws IOException if the model cannot be read or its weights do not fit
   */
  public static Evaluator open(Path model, List<Double> scales, boolean flip) throws IOException {
    if (scales.isEmpty() || scales.stream().anyMatch(s -> !(s > 0 && s <= 4))) {
      throw new IllegalArgumentException("scales must be in (0, 4], got " + scales);
    }
    Path dir = SavedModels.resolve(model);
    ModelInfo info = SavedModels.readInfo(dir);
    if (scales.equals(List.of(1.0)) && !flip) {
      return new Evaluator(info, Segmenter.load(dir), null, null);
    }
    if (FrozenGraphWrapper.isWrapped(info)) {
      throw new IllegalArgumentException("multi-scale and flipped evaluation rebuild the network "
          + "from its weights; " + dir + " wraps a frozen graph, which runs at one scale only");
    }
    ServingGraph graph = ServingGraph.build(info.config(),
        info.serving().withScales(scales, flip), info.labels());
    Session session = new Session(graph.graph());
    try {
      session.restore(dir.resolve("variables").resolve("variables").toString());
    } catch (TensorFlowException | IllegalArgumentException e) {
      session.close();
      graph.close();
      throw new IOException("cannot load weights of " + dir + ": "
          + String.valueOf(e.getMessage()).strip().split("\\R", 2)[0], e);
    }
    return new Evaluator(info, null, graph, session);
  }

  public ModelInfo info() {
    return info;
  }

  /** Class ids of {@code image}, row-major: the argmax of {@link #probabilities}. */
  public int[] predict(RgbImage image) {
    if (direct != null) {
      return direct.segment(image).classIds();
    }
    try (TUint8 in = tensor(image);
        Result r = session.runner().feed(graph.images(), in).fetch(graph.semantic()).run()) {
      int[] ids = new int[image.width() * image.height()];
      ((TInt32) r.get(0)).copyTo(DataBuffers.of(ids, false, false));
      return ids;
    }
  }

  /**
   * Class ids of {@code image} predicted after the official {@code resize_to_range}: the image is
   * resized, predicted, and the prediction mapped back to the image's size by align-corners
   * nearest neighbour (as {@code export_model.py} does), row-major.
   */
  public int[] predict(RgbImage image, ResizeToRange resize) {
    RgbImage resized = resize.resize(image);
    if (resized == image) {
      return predict(image);
    }
    LabelMap ids = LabelMap.ofInts(resized.width(), resized.height(), predict(resized));
    return ResizeToRange.resizeNearest(ids, image.width(), image.height()).toIntArray();
  }

  /**
   * The softmax probabilities of {@code image}, {@code [height, width, classes]} row-major,
   * averaged over the scales and flips ({@code predict_labels_multi_scale}'s mean).
   *
   * @throws IllegalStateException for a model without probabilities (a wrapped frozen graph)
   */
  public float[] probabilities(RgbImage image) {
    if (direct != null) {
      return direct.segmentWithProbabilities(image).probabilities();
    }
    try (TUint8 in = tensor(image);
        Result r = session.runner().feed(graph.images(), in).fetch(graph.probabilities())
            .run()) {
      TFloat32 p = (TFloat32) r.get(0);
      float[] out = new float[Math.toIntExact(p.shape().size())];
      p.copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }

  private static TUint8 tensor(RgbImage image) {
    return TUint8.tensorOf(Shape.of(1, image.height(), image.width(), 3),
        DataBuffers.of(image.rgb(), true, false));
  }

  @Override
  public void close() {
    if (direct != null) {
      direct.close();
    }
    if (session != null) {
      session.close();
      graph.close();
    }
  }
}
