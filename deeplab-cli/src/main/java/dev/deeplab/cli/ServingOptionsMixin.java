package dev.deeplab.cli;

import dev.deeplab.model.ServingOptions;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code export}'s options for how the serving graph runs inference. */
final class ServingOptionsMixin {
  @Option(names = "--inference-scales", split = ",", paramLabel = "S",
      description = "Bake the official multi-scale inference into the serving graph, e.g. "
          + "0.5,0.75,1.0,1.25,1.5,1.75 (export_model.py --inference_scales; default: the "
          + "model's, else 1.0).")
  List<Double> scales;

  @Option(names = "--flip", negatable = true,
      description = "Also average the left-right flipped image (export_model.py "
          + "--add_flipped_images; default: the model's, else off).")
  Boolean flip;

  @Option(names = "--max-pixels", paramLabel = "N",
      description = "Largest width x height serving_default decodes; larger images are refused "
          + "from their header (default: the model's, else 67108864 = 8192x8192).")
  Long maxPixels;

  /** True when any option was given. */
  boolean given() {
    return scales != null || flip != null || maxPixels != null;
  }

  /** {@code base} with the options given applied. */
  ServingOptions applyTo(ServingOptions base) {
    try {
      return new ServingOptions(scales != null ? scales : base.inferenceScales(),
          flip != null ? flip : base.flip(), maxPixels != null ? maxPixels : base.maxPixels());
    } catch (IllegalArgumentException e) {
      throw new UsageError(e.getMessage());
    }
  }
}
