package dev.deeplab.internal.serving;

import dev.deeplab.internal.model.DeepLab;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.nn.GraphOps;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.model.ModelConfig;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Squeeze;
import org.tensorflow.op.image.DecodeImage;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.op.image.ResizeNearestNeighbor;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;

/**
 * The inference graph we export and serve: images of any size in, class ids and probabilities at
 * the same size out, with the official export's preprocessing inside the graph ({@code
 * export_model.py}, {@code input_preprocess.py}).
 *
 * <p>Each image of the batch is scaled down (align-corners bilinear, aspect kept) if it does not
 * fit the crop, padded at the bottom/right with the mean pixel to the crop size, run through the
 * network; the logits are upsampled to the crop, cut to the image region and mapped back to the
 * input size — class ids by nearest neighbour as the official export does, probabilities
 * bilinearly. Unlike the official batch-1 frozen graph, images larger than the crop work.
 *
 * <p>Two signatures share the network: {@value #DEFAULT_SIGNATURE} takes {@code images} uint8
 * {@code [batch, height, width, 3]}; {@value #BYTES_SIGNATURE} takes {@code image_bytes}, one
 * encoded JPEG/PNG/BMP/GIF as a string tensor {@code [1]} (TF Serving's REST {@code {"b64": ...}}).
 */
public final class ServingGraph implements AutoCloseable {
  public static final String DEFAULT_SIGNATURE = "serving_default";
  public static final String BYTES_SIGNATURE = "predict_image_bytes";
  public static final String METHOD_NAME = "tensorflow/serving/predict";
  public static final String IMAGES = "images";
  public static final String IMAGE_BYTES = "image_bytes";
  public static final String SEMANTIC = "semantic";
  public static final String PROBABILITIES = "probabilities";

  private final Graph graph;
  private final ModelConfig config;
  private final NetState state;
  private final Operand<TUint8> images;
  private final Placeholder<TString> imageBytes;
  private final Operand<TInt32> semantic;
  private final Operand<TFloat32> probabilities;

  private ServingGraph(ModelConfig config, AtrousMode atrous, double inputScale) {
    this.graph = new Graph();
    this.config = config;
    try {
      Ops tf = GraphOps.create(graph);
      state = new NetState(false, false, atrous, 0);
      imageBytes = tf.withName(IMAGE_BYTES).placeholder(TString.class,
          Placeholder.shape(Shape.of(1)));
      Ops dec = tf.withSubScope("decode");
      Operand<TUint8> decoded = dec.expandDims(
          dec.image.decodeImage(dec.reshape(imageBytes, dec.constant(new int[0])),
              new DecodeImage.Options[] {DecodeImage.channels(3L),
                  DecodeImage.expandAnimations(false)}),
          dec.constant(0));
      images = tf.withName(IMAGES).placeholderWithDefault(decoded, Shape.of(-1, -1, -1, 3));

      Ops pre = tf.withSubScope("preprocess_serving");
      Operand<TInt32> shape = pre.shape(images);
      Operand<TInt32> h = pre.gather(shape, pre.constant(1), pre.constant(0));
      Operand<TInt32> w = pre.gather(shape, pre.constant(2), pre.constant(0));
      Operand<TFloat32> hf = pre.dtypes.cast(h, TFloat32.class);
      Operand<TFloat32> wf = pre.dtypes.cast(w, TFloat32.class);
      // Multi-scale evaluation first resizes by the scale, then fits the result into the crop.
      Operand<TFloat32> scale = pre.math.minimum(pre.constant((float) inputScale), pre.math.minimum(
          pre.math.div(pre.constant((float) config.cropHeight()), hf),
          pre.math.div(pre.constant((float) config.cropWidth()), wf)));
      Operand<TInt32> nh = fitted(pre, hf, scale, config.cropHeight());
      Operand<TInt32> nw = fitted(pre, wf, scale, config.cropWidth());
      Operand<TInt32> size = pre.stack(java.util.List.of(nh, nw));
      Operand<TFloat32> pixels = pre.image.resizeBilinear(
          pre.dtypes.cast(images, TFloat32.class), size, ResizeBilinear.alignCorners(true));
      Operand<TFloat32> mean = pre.constant(new float[][][][] {{{config.variant().meanPixel()}}});
      Operand<TInt32> zero = pre.constant(0);
      Operand<TInt32> paddings = pre.reshape(pre.stack(java.util.List.of(
          zero, zero,
          zero, pre.math.sub(pre.constant(config.cropHeight()), nh),
          zero, pre.math.sub(pre.constant(config.cropWidth()), nw),
          zero, zero)), pre.constant(new int[] {4, 2}));
      Operand<TFloat32> padded = pre.math.add(
          pre.pad(pre.math.sub(pixels, mean), paddings, pre.constant(0f)), mean);
      padded = pre.reshape(padded,
          pre.constant(new int[] {-1, config.cropHeight(), config.cropWidth(), 3}));

      Operand<TFloat32> logits = DeepLab.logits(NetScope.root(tf, state), padded, config);

      Ops post = tf.withSubScope("postprocess");
      Operand<TFloat32> up = DeepLab.upsample(post, logits, config.cropHeight(), config.cropWidth());
      Operand<TFloat32> region = post.slice(up, post.constant(new int[] {0, 0, 0, 0}),
          post.stack(java.util.List.of(post.constant(-1), nh, nw, post.constant(-1))));
      Operand<TInt32> ids = post.math.argMax(region, post.constant(3), TInt32.class);
      Operand<TInt32> originalSize = post.stack(java.util.List.of(h, w));
      semantic = tf.withName(SEMANTIC).squeeze(
          post.image.resizeNearestNeighbor(post.expandDims(ids, post.constant(-1)), originalSize,
              ResizeNearestNeighbor.alignCorners(true)),
          Squeeze.axis(java.util.List.of(3L)));
      probabilities = tf.withName(PROBABILITIES).identity(
          post.image.resizeBilinear(post.nn.softmax(region), originalSize,
              ResizeBilinear.alignCorners(true)));
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** {@code clip(round(d * scale), 1, crop)}: the size of one side after fitting into the crop. */
  private static Operand<TInt32> fitted(Ops tf, Operand<TFloat32> d, Operand<TFloat32> scale,
      int crop) {
    Operand<TFloat32> r = tf.math.round(tf.math.mul(d, scale));
    return tf.dtypes.cast(
        tf.clipByValue(r, tf.constant(1f), tf.constant((float) crop)), TInt32.class);
  }

  /** Builds the serving graph of {@code config} with space-to-batch atrous convs. */
  public static ServingGraph build(ModelConfig config) {
    return new ServingGraph(config, AtrousMode.SPACE_TO_BATCH, 1.0);
  }

  /** Builds it with a chosen atrous-conv form. */
  public static ServingGraph build(ModelConfig config, AtrousMode atrous) {
    return new ServingGraph(config, atrous, 1.0);
  }

  /**
   * A graph for one scale of multi-scale evaluation ({@code predict_labels_multi_scale}): images
   * are resized by {@code scale} and the crop grows with it, outputs stay at the input size.
   */
  public static ServingGraph forScale(ModelConfig config, double scale) {
    ModelConfig scaled = config.withCropSize(
        ModelConfig.scaleDimension(config.cropHeight(), scale),
        ModelConfig.scaleDimension(config.cropWidth(), scale));
    return new ServingGraph(scaled, AtrousMode.SPACE_TO_BATCH, scale);
  }

  /** The {@value #DEFAULT_SIGNATURE} signature: {@code images} → semantic, probabilities. */
  public Signature defaultSignature() {
    return Signature.builder().key(DEFAULT_SIGNATURE).methodName(METHOD_NAME)
        .input(IMAGES, images).output(SEMANTIC, semantic).output(PROBABILITIES, probabilities)
        .build();
  }

  /** The {@value #BYTES_SIGNATURE} signature: {@code image_bytes} → semantic, probabilities. */
  public Signature bytesSignature() {
    return Signature.builder().key(BYTES_SIGNATURE).methodName(METHOD_NAME)
        .input(IMAGE_BYTES, imageBytes).output(SEMANTIC, semantic)
        .output(PROBABILITIES, probabilities).build();
  }

  public Graph graph() {
    return graph;
  }

  public ModelConfig config() {
    return config;
  }

  public Operand<TUint8> images() {
    return images;
  }

  public Operand<TInt32> semantic() {
    return semantic;
  }

  public Operand<TFloat32> probabilities() {
    return probabilities;
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
