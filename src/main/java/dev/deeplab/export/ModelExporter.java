package dev.deeplab.export;

import dev.deeplab.data.DatasetInfo;
import dev.deeplab.io.checkpoint.CheckpointException;
import dev.deeplab.io.checkpoint.Checkpoints;
import dev.deeplab.io.tflite.TfliteDeepLabWeights;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import dev.deeplab.weights.FloatTensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.IntStream;
import org.tensorflow.Session;

/**
 * Writes servable SavedModels from weights held in memory: builds the clean {@link ServingGraph}
 * (batch norm in inference mode, no loss, no optimizer), sets every variable by name and exports
 * a new version atomically.
 */
public final class ModelExporter {
  private ModelExporter() {}

  /**
   * Exports {@code weights} (which must name every variable of {@code info.config()}) under
   * {@code base}; returns the version directory written.
   */
  public static Path export(Map<String, FloatTensor> weights, ModelInfo info, Path base,
      OptionalInt version) throws IOException, CheckpointException {
    try (ServingGraph graph = ServingGraph.build(info.config());
        Session session = new Session(graph.graph())) {
      WeightCheck.requireComplete(graph.variables(), weights);
      Checkpoints.restore(session, weights);
      return SavedModels.export(session, graph, base, version, info);
    }
  }

  /** The architecture of a DeepLabv3 MobileNetV2 model read from a TFLite file. */
  public static ModelConfig configOf(TfliteDeepLabWeights w) {
    return ModelConfig.defaults(ModelVariant.MOBILENET_V2, w.outputStride())
        .withDepthMultiplier(w.depthMultiplier())
        .withNumClasses(w.numClasses())
        .withCropSize(w.inputHeight(), w.inputWidth());
  }

  /** Model info with the class names of the label set that has {@code config}'s class count. */
  public static ModelInfo infoFor(ModelConfig config, String source) {
    DatasetInfo labels = DatasetInfo.byNumClasses(config.numClasses()).orElse(null);
    List<String> names = labels != null ? labels.classNames()
        : IntStream.range(0, config.numClasses()).mapToObj(i -> "class_" + i).toList();
    return new ModelInfo(config, labels != null ? labels.name() : "custom", names, source);
  }
}
