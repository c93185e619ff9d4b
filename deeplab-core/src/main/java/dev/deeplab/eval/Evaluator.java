package dev.deeplab.eval;

import dev.deeplab.data.DatasetException;
import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.DenseCrf;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.serving.FrozenGraphWrapper;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.serving.ServingGraph;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.train.TrainingRun;
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
 * the same graph into a SavedModel) and load the model's weights into it by name. A training
 * checkpoint is evaluated the same way, with the graph {@code train --export} would write
 * ({@link #open(TrainingRun, long, List, boolean)}), as the official {@code eval.py} evaluates
 * the checkpoints of its {@code --checkpoint_dir}.
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
    checkScales(scales);
    Path dir = SavedModels.resolve(model);
    ModelInfo info = SavedModels.readInfo(dir);
    if (scales.equals(List.of(1.0)) && !flip) {
      return new Evaluator(info, Segmenter.load(dir), null, null);
    }
    if (FrozenGraphWrapper.isWrapped(info)) {
      throw new IllegalArgumentException("multi-scale and flipped evaluation rebuild the network "
          + "from its weights; " + dir + " wraps a frozen graph, which runs at one scale only");
    }
    return loaded(unloaded(info, scales, flip), dir.resolve("variables").resolve("variables"));
  }

  /**
   * Evaluates at one scale with {@code segmenter} as it is configured (its engine, its model
   * limits): the official single-scale evaluation, as {@link #open(Path, List, boolean)} with
   * scale 1.0 does with a default segmenter. The evaluator owns the segmenter and closes it.
   */
  public static Evaluator open(Segmenter segmenter) {
    return new Evaluator(segmenter.info(), segmenter, null, null);
  }

  /**
   * Opens the checkpoint of {@code step} of a training run without exporting it: the serving
   * graph of {@link TrainingRun#modelInfo} (the graph {@code train --export} writes) is built in
   * memory and the checkpoint's model variables are restored into it by name; optimizer slots and
   * {@code global_step} are not read. Predictions equal those of the exported SavedModel.
   *
   * @throws IllegalArgumentException for scales outside (0, 4]
   * @throws IOException if the checkpoint cannot be read or does not fit the run's model
   */
  public static Evaluator open(TrainingRun run, long step, List<Double> scales, boolean flip)
      throws IOException {
    return loaded(withoutWeights(run, scales, flip), run.checkpoint(step));
  }

  /**
   * The evaluator of a run's checkpoints with no weights loaded yet: {@link #restore} one before
   * predicting.
   */
  static Evaluator withoutWeights(TrainingRun run, List<Double> scales, boolean flip) {
    checkScales(scales);
    return unloaded(run.modelInfo(), scales, flip);
  }

  private static void checkScales(List<Double> scales) {
    if (scales.isEmpty() || scales.stream().anyMatch(s -> !(s > 0 && s <= 4))) {
      throw new IllegalArgumentException("scales must be in (0, 4], got " + scales);
    }
  }

  /** The serving graph of {@code info} at the given scales, variables not yet set. */
  private static Evaluator unloaded(ModelInfo info, List<Double> scales, boolean flip) {
    ServingGraph graph = ServingGraph.build(info.config(),
        info.serving().withScales(scales, flip), info.labels());
    return new Evaluator(info, null, graph, new Session(graph.graph()));
  }

  /** {@code evaluator} with the weights of {@code prefix}; closed if they cannot be read. */
  private static Evaluator loaded(Evaluator evaluator, Path prefix) throws IOException {
    try {
      evaluator.restore(prefix);
    } catch (IOException e) {
      evaluator.close();
      throw e;
    }
    return evaluator;
  }

  /**
   * Replaces the weights by those of the checkpoint at {@code prefix} (same model); the graph is
   * kept. Not to be called while predictions run.
   *
   * @throws IOException if it cannot be read, e.g. because it was deleted meanwhile
   */
  void restore(Path prefix) throws IOException {
    try {
      Checkpoints.checkIndex(prefix.toString());
      session.restore(prefix.toString());
    } catch (dev.deeplab.internal.checkpoint.CheckpointException e) {
      throw new IOException(e.getMessage(), e);
    } catch (TensorFlowException | IllegalArgumentException e) {
      throw new IOException("cannot load weights of " + prefix + ": "
          + String.valueOf(e.getMessage()).strip().split("\\R", 2)[0], e);
    }
  }

  public ModelInfo info() {
    return info;
  }

  /**
   * Evaluates a split: every image predicted as {@link #predict(RgbImage, ResizeToRange)} does,
   * its pixels counted in a confusion matrix over the model's classes that leaves out {@code
   * labels}' ignore label (255; 0 for ADE20K), as the official {@code eval.py} streams {@code
   * tf.metrics.mean_iou}.
   *
   * @param labels the classes scored, normally {@code info().labels()}; a dataset's own label set
   *     (e.g. {@code --dataset ade20k}) must have the model's class count
   * @param resize the official {@code resize_to_range} applied before predicting; {@link
   *     ResizeToRange#none()} for none
   * @param afterImage called after each image (e.g. for progress)
   * @throws DatasetException if the split or an image cannot be read
   * @throws IllegalArgumentException if {@code labels} has another class count than the model
   */
  public ConfusionMatrix evaluate(SegmentationDataset dataset, LabelSet labels,
      ResizeToRange resize, Runnable afterImage) throws DatasetException {
    int classes = checkedClasses(labels);
    ConfusionMatrix cm = new ConfusionMatrix(classes, labels.ignoreLabel());
    for (SegmentationDataset.Sample s : dataset.samples()) {
      SegmentationDataset.LoadedSample loaded = dataset.load(s, classes, labels.ignoreLabel());
      cm.add(loaded.label().toIntArray(), predict(loaded.image(), resize));
      afterImage.run();
    }
    return cm;
  }

  /**
   * The scores of a split with and without the fully connected CRF: confusion matrices and
   * trimap accuracies of the plain prediction and of the CRF-refined one.
   */
  public record CrfComparison(ConfusionMatrix plain, ConfusionMatrix refined,
      TrimapAccuracy plainTrimap, TrimapAccuracy refinedTrimap) {}

  /**
   * Evaluates a split as {@link #evaluate} does, and the same predictions refined by {@code crf}:
   * per image the class ids and the softmax of {@link #probabilities} (after the official {@code
   * resize_to_range}, like {@link #predict(RgbImage, ResizeToRange)}) as the plain prediction, and the
   * argmax of the CRF's marginals (with the image the network saw) as the refined one; both are
   * mapped back to the image's size and scored against the same labels, in the confusion matrix
   * and in the band of {@code trimapBand} pixels around label boundaries ({@link
   * TrimapAccuracy}). The plain prediction is the model's own (the same run of the network gives
   * class ids and probabilities), so the plain scores are {@link #evaluate}'s.
   *
   * @throws IllegalStateException for a model without probabilities (a wrapped frozen graph)
   * @throws DatasetException if the split or an image cannot be read
   */
  public CrfComparison evaluateWithCrf(SegmentationDataset dataset, LabelSet labels,
      ResizeToRange resize, DenseCrf crf, int trimapBand, Runnable afterImage)
      throws DatasetException {
    int classes = checkedClasses(labels);
    CrfComparison result = new CrfComparison(new ConfusionMatrix(classes, labels.ignoreLabel()),
        new ConfusionMatrix(classes, labels.ignoreLabel()),
        new TrimapAccuracy(trimapBand, labels.ignoreLabel()),
        new TrimapAccuracy(trimapBand, labels.ignoreLabel()));
    for (SegmentationDataset.Sample s : dataset.samples()) {
      SegmentationDataset.LoadedSample loaded = dataset.load(s, classes, labels.ignoreLabel());
      RgbImage image = loaded.image();
      RgbImage resized = resize.resize(image);
      Prediction prediction = predictWithProbabilities(resized);
      int[] truth = loaded.label().toIntArray();
      int[] plain = atImageSize(prediction.ids(), resized, image);
      int[] refined = atImageSize(DenseCrf.argmax(crf.marginals(resized,
          prediction.probabilities(), classes), classes), resized, image);
      result.plain().add(truth, plain);
      result.refined().add(truth, refined);
      result.plainTrimap().add(truth, plain, image.width(), image.height());
      result.refinedTrimap().add(truth, refined, image.width(), image.height());
      afterImage.run();
    }
    return result;
  }

  /** Class ids and probabilities of one run of the network. */
  private record Prediction(int[] ids, float[] probabilities) {}

  private Prediction predictWithProbabilities(RgbImage image) {
    if (direct != null) {
      Segmentation s = direct.segmentWithProbabilities(image);
      return new Prediction(s.classIds(), s.probabilities());
    }
    try (TUint8 in = tensor(image);
        Result r = session.runner().feed(graph.images(), in).fetch(graph.semantic())
            .fetch(graph.probabilities()).run()) {
      int[] ids = new int[image.width() * image.height()];
      ((TInt32) r.get(0)).copyTo(DataBuffers.of(ids, false, false));
      TFloat32 p = (TFloat32) r.get(1);
      float[] probabilities = new float[Math.toIntExact(p.shape().size())];
      p.copyTo(DataBuffers.of(probabilities, false, false));
      return new Prediction(ids, probabilities);
    }
  }

  /** Whether {@link #probabilities} works: not for a wrapped frozen graph. */
  public boolean hasProbabilities() {
    return direct == null || direct.hasProbabilities();
  }

  private static int[] atImageSize(int[] ids, RgbImage resized, RgbImage image) {
    if (resized == image) {
      return ids;
    }
    return ResizeToRange.resizeNearest(LabelMap.ofInts(resized.width(), resized.height(), ids),
        image.width(), image.height()).toIntArray();
  }

  private int checkedClasses(LabelSet labels) {
    int classes = info.config().numClasses();
    if (labels.numClasses() != classes) {
      throw new IllegalArgumentException("the label set " + labels.name() + " has "
          + labels.numClasses() + " classes but the model predicts " + classes);
    }
    return classes;
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
