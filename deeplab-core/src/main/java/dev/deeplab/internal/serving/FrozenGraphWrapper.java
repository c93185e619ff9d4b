package dev.deeplab.internal.serving;

import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Signature;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Squeeze;
import org.tensorflow.op.image.DecodeImage;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.op.image.ResizeNearestNeighbor;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TNumber;

/**
 * Wraps an official DeepLab frozen graph ({@code frozen_inference_graph.pb} from {@code
 * export_model.py}: {@code ImageTensor:0} uint8 {@code [1,?,?,3]} → {@code
 * SemanticPredictions:0} {@code [1,H,W]}) as a SavedModel that TF Serving and our {@code
 * segment} command run.
 *
 * <p>The SavedModel's graph is the frozen GraphDef with a few nodes around it, under {@value
 * #SCOPE}/ and {@value #OUTPUT_SCOPE}/:
 *
 * <ul>
 *   <li>The signatures of {@link ServingGraph}, with the frozen graph's batch of 1 (method {@value
 *       ServingGraph#METHOD_NAME}): {@value ServingGraph#DEFAULT_SIGNATURE} takes {@code
 *       image_bytes}, one encoded image as a string tensor {@code [1]}, checks its header against
 *       the pixel limit before decoding, and returns {@code semantic_png_bytes} {@code [1]};
 *       {@value ServingGraph#IMAGES_SIGNATURE} takes {@code images} uint8 {@code
 *       [1,height,width,3]} and returns {@code semantic} int32 {@code [1,height,width]}; {@value
 *       ServingGraph#PROBABILITIES_SIGNATURE} adds {@code probabilities} when the frozen graph has
 *       {@code SemanticProbabilities:0} (later versions of {@code export_model.py}).
 *   <li>The official graph pads the image to its crop size and fails on larger images. The
 *       wrapper scales an image whose sides exceed the crop ({@link ModelConfig#cropHeight()} of
 *       the model info; 513 unless told) down to fit (align-corners bilinear, aspect kept, as
 *       our serving graph does), and maps the class ids back to the input size by align-corners
 *       nearest neighbour, as the official export does. Images that fit go to the frozen graph
 *       unchanged, so their class ids are the frozen graph's own.
 *   <li>{@code ImageTensor} becomes an {@code Identity} of the fitted image; feeding {@code
 *       ImageTensor:0} directly still runs the bare frozen graph.
 * </ul>
 *
 * <p>A frozen graph has no variables, so the SavedModel's {@code variables/} directory is empty;
 * TF's loaders (C++, hence TF Serving and TF Java, and Python's {@code tf.saved_model.load})
 * accept that ("no variables; no checkpoints were restored"). The model info's {@code source}
 * starts with {@value #SOURCE_PREFIX} ({@link #isWrapped}); its architecture is what the node
 * names tell ({@link #detect}) or what the user said, for information only.
 */
public final class FrozenGraphWrapper {
  /** The input node of the official export. */
  public static final String INPUT = "ImageTensor";
  /** The class-id output node of the official export. */
  public static final String OUTPUT = "SemanticPredictions";
  /** The probability output node of later official exports. */
  public static final String PROBABILITIES = "SemanticProbabilities";
  /** How the {@code source} of a wrapped model's info begins. */
  public static final String SOURCE_PREFIX = "frozen-graph:";
  /** The name scope of the nodes added in front of the frozen graph. */
  public static final String SCOPE = "deeplab_serving";
  /** The name scope of the nodes added after the frozen graph. */
  public static final String OUTPUT_SCOPE = "deeplab_output";

  private FrozenGraphWrapper() {}

  /**
   * What the node names of a frozen graph tell about the model.
   *
   * @param variant the backbone, when a known backbone scope is found
   * @param numClasses the depth of {@code logits/semantic/weights} (or of the probabilities)
   * @param depthMultiplier MobileNetV2's, from the width of its first conv
   * @param decoder whether there are {@code decoder/} nodes
   * @param densePredictionCell whether there are {@code meta_architecture/} nodes (a DPC)
   * @param hasProbabilities whether {@code SemanticProbabilities} exists
   * @param nodes the number of nodes
   * @param nas what the weights' shapes tell of a NAS backbone, when one is recognised
   */
  public record Detected(Optional<ModelVariant> variant, OptionalInt numClasses,
      OptionalDouble depthMultiplier, boolean decoder, boolean densePredictionCell,
      boolean hasProbabilities, int nodes, Optional<NasOptions> nas) {

    /**
     * A NAS backbone's options as its weights show them ({@code core/nas_network.py}): cell
     * {@code i}'s filters ({@code <scope>/cell_<i>/1x1/weights}) are the stem filters times the
     * filter scaling, which doubles at each step down the network path.
     *
     * @param stemFilters {@code nas_stem_output_num_conv_filters}: cell 0's filters, halved for
     *     PNASNet, whose first cell already steps down
     * @param classificationHead {@code nas_use_classification_head}: whether {@code
     *     <scope>/classification_head_conv} exists
     * @param outputStride PNASNet's path (8, 16, 32: where its filters double); hnasnet's is
     *     fixed and ends at 8, which only its head's convs can change, by strides or rates the
     *     weights do not show (empty then: 16, the official default). {@code
     *     nas_remove_os32_stride} changes no weight and is left false.
     */
    public record NasOptions(int stemFilters, boolean classificationHead,
        OptionalInt outputStride) {}

    /**
     * A descriptive configuration: the detected backbone (MobileNetV2 when none is recognised),
     * its official defaults at output stride 16 (a NAS backbone's at its detected stride, with
     * its detected options), the detected decoder, depth multiplier and class count; a
     * MobileNetV3 with a decoder has the zoo's head (its preset), a graph with a dense prediction
     * cell the zoo's cell.
     */
    public ModelConfig config() {
      ModelVariant v = variant.orElse(ModelVariant.MOBILENET_V2);
      int outputStride = nas.map(n -> n.outputStride().orElse(16)).orElse(16);
      ModelConfig c = ModelConfig.defaults(v, outputStride)
          .withDecoderOutputStride(decoder ? 4 : 0);
      if (nas.isPresent()) {
        c = c.withNasOptions(nas.get().stemFilters(), nas.get().classificationHead(), false);
      }
      if (decoder && v == ModelVariant.MOBILENET_V3_LARGE_SEG) {
        c = ModelConfig.preset("mobilenetv3_large_cityscapes").withCropSize(513, 513);
      } else if (decoder && v == ModelVariant.MOBILENET_V3_SMALL_SEG) {
        c = ModelConfig.preset("mobilenetv3_small_cityscapes").withCropSize(513, 513);
      }
      if (densePredictionCell) {
        c = c.withDensePredictionCell(dev.deeplab.model.DenseCellBranch.BRANCH5_TOP1_CITYSCAPES);
      }
      if (depthMultiplier.isPresent() && v == ModelVariant.MOBILENET_V2) {
        c = c.withDepthMultiplier(depthMultiplier.getAsDouble());
      }
      if (numClasses.isPresent()) {
        c = c.withNumClasses(numClasses.getAsInt());
      }
      return c;
    }
  }

  /**
   * Reads a frozen GraphDef and checks it has the official input and output: {@code ImageTensor}
   * a uint8 placeholder, and {@code SemanticPredictions}.
   *
   * @throws IOException if the file cannot be read, is not a GraphDef, or lacks those tensors (a
   *     one-line message naming the missing tensor)
   */
  public static GraphDef read(Path file) throws IOException {
    GraphDef gd;
    try {
      gd = GraphDef.parseFrom(Files.readAllBytes(file));
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IOException("not a frozen graph (GraphDef protobuf): " + file);
    }
    if (gd.getNodeCount() == 0) {
      throw new IOException("not a frozen graph (GraphDef with nodes): " + file);
    }
    Map<String, NodeDef> nodes = byName(gd);
    NodeDef input = nodes.get(INPUT);
    if (input == null) {
      List<String> placeholders = gd.getNodeList().stream()
          .filter(n -> n.getOp().startsWith("Placeholder")).map(NodeDef::getName).limit(5)
          .toList();
      throw new IOException("frozen graph " + file + " has no tensor " + INPUT + ":0 (the "
          + "input of an official export_model.py graph); its placeholders: "
          + (placeholders.isEmpty() ? "none" : String.join(", ", placeholders)));
    }
    if (!input.getOp().equals("Placeholder")
        || input.getAttrOrDefault("dtype", AttrValue.getDefaultInstance()).getType()
            != DataType.DT_UINT8) {
      throw new IOException("frozen graph " + file + ": " + INPUT + ":0 must be a uint8 "
          + "placeholder, got " + input.getOp() + " of "
          + input.getAttrOrDefault("dtype", AttrValue.getDefaultInstance()).getType());
    }
    if (!nodes.containsKey(OUTPUT)) {
      throw new IOException("frozen graph " + file + " has no tensor " + OUTPUT + ":0 (the "
          + "output of an official export_model.py graph)");
    }
    for (NodeDef n : gd.getNodeList()) {
      if (inScope(n.getName(), SCOPE) || inScope(n.getName(), OUTPUT_SCOPE)) {
        throw new IOException("frozen graph " + file + " already has a node " + n.getName()
            + " (is it one of our SavedModels' graphs?)");
      }
    }
    return gd;
  }

  /** Reads the architecture hints in a frozen graph's node names. */
  public static Detected detect(GraphDef gd) {
    Map<String, NodeDef> nodes = byName(gd);
    Map<String, Integer> roots = new HashMap<>();
    for (NodeDef n : gd.getNodeList()) {
      roots.merge(n.getName().split("/", 2)[0], 1, Integer::sum);
    }
    Optional<ModelVariant> variant = Optional.empty();
    for (ModelVariant v : ModelVariant.values()) {
      if (roots.containsKey(v.scope()) && v.isBeta() == nodes.containsKey(
          v.scope() + "/conv1_1/weights")) {
        variant = Optional.of(v);
        break;
      }
    }
    if (roots.containsKey(ModelVariant.MOBILENET_V3_LARGE_SEG.scope())) {
      // Both MobileNetV3s share the scope; only the large one has 15 expanded convs.
      variant = Optional.of(nodes.containsKey("MobilenetV3/expanded_conv_14/project/weights")
          ? ModelVariant.MOBILENET_V3_LARGE_SEG : ModelVariant.MOBILENET_V3_SMALL_SEG);
    }
    if (variant.isEmpty()) {
      variant = java.util.Arrays.stream(ModelVariant.values())
          .filter(v -> roots.containsKey(v.scope())).findFirst();
    }
    OptionalInt classes = OptionalInt.empty();
    long[] logits = constShape(nodes.get("logits/semantic/weights"));
    if (logits != null && logits.length == 4) {
      classes = OptionalInt.of((int) logits[3]);
    } else {
      long[] biases = constShape(nodes.get("logits/semantic/biases"));
      long[] decoderLogits = constShape(nodes.get("decoder/decoder_conv0/biases"));
      if (biases != null && biases.length == 1) {
        classes = OptionalInt.of((int) biases[0]);
      } else if (decoderLogits != null && decoderLogits.length == 1) {
        // decoder_output_is_logits: the decoder's biased convs give the logits.
        classes = OptionalInt.of((int) decoderLogits[0]);
      }
    }
    OptionalDouble dm = OptionalDouble.empty();
    long[] first = constShape(nodes.get("MobilenetV2/Conv/weights"));
    if (first != null && first.length == 4) {
      dm = OptionalDouble.of(first[3] / 32.0);
    }
    boolean decoder = roots.containsKey("decoder");
    boolean dpc = roots.containsKey("meta_architecture");
    return new Detected(variant, classes, dm, decoder, dpc, nodes.containsKey(PROBABILITIES),
        gd.getNodeCount(), variant.flatMap(v -> nasOptions(v, nodes)));
  }

  /** {@link Detected.NasOptions} of a NAS backbone {@code v}; empty for others or no cells. */
  private static Optional<Detected.NasOptions> nasOptions(ModelVariant v,
      Map<String, NodeDef> nodes) {
    if (v.family() != ModelVariant.Family.NAS) {
      return Optional.empty();
    }
    int[] filters = new int[12];
    for (int i = 0; i < filters.length; i++) {
      long[] w = constShape(nodes.get(v.scope() + "/cell_" + i + "/1x1/weights"));
      if (w == null || w.length != 4) {
        return Optional.empty();
      }
      filters[i] = (int) w[3];
    }
    boolean head = nodes.containsKey(v.scope() + "/classification_head_conv/weights");
    boolean pnasnet = v == ModelVariant.NAS_PNASNET;
    int stem = pnasnet ? filters[0] / 2 : filters[0];
    if (stem < 1) {
      return Optional.empty();
    }
    if (!pnasnet) {
      return Optional.of(new Detected.NasOptions(stem, head,
          head ? OptionalInt.empty() : OptionalInt.of(8)));
    }
    // PNASNet's path: all twelve cells at stride 8, or the last eight at 16, or the last four at
    // 32 (nas_network.pnasnet); each step down doubles the filters.
    int outputStride = filters[4] == filters[0] ? 8 : filters[8] == filters[4] ? 16 : 32;
    return Optional.of(new Detected.NasOptions(stem, head, OptionalInt.of(outputStride)));
  }

  /** True when {@code info} describes a wrapped frozen graph (no weights of ours inside). */
  public static boolean isWrapped(ModelInfo info) {
    return info.source() != null && (info.source().startsWith(SOURCE_PREFIX)
        || info.source().contains("(" + SOURCE_PREFIX));
  }

  /**
   * Writes {@code frozen} wrapped as a SavedModel version under {@code base} (atomically, as
   * {@link SavedModels#writeVersion}); images larger than {@code info}'s crop size are scaled
   * down to fit. Returns the version directory.
   *
   * @throws IOException if TensorFlow cannot import the graph or the files cannot be written
   */
  public static Path wrap(GraphDef frozen, ModelInfo info, Path base, java.util.OptionalLong version)
      throws IOException {
    GraphDef merged = withFrontEnd(frozen, info.config().cropHeight(), info.config().cropWidth(),
        info.serving().maxPixels());
    try (Graph g = new Graph()) {
      try {
        g.importGraphDef(merged);
      } catch (IllegalArgumentException | TensorFlowException e) {
        throw new IOException("TensorFlow cannot import the frozen graph: "
            + firstLine(e.getMessage()), e);
      }
      List<Signature> signatures = signatures(g, info);
      try (Session s = new Session(g)) {
        return SavedModels.writeVersion(base, version, info, dir -> {
          SavedModelBundle.Exporter exporter = SavedModelBundle.exporter(dir.toString())
              .withTags(SavedModelBundle.DEFAULT_TAG).withSession(s);
          signatures.forEach(exporter::withSignature);
          exporter.export();
          WarmupRequests.write(dir, false, signatures.stream()
              .anyMatch(sig -> sig.key().equals(ServingGraph.PROBABILITIES_SIGNATURE)));
        });
      }
    }
  }

  /**
   * The frozen graph with the input nodes in front: {@code image_bytes} → decode → {@code
   * images} (a placeholder with that default) → fit into the crop → {@code ImageTensor} (now an
   * Identity).
   */
  static GraphDef withFrontEnd(GraphDef frozen, int cropHeight, int cropWidth, long maxPixels) {
    GraphDef front;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g).withSubScope(SCOPE);
      Placeholder<TString> bytes = tf.withName(ServingGraph.IMAGE_BYTES).placeholder(
          TString.class, Placeholder.shape(Shape.of(1)));
      Ops dec = tf.withSubScope("decode");
      Operand<TString> one = dec.reshape(bytes, dec.constant(new int[0]));
      Operand<org.tensorflow.types.TInt64> dims = ImageHeaders.dims(dec, one);
      Operand<org.tensorflow.types.TInt64> h = dec.gather(dims, dec.constant(0), dec.constant(0));
      Operand<org.tensorflow.types.TInt64> w = dec.gather(dims, dec.constant(1), dec.constant(0));
      org.tensorflow.op.core.AssertThat check = dec.assertThat(dec.math.logicalAnd(
          dec.math.logicalAnd(dec.math.equal(dec.gather(dims, dec.constant(2), dec.constant(0)),
              dec.constant(1L)), dec.math.logicalAnd(dec.math.greater(h, dec.constant(0L)),
                  dec.math.greater(w, dec.constant(0L)))),
          dec.math.lessEqual(dec.math.mul(h, w), dec.constant(maxPixels))), List.of(
              dec.constant("image_bytes: the image must be a JPEG, PNG, GIF or BMP of at most "
                  + maxPixels + " pixels; [height, width, recognised] read from its header:"),
              dims));
      Operand<TUint8> decoded = dec.expandDims(
          dec.withControlDependencies(List.of(check)).image.decodeImage(one,
              new DecodeImage.Options[] {DecodeImage.channels(3L),
                  DecodeImage.expandAnimations(false)}),
          dec.constant(0));
      Operand<TUint8> images = tf.withName(ServingGraph.IMAGES)
          .placeholderWithDefault(decoded, Shape.of(1, -1, -1, 3));
      Ops fit = tf.withSubScope("fit");
      Operand<TInt32> shape = fit.shape(images);
      Operand<TFloat32> hf = fit.dtypes.cast(
          fit.gather(shape, fit.constant(1), fit.constant(0)), TFloat32.class);
      Operand<TFloat32> wf = fit.dtypes.cast(
          fit.gather(shape, fit.constant(2), fit.constant(0)), TFloat32.class);
      Operand<TFloat32> scale = fit.math.minimum(fit.constant(1f), fit.math.minimum(
          fit.math.div(fit.constant((float) cropHeight), hf),
          fit.math.div(fit.constant((float) cropWidth), wf)));
      Operand<TInt32> size = fit.stack(List.of(fitted(fit, hf, scale, cropHeight),
          fitted(fit, wf, scale, cropWidth)));
      Operand<TFloat32> resized = fit.image.resizeBilinear(images, size,
          ResizeBilinear.alignCorners(true));
      tf.withName("image_tensor").dtypes.cast(fit.clipByValue(fit.math.round(resized),
          fit.constant(0f), fit.constant(255f)), TUint8.class);
      front = g.toGraphDef();
    }
    GraphDef.Builder merged = frozen.toBuilder().clearNode();
    merged.addAllNode(front.getNodeList());
    for (NodeDef n : frozen.getNodeList()) {
      if (n.getName().equals(INPUT)) {
        merged.addNode(NodeDef.newBuilder().setName(INPUT).setOp("Identity")
            .addInput(SCOPE + "/image_tensor")
            .putAttr("T", AttrValue.newBuilder().setType(DataType.DT_UINT8).build()));
      } else {
        merged.addNode(n);
      }
    }
    return merged.build();
  }

  /** {@code clip(round(d * scale), 1, crop)}, as {@link ServingGraph} fits images. */
  private static Operand<TInt32> fitted(Ops tf, Operand<TFloat32> d, Operand<TFloat32> scale,
      int crop) {
    Operand<TFloat32> r = tf.math.round(tf.math.mul(d, scale));
    return tf.dtypes.cast(tf.clipByValue(r, tf.constant(1f), tf.constant((float) crop)),
        TInt32.class);
  }

  /** Adds the output nodes to the imported graph and returns both signatures. */
  @SuppressWarnings("unchecked")
  private static List<Signature> signatures(Graph g, ModelInfo info) throws IOException {
    Ops tf = Ops.create(g).withSubScope(OUTPUT_SCOPE);
    Operand<TUint8> images = (Operand<TUint8>) (Operand<?>) g.operation(SCOPE + "/"
        + ServingGraph.IMAGES).output(0);
    Operand<TString> bytes = (Operand<TString>) (Operand<?>) g.operation(SCOPE + "/"
        + ServingGraph.IMAGE_BYTES).output(0);
    Operand<TInt32> size = tf.slice(tf.shape(images), tf.constant(new int[] {1}),
        tf.constant(new int[] {2}));

    GraphOperation predictions = g.operation(OUTPUT);
    Operand<?> pred = predictions.output(0);
    Shape ps = pred.shape();
    if (!ps.isUnknown() && ps.numDimensions() == 4 && ps.size(3) == 1) {
      pred = tf.squeeze((Operand<TNumber>) pred, Squeeze.axis(List.of(3L)));
    } else if (!ps.isUnknown() && ps.numDimensions() != 3) {
      throw new IOException(OUTPUT + ":0 has shape " + ps + "; expected [1,height,width]");
    }
    Operand<TInt32> ids = tf.dtypes.cast((Operand<TNumber>) pred, TInt32.class);
    Operand<TInt32> semantic = tf.withName(ServingGraph.SEMANTIC).squeeze(
        tf.image.resizeNearestNeighbor(tf.expandDims(ids, tf.constant(-1)), size,
            ResizeNearestNeighbor.alignCorners(true)),
        Squeeze.axis(List.of(3L)));

    Operand<TFloat32> probabilities = null;
    GraphOperation probs = g.operation(PROBABILITIES);
    if (probs != null && probs.output(0).dataType() == DataType.DT_FLOAT
        && (probs.output(0).shape().isUnknown() || probs.output(0).shape().numDimensions() == 4)) {
      probabilities = tf.withName(ServingGraph.PROBABILITIES).image.resizeBilinear(
          (Operand<TFloat32>) (Operand<?>) probs.output(0), size,
          ResizeBilinear.alignCorners(true));
    }
    Operand<TUint8> hw1 = tf.dtypes.cast(tf.reshape(semantic, tf.concat(List.of(size,
        tf.constant(new int[] {1})), tf.constant(0))), TUint8.class);
    Operand<TString> png = tf.withName(ServingGraph.SEMANTIC_PNG_BYTES).expandDims(
        PalettePng.encode(tf, hw1, info.labels().palette()), tf.constant(0));
    List<Signature> out = new ArrayList<>();
    out.add(Signature.builder().key(ServingGraph.DEFAULT_SIGNATURE)
        .methodName(ServingGraph.METHOD_NAME).input(ServingGraph.IMAGE_BYTES, bytes)
        .output(ServingGraph.SEMANTIC_PNG_BYTES, png).build());
    out.add(Signature.builder().key(ServingGraph.IMAGES_SIGNATURE)
        .methodName(ServingGraph.METHOD_NAME).input(ServingGraph.IMAGES, images)
        .output(ServingGraph.SEMANTIC, semantic).build());
    if (probabilities != null) {
      out.add(Signature.builder().key(ServingGraph.PROBABILITIES_SIGNATURE)
          .methodName(ServingGraph.METHOD_NAME).input(ServingGraph.IMAGES, images)
          .output(ServingGraph.SEMANTIC, semantic)
          .output(ServingGraph.PROBABILITIES, probabilities).build());
    }
    return out;
  }

  private static Map<String, NodeDef> byName(GraphDef gd) {
    Map<String, NodeDef> m = new HashMap<>();
    gd.getNodeList().forEach(n -> m.put(n.getName(), n));
    return m;
  }

  /** The shape of a {@code Const} node's value, or {@code null}. */
  private static long[] constShape(NodeDef n) {
    if (n == null || !n.getOp().equals("Const") || !n.containsAttr("value")) {
      return null;
    }
    TensorShapeProto s = n.getAttrOrThrow("value").getTensor().getTensorShape();
    return s.getDimList().stream().mapToLong(TensorShapeProto.Dim::getSize).toArray();
  }

  private static boolean inScope(String name, String scope) {
    return name.equals(scope) || name.startsWith(scope + "/");
  }

  private static String firstLine(String s) {
    return s == null ? "unknown error" : s.strip().split("\\R", 2)[0];
  }
}
