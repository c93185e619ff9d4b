package dev.deeplab.export;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.deeplab.model.ModelConfig;
import java.util.List;

/**
 * What a served model says about itself, written to {@code assets/deeplab_model.json} of every
 * SavedModel we export: the architecture, the label set and its class names, and where the
 * weights came from.
 *
 * @param config the architecture
 * @param labelSet label-set name, e.g. {@code pascal_voc}
 * @param classNames one name per class id
 * @param source where the weights came from (a file, a checkpoint), for provenance
 */
public record ModelInfo(
    @JsonProperty("config") ModelConfig config,
    @JsonProperty("label_set") String labelSet,
    @JsonProperty("class_names") List<String> classNames,
    @JsonProperty("source") String source) {

  public static final String ASSET = "deeplab_model.json";

  /** Checks that there is one class name per class. */
  public ModelInfo {
    classNames = List.copyOf(classNames);
    if (classNames.size() != config.numClasses()) {
      throw new IllegalArgumentException("model has " + config.numClasses() + " classes but "
          + classNames.size() + " class names were given");
    }
  }
}
