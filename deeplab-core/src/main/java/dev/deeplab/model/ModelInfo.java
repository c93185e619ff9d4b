package dev.deeplab.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a served model says about itself, written to {@code assets/deeplab_model.json} of every
 * SavedModel we export: the architecture, the label set (class names, colours, ignore label),
 * where the weights came from and how the serving graph runs inference. Immutable and
 * thread-safe.
 *
 * @param config the architecture
 * @param labels the label set: one class name per class of {@code config}
 * @param source where the weights came from (a file, a checkpoint), for provenance
 * @param serving the inference scales, flipping and pixel limit of the serving graph
 */
public record ModelInfo(ModelConfig config, LabelSet labels, String source,
    ServingOptions serving) {

  /** The asset file name. */
  public static final String ASSET = "deeplab_model.json";

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Model info of a model served with the default {@link ServingOptions}. */
  public ModelInfo(ModelConfig config, LabelSet labels, String source) {
    this(config, labels, source, ServingOptions.defaults());
  }

  /** Checks that the label set names every class of the model. */
  public ModelInfo {
    if (labels.numClasses() != config.numClasses()) {
      throw new IllegalArgumentException("the model has " + config.numClasses()
          + " classes but label set " + labels.name() + " has " + labels.numClasses());
    }
  }

  /** The class names, indexed by class id. */
  public List<String> classNames() {
    return labels.classNames();
  }

  /** The same information with another source. */
  public ModelInfo withSource(String newSource) {
    return new ModelInfo(config, labels, newSource, serving);
  }

  /** The same information with other serving options. */
  public ModelInfo withServing(ServingOptions options) {
    return new ModelInfo(config, labels, source, options);
  }

  /** The JSON of {@value #ASSET}. */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.set("config", JSON.valueToTree(config));
    root.put("label_set", labels.name());
    ArrayNode names = root.putArray("class_names");
    labels.classNames().forEach(names::add);
    ArrayNode colors = root.putArray("colors");
    for (int i = 0; i < labels.numClasses(); i++) {
      colors.add(String.format(Locale.ROOT, "#%06X", labels.color(i)));
    }
    root.put("ignore_label", labels.ignoreLabel());
    root.put("source", source);
    ObjectNode serve = root.putObject("serving");
    ArrayNode scales = serve.putArray("inference_scales");
    serving.inferenceScales().forEach(scales::add);
    serve.put("flip", serving.flip());
    serve.put("max_pixels", serving.maxPixels());
    try {
      return JSON.writeValueAsString(root);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write model info as JSON", e);
    }
  }

  /**
   * Reads the JSON of {@value #ASSET}. Files written before colours and the ignore label were
   * recorded take them from the built-in set of that name, else the VOC colours and 255.
   *
   * @throws IOException if it is not valid model info
   */
  public static ModelInfo fromJson(String json) throws IOException {
    JsonNode root = JSON.readTree(json);
    if (root == null || !root.isObject() || !root.has("config") || !root.has("class_names")) {
      throw new IOException("not DeepLab model info (config and class_names missing)");
    }
    ModelConfig config = JSON.treeToValue(root.get("config"), ModelConfig.class);
    List<String> names = new ArrayList<>();
    root.get("class_names").forEach(n -> names.add(n.asText()));
    String name = root.path("label_set").asText(LabelSet.UNNAMED);
    LabelSet builtIn = LabelSet.builtIn().stream()
        .filter(b -> b.name().equals(name) && b.classNames().equals(names)).findFirst()
        .orElse(null);
    int ignore = root.has("ignore_label") ? root.get("ignore_label").asInt()
        : builtIn != null ? builtIn.ignoreLabel() : 255;
    int[] palette = builtIn != null ? builtIn.palette() : LabelSet.vocColormap(256);
    JsonNode colors = root.get("colors");
    try {
      if (colors != null) {
        for (int i = 0; i < Math.min(colors.size(), palette.length); i++) {
          palette[i] = Integer.parseInt(colors.get(i).asText().replace("#", ""), 16);
        }
      }
      ServingOptions serving = ServingOptions.defaults();
      JsonNode serve = root.get("serving");
      if (serve != null) {
        List<Double> scales = new ArrayList<>();
        serve.path("inference_scales").forEach(n -> scales.add(n.asDouble()));
        serving = new ServingOptions(scales.isEmpty() ? List.of(1.0) : scales,
            serve.path("flip").asBoolean(false),
            serve.path("max_pixels").asLong(ServingOptions.DEFAULT_MAX_PIXELS));
      }
      return new ModelInfo(config, new LabelSet(name, names, ignore, palette),
          root.path("source").asText(""), serving);
    } catch (IllegalArgumentException e) {
      throw new IOException("invalid model info: " + e.getMessage(), e);
    }
  }
}
