package dev.deeplab.internal.serving;

import dev.deeplab.internal.nn.GraphOps;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.nn.NetScope;
import dev.deeplab.internal.nn.NetState;
import dev.deeplab.internal.torch.TorchNetworks;
import dev.deeplab.internal.torch.VariableWeights;
import dev.deeplab.internal.torch.Weights;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ServingOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.image.DecodeImage;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TType;

/**
 * The serving graph of a PyTorch network ({@link dev.deeplab.model.ModelVariant.Family#PYTORCH}),
 * with the signatures and tensor names of {@link ServingGraph}: the network runs on each image at
 * its own size, exactly as the PyTorch model's {@code forward} (no padding into a crop, which
 * would change its border and image-pooling values); logits are upsampled with PyTorch's {@code
 * align_corners=False} bilinear; the class ids are their argmax, the probabilities their softmax.
 * Images with a side above the crop are first scaled down to fit it, as {@link ServingGraph} does
 * (align-corners bilinear, aspect kept), and the outputs mapped back to their size.
 *
 * <p>The {@value ServingGraph#DEFAULT_SIGNATURE} path runs the network once per image, inside a
 * graph loop (images of a request have different sizes); the weights enter the loop as loop
 * values, since a loop body cannot read the graph's variables. Multi-scale and flipped inference
 * are not offered for these networks.
 */
public final class TorchServingGraph implements AutoCloseable {
  private final Graph graph;
  private final ModelConfig config;
  private final ServingOptions options;
  private final NetState state;
  private final Placeholder<TUint8> images;
  private final Placeholder<TString> imageBytes;
  private final Operand<TInt32> semantic;
  private final Operand<TFloat32> probabilities;
  private final Operand<TString> semanticPng;

  private TorchServingGraph(ModelConfig config, ServingOptions options, int[] palette) {
    if (!options.singleScale()) {
      throw new IllegalArgumentException("multi-scale and flipped inference are not available for "
          + "PyTorch networks (" + config.variant() + ")");
    }
    this.graph = new Graph();
    this.config = config;
    this.options = options;
    try {
      Ops tf = GraphOps.create(graph);
      state = NetState.inference();
      images = tf.withName(ServingGraph.IMAGES).placeholder(TUint8.class,
          Placeholder.shape(Shape.of(-1, -1, -1, 3)));
      Ops post = tf.withSubScope("postprocess");
      Operand<TFloat32>[] out = classify(tf, new VariableWeights(NetScope.root(tf, state)),
          images);
      Operand<TInt32> shape = post.shape(images);
      Operand<TInt32> h = post.gather(shape, post.constant(1), post.constant(0));
      Operand<TInt32> w = post.gather(shape, post.constant(2), post.constant(0));
      semantic = tf.withName(ServingGraph.SEMANTIC).identity(
          ServingSteps.classIds(post, out[0], h, w, TInt32.class));
      probabilities = tf.withName(ServingGraph.PROBABILITIES).ensureShape(
          ServingSteps.probabilities(post, out[0], h, w),
          Shape.of(-1, -1, -1, config.numClasses()));
      imageBytes = tf.withName(ServingGraph.IMAGE_BYTES).placeholder(TString.class,
          Placeholder.shape(Shape.of(-1)));
      semanticPng = encodedPath(tf, palette);
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /** Builds the serving graph of a PyTorch network; masks take {@code labels}' colours. */
  public static TorchServingGraph build(ModelConfig config, ServingOptions options,
      LabelSet labels) {
    return new TorchServingGraph(config, options, labels.palette());
  }

  /**
   * The network on {@code batch} (uint8, one size) fitted into the crop: {@code [0]} the logits
   * upsampled to the fitted size.
   */
  @SuppressWarnings("unchecked")
  private Operand<TFloat32>[] classify(Ops tf, Weights weights, Operand<TUint8> batch) {
    Ops pre = tf.withSubScope("preprocess_serving");
    Operand<TInt32> shape = pre.shape(batch);
    Operand<TInt32> h = pre.gather(shape, pre.constant(1), pre.constant(0));
    Operand<TInt32> w = pre.gather(shape, pre.constant(2), pre.constant(0));
    Operand<TInt32>[] fit = ServingSteps.fittedSize(pre, h, w, config, 1.0);
    Operand<TInt32> size = pre.stack(List.of(fit[0], fit[1]));
    Operand<TFloat32> pixels = pre.image.resizeBilinear(batch, size,
        ResizeBilinear.alignCorners(true));
    Operand<TFloat32> logits = TorchNetworks.logits(tf, weights, pixels, config);
    return new Operand[] {TorchNetworks.upsample(tf.withSubScope("upsample"), logits, size)};
  }

  /**
   * Header check of every image (the whole request is refused before any decoding), then one loop
   * that decodes each image, runs the network on it and encodes its palette PNG.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private Operand<TString> encodedPath(Ops tf, int[] palette) {
    Ops check = tf.withSubScope("image_bytes_check");
    Operand<TInt32> n = check.size(imageBytes, TInt32.class);
    Operand<TString> checked = BatchLoops.checkedImageBytes(graph, check, n, imageBytes,
        options.maxPixels());

    List<ModelVariable> vars = List.copyOf(state.variables().values());
    Ops carry = tf.withSubScope("weights");
    List<Operand<? extends TType>> values = new ArrayList<>();
    vars.forEach(v -> values.add(carry.identity(v.variable())));
    Operand<TString> pngs = (Operand<TString>) BatchLoops.map(graph, tf.withSubScope("segment"),
        "segment_loop", n, checked, values, (b, i, bytes, extra) -> {
          Map<String, Operand<TFloat32>> byName = new HashMap<>();
          for (int k = 0; k < vars.size(); k++) {
            byName.put(vars.get(k).name(), (Operand<TFloat32>) extra.get(k));
          }
          // Loop values lose their static shapes: restore them, so that layers see their
          // channel counts.
          Weights carried = (name, shape, role) -> {
            Operand<TFloat32> v = byName.get(name);
            ModelVariable mv = state.variables().get(name);
            if (v == null) {
              throw new IllegalStateException("no weight " + name + " carried into the loop");
            }
            return b.ensureShape(v, Shape.of(mv.shape()));
          };
          Operand<TUint8> image = b.expandDims(b.image.decodeImage(
              b.gather(bytes, i, b.constant(0)), new DecodeImage.Options[] {
                  DecodeImage.channels(3L), DecodeImage.expandAnimations(false)}),
              b.constant(0));
          Operand<TInt32> shape = b.shape(image);
          Operand<TInt32> height = b.gather(shape, b.constant(1), b.constant(0));
          Operand<TInt32> width = b.gather(shape, b.constant(2), b.constant(0));
          Operand<TFloat32> up = classify(b, carried, image)[0];
          Operand<TUint8> ids = ServingSteps.classIds(b, up, height, width, TUint8.class);
          Operand<TUint8> hw1 = b.reshape(ids, b.stack(List.of(height, width, b.constant(1))));
          return List.of(PalettePng.encode(b, hw1, palette));
        }, List.of(new int[0]), List.of(TString.class)).get(0);
    return tf.withName(ServingGraph.SEMANTIC_PNG_BYTES).identity(pngs);
  }

  /** The signatures to export (those of {@link ServingGraph}). */
  public List<Signature> signatures() {
    return List.of(
        Signature.builder().key(ServingGraph.DEFAULT_SIGNATURE).methodName(ServingGraph.METHOD_NAME)
            .input(ServingGraph.IMAGE_BYTES, imageBytes)
            .output(ServingGraph.SEMANTIC_PNG_BYTES, semanticPng).build(),
        Signature.builder().key(ServingGraph.IMAGES_SIGNATURE).methodName(ServingGraph.METHOD_NAME)
            .input(ServingGraph.IMAGES, images).output(ServingGraph.SEMANTIC, semantic).build(),
        Signature.builder().key(ServingGraph.PROBABILITIES_SIGNATURE)
            .methodName(ServingGraph.METHOD_NAME).input(ServingGraph.IMAGES, images)
            .output(ServingGraph.SEMANTIC, semantic)
            .output(ServingGraph.PROBABILITIES, probabilities).build());
  }

  public Graph graph() {
    return graph;
  }

  public ModelConfig config() {
    return config;
  }

  /** The model variables by state-dict name. */
  public Map<String, ModelVariable> variables() {
    return state.variables();
  }

  @Override
  public void close() {
    graph.close();
  }
}
