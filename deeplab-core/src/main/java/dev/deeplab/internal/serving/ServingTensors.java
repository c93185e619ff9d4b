package dev.deeplab.internal.serving;

import java.util.Optional;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;

/**
 * The tensors Java code feeds and fetches in one of our SavedModels: the {@code images} input and
 * the {@code semantic} (and {@code probabilities}) outputs, found in whichever signatures carry
 * them ({@value ServingGraph#IMAGES_SIGNATURE} and {@value ServingGraph#PROBABILITIES_SIGNATURE}
 * now; {@code serving_default} in models exported before those existed).
 *
 * @param images the uint8 image input's tensor name
 * @param semantic the class-id output's tensor name
 * @param probabilities the probability output's tensor name, if the model has one
 */
public record ServingTensors(String images, String semantic, Optional<String> probabilities) {

  /** Finds the tensors, or returns empty when no signature maps {@code images} to {@code semantic}. */
  public static Optional<ServingTensors> find(MetaGraphDef meta) {
    String images = null;
    String semantic = null;
    String probabilities = null;
    for (SignatureDef sig : meta.getSignatureDefMap().values()) {
      TensorInfo in = sig.getInputsMap().get(ServingGraph.IMAGES);
      if (in == null) {
        continue;
      }
      images = in.getName();
      if (sig.getOutputsMap().containsKey(ServingGraph.SEMANTIC)) {
        semantic = sig.getOutputsMap().get(ServingGraph.SEMANTIC).getName();
      }
      if (sig.getOutputsMap().containsKey(ServingGraph.PROBABILITIES)) {
        probabilities = sig.getOutputsMap().get(ServingGraph.PROBABILITIES).getName();
      }
    }
    return images == null || semantic == null ? Optional.empty()
        : Optional.of(new ServingTensors(images, semantic, Optional.ofNullable(probabilities)));
  }
}
