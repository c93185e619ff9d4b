package dev.deeplab.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.deeplab.model.DenseCellBranch;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Golden cases written by the Python references in {@code tools/reference/}: one directory per
 * case with its {@code config.json} (the reference's own field names).
 */
public final class GoldenCases {
  private GoldenCases() {}

  /** The case directories' names under {@code root}, sorted; fails when there is none. */
  public static Stream<String> names(Path root) throws IOException {
    try (Stream<Path> s = Files.list(root)) {
      List<String> names = new ArrayList<>(s.filter(Files::isDirectory)
          .map(p -> p.getFileName().toString()).sorted().toList());
      assertFalse(names.isEmpty(), "no golden cases under " + root);
      return names.stream();
    }
  }

  /** The architecture of a case's {@code config.json}. */
  public static ModelConfig configOf(JsonNode j) {
    List<Integer> rates = new ArrayList<>();
    j.get("atrous_rates").forEach(n -> rates.add(n.asInt()));
    List<Integer> grid = new ArrayList<>(List.of(1, 1, 1));
    if (j.hasNonNull("multi_grid")) {
      grid.clear();
      j.get("multi_grid").forEach(n -> grid.add(n.asInt()));
    }
    JsonNode dec = j.get("decoder_output_stride");
    int classes = j.get("num_classes").asInt();
    return new ModelConfig(
        ModelVariant.fromName(j.get("variant").asText()),
        j.get("output_stride").asInt(),
        rates,
        grid,
        strides(dec),
        j.get("aspp_with_separable_conv").asBoolean(),
        j.get("decoder_use_separable_conv").asBoolean(),
        classes,
        j.get("crop_size").get(0).asInt(),
        j.get("crop_size").get(1).asInt(),
        j.get("depth_multiplier").asDouble(),
        true,
        ints(j, "image_pooling_crop_size", List.of()),
        ints(j, "image_pooling_stride", List.of(1, 1)),
        j.path("aspp_convs_filters").asInt(256),
        j.path("decoder_filters").asInt(256),
        j.path("aspp_with_squeeze_and_excitation").asBoolean(false),
        j.path("image_se_uses_qsigmoid").asBoolean(false),
        j.path("aspp_with_concat_projection").asBoolean(true),
        j.path("decoder_use_sum_merge").asBoolean(false),
        j.path("decoder_output_is_logits").asBoolean(false),
        cell(j.get("dense_prediction_cell_json")),
        j.path("aspp_with_batch_norm").asBoolean(true),
        j.path("logits_kernel_size").asInt(1),
        j.path("use_bounded_activation").asBoolean(false),
        j.path("nas_stem_output_num_conv_filters").asInt(20),
        j.path("nas_use_classification_head").asBoolean(false),
        j.path("nas_remove_os32_stride").asBoolean(false));
  }

  /** The dense prediction cell of a case, empty for none. */
  private static List<DenseCellBranch> cell(JsonNode json) {
    List<DenseCellBranch> cell = new ArrayList<>();
    if (json != null && !json.isNull()) {
      for (JsonNode b : json) {
        List<Integer> rate = new ArrayList<>();
        b.path("rate").forEach(n -> rate.add(n.asInt()));
        List<Integer> grid = new ArrayList<>();
        b.path("grid_size").forEach(n -> grid.add(n.asInt()));
        JsonNode k = b.path("kernel");
        List<Integer> kernel = k.isArray() ? List.of(k.get(0).asInt(), k.get(1).asInt())
            : k.isInt() ? List.of(k.asInt(), k.asInt()) : List.of();
        cell.add(new DenseCellBranch(b.get("op").asText(), kernel, rate, b.get("input").asInt(),
            grid));
      }
    }
    return cell;
  }

  /** {@code decoder_output_stride}: absent or null for none, a number or a list of stages. */
  private static List<Integer> strides(JsonNode dec) {
    List<Integer> strides = new ArrayList<>();
    if (dec != null && dec.isArray()) {
      dec.forEach(n -> strides.add(n.asInt()));
    } else if (dec != null && !dec.isNull()) {
      strides.add(dec.asInt());
    }
    return strides;
  }

  /** An int list field, or {@code absent} when the case does not set it. */
  private static List<Integer> ints(JsonNode j, String field, List<Integer> absent) {
    if (!j.hasNonNull(field)) {
      return absent;
    }
    List<Integer> values = new ArrayList<>();
    j.get(field).forEach(n -> values.add(n.asInt()));
    return values;
  }
}
