package dev.deeplab.internal.caffe;

import dev.deeplab.internal.checkpoint.CheckpointEntry;
import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.serving.SavedModelWriter;
import dev.deeplab.internal.serving.WeightCheck;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.internal.weights.Oihw;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Brings the released DeepLab-LargeFOV Caffe weights (Chen et al., "Semantic Image Segmentation
 * with Deep Convolutional Nets and Fully Connected CRFs", ICLR 2015; the DeepLab-LargeFOV {@code
 * train.prototxt}/{@code test.prototxt} and their {@code .caffemodel}) into our {@code vgg_16}
 * network ({@code deeplabv1_largefov_vgg16}), layer by layer: {@code conv1_1} ... {@code conv5_3}
 * to {@code vgg_16/conv1/conv1_1} ... {@code vgg_16/conv5/conv5_3}, {@code fc6} and {@code fc7} to
 * {@code vgg_16/fc6} and {@code vgg_16/fc7}, the classifier {@code fc8_voc12} (or the one layer
 * named {@code fc8...}) to {@code logits/semantic}; each layer's blob 0 is the {@code weights},
 * blob 1 the {@code biases}. A Caffe kernel {@code [out,in,kh,kw]} becomes TF's {@code
 * [kh,kw,in,out]}; {@code conv1_1}'s input channels are reversed, as Caffe's data layer feeds BGR
 * and our graph RGB.
 *
 * <p>As the PyTorch importer, strictly: every variable must be found with its shape and no layer
 * with weights may be left over. The class count is the classifier's unless given.
 */
public final class LargeFovCaffeImporter {
  private LargeFovCaffeImporter() {}

  /** The released prototxt's classifier for PASCAL VOC 2012; another {@code fc8*} is accepted. */
  public static final String VOC_CLASSIFIER = "fc8_voc12";

  /** The class count when the file has no classifier to tell it. */
  private static final int DEFAULT_CLASSES = 21;

  /** Prefix of the rows that name a Caffe blob, not one of our variables, in the report. */
  private static final String CAFFE_ROW = "caffe:";

  /** The blocks of VGG-16: convolutions per block. */
  private static final int[] CONVS = {2, 2, 3, 3, 3};

  /**
   * What an import would do.
   *
   * @param net the file read
   * @param config the architecture filled
   * @param classifier the Caffe layer read as {@code logits/semantic}, or {@code null}
   * @param report variables missing, of another shape; Caffe blobs left over
   * @param variables the number of the network's variables
   * @param weights the network's variables the file has, in TF's layout
   */
  public record Plan(CaffeNet net, ModelConfig config, String classifier,
      WeightCheck.Report report, int variables, Map<String, FloatTensor> weights) {

    /** Imported only when nothing is missing, left over or of another shape. */
    public boolean clean() {
      return report.clean() && report.unexpected().isEmpty();
    }

    /** One line: the report's summary, or that every layer matches. */
    public String summary() {
      return report.empty() ? "every layer matches" : report.summary();
    }
  }

  /**
   * Reads {@code file} and compares it with {@code config}'s network ({@code vgg_16}); the class
   * count is {@code numClasses} or, when absent, that of the file's {@code fc8} layer.
   *
   * @throws IllegalArgumentException if {@code config} is not DeepLab-LargeFOV
   * @throws CaffeFormatException if the file is not a Caffe model or has two {@code fc8} layers
   * @throws IOException if it cannot be read
   */
  public static Plan plan(Path file, ModelConfig config, OptionalInt numClasses)
      throws IOException {
    if (config.variant() != ModelVariant.VGG_16) {
      throw new IllegalArgumentException("--caffe reads DeepLab-LargeFOV's weights into "
          + "vgg_16 (--preset deeplabv1_largefov_vgg16), not " + config.variant().officialName());
    }
    Map<String, String> scopes = scopes();
    CaffeNet net = CaffeNet.read(file, n -> scopes.containsKey(n) || n.startsWith("fc8"));
    List<String> fc8 = net.layers().stream().map(CaffeNet.Layer::name)
        .filter(n -> n.startsWith("fc8")).toList();
    String classifier = fc8.contains(VOC_CLASSIFIER) ? VOC_CLASSIFIER
        : fc8.size() == 1 ? fc8.get(0) : null;
    if (classifier == null && fc8.size() > 1) {
      throw new CaffeFormatException(file + " has " + fc8.size() + " classifier layers ("
          + String.join(", ", fc8) + "): DeepLab-LargeFOV has one, fc8_voc12");
    }
    if (classifier != null) {
      scopes.put(classifier, "logits/semantic");
    }
    Map<String, CheckpointEntry> entries = new LinkedHashMap<>();
    Map<String, FloatTensor> weights = new LinkedHashMap<>();
    Set<String> seen = new HashSet<>();
    for (CaffeNet.Layer layer : net.layers()) {
      if (!seen.add(layer.name())) {
        throw new CaffeFormatException(file + " has two layers with weights named '"
            + layer.name() + "'");
      }
      String scope = scopes.get(layer.name());
      for (int i = 0; i < layer.blobs().size(); i++) {
        CaffeNet.Blob blob = layer.blobs().get(i);
        if (scope == null || i > 1) {
          String row = CAFFE_ROW + layer.name() + "/" + i;
          entries.put(row, new CheckpointEntry(row, "DT_FLOAT", blob.shape()));
          continue;
        }
        String name = scope + (i == 0 ? "/weights" : "/biases");
        FloatTensor t = i == 0 ? kernel(blob, layer.name().equals("conv1_1")) : bias(blob);
        entries.put(name, new CheckpointEntry(name, "DT_FLOAT", t.shape()));
        weights.put(name, t);
      }
    }
    int classes = numClasses.orElseGet(() -> classesOf(net, classifier));
    ModelConfig c = config.withNumClasses(classes);
    Map<String, ModelVariable> vars;
    try (ModelGraph g = ModelGraph.build(c)) {
      vars = new LinkedHashMap<>(g.variables());
    }
    WeightCheck.Report report = WeightCheck.compare(vars, entries, n -> false);
    weights.keySet().retainAll(vars.keySet());
    return new Plan(net, c, classifier, report, vars.size(), weights);
  }

  /**
   * Refuses an unclean plan with one line, else writes the SavedModel version under {@code base};
   * returns its directory.
   */
  public static Path run(Plan plan, ModelInfo info, Path base, OptionalLong version)
      throws IOException {
    requireClean(plan);
    try {
      return SavedModelWriter.write(plan.weights(), info, base, version);
    } catch (CheckpointException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /** Throws a one-line {@link CaffeFormatException} unless the plan is clean. */
  public static void requireClean(Plan plan) throws CaffeFormatException {
    if (plan.clean()) {
      return;
    }
    Path file = plan.net().file();
    long found = plan.weights().keySet().stream().filter(n -> n.startsWith("vgg_16/")).count();
    if (found == 0) {
      String layers = plan.net().layers().stream().map(CaffeNet.Layer::name).limit(8)
          .collect(Collectors.joining(", "));
      throw new CaffeFormatException(file + " has none of DeepLab-LargeFOV's layers (conv1_1 ... "
          + "conv5_3, fc6, fc7); its layers with weights: " + layers
          + (plan.net().layers().size() > 8 ? ", ..." : ""));
    }
    String hint = "";
    for (WeightCheck.Row r : plan.report().mismatched()) {
      if (r.name().equals("logits/semantic/weights") && r.sourceShape() != null
          && r.sourceShape().length == 4
          && r.sourceShape()[3] != plan.config().numClasses()) {
        hint = " (" + plan.classifier() + " has " + r.sourceShape()[3] + " classes, the model "
            + plan.config().numClasses() + ": drop --num-classes, or give the file's)";
      }
    }
    throw new CaffeFormatException(file + " does not fit DeepLab-LargeFOV ("
        + plan.config().numClasses() + " classes): " + plan.summary() + hint);
  }

  /** Caffe layer name → our variable scope, for the layers other than the classifier. */
  static Map<String, String> scopes() {
    Map<String, String> m = new LinkedHashMap<>();
    for (int b = 1; b <= CONVS.length; b++) {
      for (int i = 1; i <= CONVS[b - 1]; i++) {
        m.put("conv" + b + "_" + i, "vgg_16/conv" + b + "/conv" + b + "_" + i);
      }
    }
    m.put("fc6", "vgg_16/fc6");
    m.put("fc7", "vgg_16/fc7");
    return m;
  }

  /**
   * A Caffe kernel {@code [out,in,kh,kw]} as TF's {@code [kh,kw,in,out]}, the input channels
   * reversed when {@code bgr}; a blob of another rank keeps its shape (and is then reported).
   */
  static FloatTensor kernel(CaffeNet.Blob blob, boolean bgr) {
    return Oihw.toHwio(new FloatTensor(blob.shape(), blob.data()), bgr);
  }

  /** A bias blob ({@code [n]}, or legacy {@code [1,1,1,n]}) as {@code [n]}. */
  static FloatTensor bias(CaffeNet.Blob blob) {
    return new FloatTensor(blob.squeezed(), blob.data());
  }

  /** The classifier's output channels, else 21. */
  private static int classesOf(CaffeNet net, String classifier) {
    for (CaffeNet.Layer l : net.layers()) {
      if (l.name().equals(classifier) && l.blobs().get(0).shape().length == 4
          && l.blobs().get(0).shape()[0] > 0) {
        return (int) l.blobs().get(0).shape()[0];
      }
    }
    return DEFAULT_CLASSES;
  }
}
