package dev.deeplab.internal.serving;

import dev.deeplab.internal.model.DeepLab;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.nn.GraphOps;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ServingOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.image.DecodeImage;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TType;

/**
 * The inference graph we export and serve, with the official export's preprocessing inside
 * ({@code export_model.py}; the steps are in {@link ServingSteps}): images of any size in, class
 * ids (and probabilities) at the same size out. Unlike the official batch-1 frozen graph, batches
 * and images larger than the crop work.
 *
 * <p>Signatures, all with method name {@value #METHOD_NAME}, each with only the outputs its
 * clients need (TF Serving computes every output of a signature):
 *
 * <ul>
 *   <li>{@value #DEFAULT_SIGNATURE}: {@code image_bytes} string {@code [batch]}, each an encoded
 *       JPEG, PNG, GIF or BMP of any size (REST: {@code {"instances": [{"b64": "..."}, ...]}})
 *       &rarr; {@code semantic_png_bytes} string {@code [batch]}: a palette PNG per image at its
 *       own size, pixel value = class id, colours of the model's label set (REST returns it as
 *       {@code {"b64": ...}}). Sizes are read from each header first, and the whole request is
 *       refused (InvalidArgument, HTTP 400) if one image is not one of those formats or has more
 *       than {@link ServingOptions#maxPixels()} pixels, before anything is decoded. Images are
 *       decoded, fitted and post-processed one by one in graph loops; the network runs once on
 *       the batch. TF Serving's batching may concatenate requests: strings of any sizes batch.
 *   <li>{@value #IMAGES_SIGNATURE}: {@code images} uint8 {@code [batch, height, width, 3]} (one
 *       size per request) &rarr; {@code semantic} int32 {@code [batch, height, width]}.
 *   <li>{@value #PROBABILITIES_SIGNATURE}: {@code images} &rarr; {@code semantic} and {@code
 *       probabilities} float32 {@code [batch, height, width, classes]}.
 * </ul>
 *
 * <p>With {@link ServingOptions} of several scales or flipping, every signature runs the official
 * multi-scale inference ({@code predict_labels_multi_scale}): for each scale the image is scaled,
 * fitted into the crop scaled alike and run; the softmax of each run (and of the run on the
 * left-right flipped image, flipped back) is resized to the image and averaged; the class ids are
 * the argmax of the average. The average is taken at the image's size when the image fits the
 * crop, as the official code does (its evaluation pads images into the crop), and at the size
 * that fits the crop for larger images, then mapped to the image size like single-scale outputs:
 * memory stays bounded by the crop whatever the image size. The networks of all scales share one
 * set of variables.
 */
public final class ServingGraph implements AutoCloseable {
  public static final String DEFAULT_SIGNATURE = "serving_default";
  public static final String IMAGES_SIGNATURE = "predict_images";
  public static final String PROBABILITIES_SIGNATURE = "predict_probabilities";
  public static final String METHOD_NAME = "tensorflow/serving/predict";
  public static final String IMAGES = "images";
  public static final String IMAGE_BYTES = "image_bytes";
  public static final String SEMANTIC = "semantic";
  public static final String SEMANTIC_PNG_BYTES = "semantic_png_bytes";
  public static final String PROBABILITIES = "probabilities";

  private final Graph graph;
  private final ModelConfig config;
  private final ServingOptions options;
  private final NetState state;
  private final Placeholder<TUint8> images;
  private final Placeholder<TString> imageBytes;
  private final Operand<TInt32> semantic;
  private final Operand<TFloat32> probabilities;
  private final Operand<TString> semanticPng;

  /** One scale of the multi-scale ensemble: its input scale, its crop, a name for its ops. */
  private record Run(double scale, ModelConfig crop, String scope) {}

  /** Networks built after the first, which reuse its variables. */
  private int copies;

  private ServingGraph(ModelConfig config, ServingOptions options, AtrousMode atrous,
      double inputScale, int[] palette, Map<String, FloatTensor> frozenWeights) {
    this.graph = new Graph();
    this.config = config;
    this.options = options;
    try {
      Ops tf = GraphOps.create(graph);
      state = frozenWeights == null ? new NetState(false, false, atrous, 0)
          : NetState.folded(atrous, frozenWeights);
      List<Run> runs = new ArrayList<>();
      if (options.singleScale()) {
        // config's crop is already the one for inputScale (forScale scales it)
        runs.add(new Run(inputScale, config, "scale_0"));
      } else {
        for (double s : options.inferenceScales()) {
          ModelConfig crop = s == 1.0 ? config : config.withCropSize(
              ModelConfig.scaleDimension(config.cropHeight(), s),
              ModelConfig.scaleDimension(config.cropWidth(), s));
          runs.add(new Run(s, crop, "scale_" + runs.size()));
        }
      }
      images = tf.withName(IMAGES).placeholder(TUint8.class,
          Placeholder.shape(Shape.of(-1, -1, -1, 3)));
      Ops post = tf.withSubScope("postprocess");
      Operand<TFloat32> probs = null;
      if (options.singleScale()) {
        Run run = runs.get(0);
        ServingSteps.Fitted f = ServingSteps.fit(tf.withSubScope("preprocess_serving"), images,
            run.crop(), run.scale());
        Operand<TFloat32> region = ServingSteps.region(post,
            upsampled(tf, run, f.padded(), true), f.fitHeight(), f.fitWidth());
        semantic = tf.withName(SEMANTIC).identity(
            ServingSteps.classIds(post, region, f.height(), f.width(), TInt32.class));
        probs = ServingSteps.probabilities(post, region, f.height(), f.width());
      } else {
        Operand<TInt32> shape = post.shape(images);
        Operand<TInt32> h = post.gather(shape, post.constant(1), post.constant(0));
        Operand<TInt32> w = post.gather(shape, post.constant(2), post.constant(0));
        Operand<TInt32>[] base = ServingSteps.fittedSize(post, h, w, config, 1.0);
        Operand<TFloat32> average = multiScale(tf, runs, options.flip(), base);
        semantic = tf.withName(SEMANTIC).identity(
            ServingSteps.classIds(post, average, h, w, TInt32.class));
        probs = ServingSteps.resized(post, average, h, w);
      }
      probabilities = tf.withName(PROBABILITIES).ensureShape(probs,
          Shape.of(-1, -1, -1, config.numClasses()));

      imageBytes = tf.withName(IMAGE_BYTES).placeholder(TString.class,
          Placeholder.shape(Shape.of(-1)));
      semanticPng = encodedPath(tf, runs, palette);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /**
   * The network of {@code run} on {@code padded}, logits upsampled to its crop. The first network
   * of the graph ({@code create}) makes the variables under their official names at the root;
   * the others (other scales and flips, the bytes path) get their own scope and reuse them.
   */
  private Operand<TFloat32> upsampled(Ops tf, Run run, Operand<TFloat32> padded, boolean create) {
    Ops scope = create ? tf : tf.withSubScope("network_" + ++copies);
    NetState s = create ? state : NetState.reusing(state);
    Operand<TFloat32> logits = DeepLab.logits(NetScope.root(scope, s), padded, run.crop());
    return DeepLab.upsample(scope.withSubScope("upsample"), logits, run.crop().cropHeight(),
        run.crop().cropWidth());
  }

  /**
   * Probabilities of {@code images} averaged over the scales (and flips), at the base size: the
   * image's size fitted into the crop at scale 1 (the image's own size when it fits). Averaging
   * there bounds the memory by the crop, whatever the image size; callers map the average to the
   * image size as single-scale outputs are mapped.
   */
  private Operand<TFloat32> multiScale(Ops tf, List<Run> runs, boolean flip,
      Operand<TInt32>[] base) {
    List<Operand<TFloat32>> all = new ArrayList<>();
    for (int k = 0; k < runs.size(); k++) {
      Run run = runs.get(k);
      Ops pre = tf.withSubScope("preprocess_" + run.scope());
      Ops post = tf.withSubScope("postprocess_" + run.scope());
      for (boolean mirrored : flip ? new boolean[] {false, true} : new boolean[] {false}) {
        Operand<TUint8> in = mirrored ? ServingSteps.flipped(pre, images) : images;
        ServingSteps.Fitted f = ServingSteps.fit(pre, in, run.crop(), run.scale());
        Operand<TFloat32> p = ServingSteps.probabilities(post, ServingSteps.region(post,
            upsampled(tf, run, f.padded(), k == 0 && !mirrored), f.fitHeight(), f.fitWidth()),
            base[0], base[1]);
        all.add(mirrored ? ServingSteps.flipped(post, p) : p);
      }
    }
    Ops avg = tf.withSubScope("average");
    return avg.math.div(avg.math.addN(all), avg.constant((float) all.size()));
  }

  /**
   * The {@value #DEFAULT_SIGNATURE} path: header check of every image, a loop that decodes and
   * fits each image (for each scale and flip), the networks on the stacked batch, and a loop that
   * turns each image's logits into its palette PNG.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private Operand<TString> encodedPath(Ops tf, List<Run> runs, int[] palette) {
    Ops check = tf.withSubScope("image_bytes_check");
    Operand<TInt32> n = check.size(imageBytes, TInt32.class);
    Operand<TString> checked = BatchLoops.checkedImageBytes(graph, check, n, imageBytes,
        options.maxPixels());

    boolean flip = !options.singleScale() && options.flip();
    List<int[]> shapes = new ArrayList<>();
    List<Class<? extends TType>> types = new ArrayList<>();
    for (Run run : runs) {
      for (int m = 0; m < (flip ? 2 : 1); m++) {
        shapes.add(new int[] {run.crop().cropHeight(), run.crop().cropWidth(), 3});
        types.add(TFloat32.class);
      }
    }
    shapes.add(new int[] {2 + 2 * runs.size()});
    types.add(TInt32.class);
    Ops decode = tf.withSubScope("decode");
    List<Operand<? extends TType>> fitted = BatchLoops.map(graph, decode, "decode_loop", n, checked, List.of(),
        (b, i, bytes, extra) -> {
          Operand<TUint8> image = b.expandDims(b.image.decodeImage(
              b.gather(bytes, i, b.constant(0)), new DecodeImage.Options[] {
                  DecodeImage.channels(3L), DecodeImage.expandAnimations(false)}),
              b.constant(0));
          List<Operand<? extends TType>> out = new ArrayList<>();
          List<Operand<TInt32>> sizes = new ArrayList<>();
          for (Run run : runs) {
            ServingSteps.Fitted f = null;
            for (int m = 0; m < (flip ? 2 : 1); m++) {
              f = ServingSteps.fit(b, m == 1 ? ServingSteps.flipped(b, image) : image,
                  run.crop(), run.scale());
              out.add(b.reshape(f.padded(), b.constant(new int[] {run.crop().cropHeight(),
                  run.crop().cropWidth(), 3})));
            }
            if (sizes.isEmpty()) {
              sizes.add(f.height());
              sizes.add(f.width());
            }
            sizes.add(f.fitHeight());
            sizes.add(f.fitWidth());
          }
          out.add(b.stack(sizes));
          return out;
        }, shapes, types);

    List<Operand<? extends TType>> upsampled = new ArrayList<>();
    int j = 0;
    for (Run run : runs) {
      for (int m = 0; m < (flip ? 2 : 1); m++) {
        upsampled.add(upsampled(tf, run, (Operand<TFloat32>) fitted.get(j++), false));
      }
    }
    Operand<TInt32> sizes = (Operand<TInt32>) fitted.get(j);
    List<Operand<? extends TType>> carried = new ArrayList<>(upsampled);
    carried.add(sizes);
    boolean single = options.singleScale();
    Ops encode = tf.withSubScope("encode");
    Operand<TString> pngs = (Operand<TString>) BatchLoops.map(graph, encode, "encode_loop", n, checked,
        carried, (b, i, bytes, extra) -> {
          Operand<TInt32> size = b.gather((Operand<TInt32>) extra.get(extra.size() - 1), i,
              b.constant(0));
          Operand<TInt32> height = b.gather(size, b.constant(0), b.constant(0));
          Operand<TInt32> width = b.gather(size, b.constant(1), b.constant(0));
          Operand<TInt32>[] base = ServingSteps.fittedSize(b, height, width, config, 1.0);
          Operand<TUint8> ids = null;
          List<Operand<TFloat32>> probs = new ArrayList<>();
          int e = 0;
          for (int k = 0; k < runs.size(); k++) {
            Operand<TInt32> fh = b.gather(size, b.constant(2 + 2 * k), b.constant(0));
            Operand<TInt32> fw = b.gather(size, b.constant(3 + 2 * k), b.constant(0));
            for (int m = 0; m < (flip ? 2 : 1); m++) {
              Operand<TFloat32> up = b.expandDims(b.gather((Operand<TFloat32>) extra.get(e++), i,
                  b.constant(0)), b.constant(0));
              Operand<TFloat32> region = ServingSteps.region(b, up, fh, fw);
              if (single) {
                ids = ServingSteps.classIds(b, region, height, width, TUint8.class);
              } else {
                Operand<TFloat32> p = ServingSteps.probabilities(b, region, base[0], base[1]);
                probs.add(m == 1 ? ServingSteps.flipped(b, p) : p);
              }
            }
          }
          if (!single) {
            // The argmax of the sum is the argmax of the average.
            ids = ServingSteps.classIds(b, b.math.addN(probs), height, width, TUint8.class);
          }
          Operand<TUint8> hw1 = b.reshape(ids, b.stack(List.of(height, width, b.constant(1))));
          return List.of(PalettePng.encode(b, hw1, palette));
        }, List.of(new int[0]), List.of(TString.class)).get(0);
    return tf.withName(SEMANTIC_PNG_BYTES).identity(pngs);
  }

  /** Builds the serving graph of {@code config}: single scale, default limits, VOC colours. */
  public static ServingGraph build(ModelConfig config) {
    return build(config, ServingOptions.defaults(), LabelSet.unnamed(config.numClasses()));
  }

  /** Builds the serving graph with these options; masks take {@code labels}' colours. */
  public static ServingGraph build(ModelConfig config, ServingOptions options, LabelSet labels) {
    return new ServingGraph(config, options, AtrousMode.SPACE_TO_BATCH, 1.0, labels.palette(),
        null);
  }

  /**
   * Builds the frozen serving graph: {@code weights} (by official name) built in as constants,
   * each batch norm folded into the convolution before it at build time ({@link
   * NetState#folded}), so that no run computes anything on the weights. The variables are still
   * created under their official names but the signatures do not read them: restore {@code
   * weights} into them (as {@link SavedModelWriter} does) so that the SavedModel's checkpoint
   * keeps the official weights for everything that reads them by name.
   */
  public static ServingGraph buildFrozen(ModelConfig config, ServingOptions options,
      LabelSet labels, Map<String, FloatTensor> weights) {
    return new ServingGraph(config, options, AtrousMode.SPACE_TO_BATCH, 1.0, labels.palette(),
        weights);
  }

  /** Builds it with a chosen atrous-conv form (benchmarks). */
  public static ServingGraph build(ModelConfig config, AtrousMode atrous) {
    return new ServingGraph(config, ServingOptions.defaults(), atrous, 1.0,
        LabelSet.unnamed(config.numClasses()).palette(), null);
  }

  /**
   * One scale of the multi-scale ensemble as a graph of its own ({@code
   * predict_labels_multi_scale}): images are resized by {@code scale} and the crop grows with it,
   * outputs stay at the input size. For checking the ensemble run by run.
   */
  static ServingGraph forScale(ModelConfig config, double scale) {
    ModelConfig scaled = config.withCropSize(
        ModelConfig.scaleDimension(config.cropHeight(), scale),
        ModelConfig.scaleDimension(config.cropWidth(), scale));
    return new ServingGraph(scaled, ServingOptions.defaults(), AtrousMode.SPACE_TO_BATCH, scale,
        LabelSet.unnamed(config.numClasses()).palette(), null);
  }

  /** The signatures to export. */
  public List<Signature> signatures() {
    return List.of(
        Signature.builder().key(DEFAULT_SIGNATURE).methodName(METHOD_NAME)
            .input(IMAGE_BYTES, imageBytes).output(SEMANTIC_PNG_BYTES, semanticPng).build(),
        Signature.builder().key(IMAGES_SIGNATURE).methodName(METHOD_NAME)
            .input(IMAGES, images).output(SEMANTIC, semantic).build(),
        Signature.builder().key(PROBABILITIES_SIGNATURE).methodName(METHOD_NAME)
            .input(IMAGES, images).output(SEMANTIC, semantic)
            .output(PROBABILITIES, probabilities).build());
  }

  public Graph graph() {
    return graph;
  }

  public ModelConfig config() {
    return config;
  }

  public ServingOptions options() {
    return options;
  }

  public Operand<TUint8> images() {
    return images;
  }

  public Operand<TString> imageBytes() {
    return imageBytes;
  }

  public Operand<TInt32> semantic() {
    return semantic;
  }

  public Operand<TFloat32> probabilities() {
    return probabilities;
  }

  public Operand<TString> semanticPng() {
    return semanticPng;
  }

  /** The model variables by official name. */
  public Map<String, ModelVariable> variables() {
    return state.variables();
  }

  @Override
  public void close() {
    graph.close();
  }
}
