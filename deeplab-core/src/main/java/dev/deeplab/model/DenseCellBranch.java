package dev.deeplab.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One branch of a dense prediction cell (Chen et al., "Searching for Efficient Multi-Scale
 * Architectures for Dense Image Prediction", NeurIPS 2018; {@code
 * research/deeplab/core/dense_prediction_cell.py}), with the keys of the official JSON files.
 *
 * @param op {@code conv} (a 1×1 conv, or a split separable conv of {@code kernel} at {@code rate})
 *     or {@code pyramid_pooling} (average pooling over a {@code grid_size} grid of the crop)
 * @param kernel the conv's kernel [height, width] of odd sizes ([1, 1]: a 1×1 conv); empty for
 *     pyramid pooling, whose window the crop and grid give ({@code _parse_operation} overwrites
 *     the JSON's). The JSON key takes a size or a list {@code [height, width]}, as slim's conv ops
 *     do; a square kernel is written as its size.
 * @param rate the conv's atrous rates [height, width] at output stride 16 (doubled at 8)
 * @param input the branch read, or -1 for the backbone features
 * @param gridSize pyramid pooling grid [height, width]
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record DenseCellBranch(
    @JsonProperty("op") String op,
    @JsonProperty("kernel") @JsonSerialize(using = KernelJson.Writer.class)
        @JsonDeserialize(using = KernelJson.Reader.class) List<Integer> kernel,
    @JsonProperty("rate") List<Integer> rate,
    @JsonProperty("input") int input,
    @JsonProperty("grid_size") List<Integer> gridSize) {

  /** {@code core/dense_prediction_cell_branch5_top1_cityscapes.json}, the zoo's DPC. */
  public static final List<DenseCellBranch> BRANCH5_TOP1_CITYSCAPES = List.of(
      conv(3, 1, 6, -1), conv(3, 18, 15, 0), conv(3, 6, 3, 1), conv(3, 1, 1, 0),
      conv(3, 6, 21, 0));

  /** Validates one branch (not its input, which {@link ModelConfig} checks). */
  public DenseCellBranch {
    kernel = kernel == null || !"conv".equals(op) ? List.of() : List.copyOf(kernel);
    rate = rate == null ? List.of() : List.copyOf(rate);
    gridSize = gridSize == null ? List.of() : List.copyOf(gridSize);
    if ("conv".equals(op)) {
      if (kernel.size() != 2 || kernel.stream().anyMatch(k -> k < 1 || k % 2 == 0)) {
        throw new IllegalArgumentException("dense prediction cell conv kernel must be odd, got "
            + (kernel.isEmpty() ? "none" : KernelJson.text(kernel)));
      }
      boolean pointwise = kernel.equals(List.of(1, 1));
      if (!pointwise && (rate.size() != 2 || rate.stream().anyMatch(r -> r < 1))) {
        throw new IllegalArgumentException(
            "dense prediction cell conv needs two positive rates, got " + rate);
      }
    } else if ("pyramid_pooling".equals(op)) {
      if (gridSize.size() != 2 || gridSize.stream().anyMatch(g -> g < 1)) {
        throw new IllegalArgumentException(
            "dense prediction cell pyramid pooling needs a grid of two positive sizes, got "
                + gridSize);
      }
    } else {
      throw new IllegalArgumentException(
          "dense prediction cell op must be conv or pyramid_pooling, got '" + op + "'");
    }
  }

  /** The largest cell file {@link #readJson} reads. */
  private static final long MAX_JSON_BYTES = 1 << 20;

  /**
   * Reads a cell in the official JSON form ({@code dense_prediction_cell_json}, e.g. {@code
   * core/dense_prediction_cell_branch5_top1_cityscapes.json}): an array of branches with the keys
   * {@code op}, {@code kernel}, {@code rate}, {@code input} and {@code grid_size}.
   *
   * @throws IllegalArgumentException with a one-line reason when the file is not such a cell
   * @throws IOException when it cannot be read
   */
  public static List<DenseCellBranch> readJson(Path file) throws IOException {
    if (Files.size(file) > MAX_JSON_BYTES) {
      throw new IllegalArgumentException("larger than " + MAX_JSON_BYTES + " bytes");
    }
    List<DenseCellBranch> cell;
    try {
      cell = new ObjectMapper().readValue(file.toFile(), new TypeReference<List<DenseCellBranch>>() {});
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IllegalArgumentException(cause.getMessage() + at(e.getLocation()));
    } catch (UnrecognizedPropertyException e) {
      throw new IllegalArgumentException("unknown key \"" + e.getPropertyName()
          + "\" (expected op, kernel, rate, input, grid_size)" + at(e.getLocation()));
    } catch (MismatchedInputException e) {
      throw new IllegalArgumentException((e.getPath().isEmpty()
          ? "expected a JSON array of branches" : firstLine(e)) + at(e.getLocation()));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(firstLine(e) + at(e.getLocation()));
    }
    if (cell == null || cell.isEmpty()) {
      throw new IllegalArgumentException("no branches (expected a JSON array of branches)");
    }
    for (int i = 0; i < cell.size(); i++) {
      if (cell.get(i) == null) {
        throw new IllegalArgumentException("branch " + i + " is null");
      }
      int input = cell.get(i).input();
      if (input < -1 || input >= i) {
        throw new IllegalArgumentException("branch " + i + " reads branch " + input
            + " (expected -1 for the features or an earlier branch)");
      }
    }
    return List.copyOf(cell);
  }

  /** Jackson's own message, without the source description it appends. */
  private static String firstLine(JsonProcessingException e) {
    String m = e.getOriginalMessage().lines().findFirst().orElse("not JSON");
    int source = m.indexOf(" (start marker at");
    return source < 0 ? m : m.substring(0, source);
  }

  private static String at(JsonLocation where) {
    return where == null || where.getLineNr() < 1 ? ""
        : " (line " + where.getLineNr() + ", column " + where.getColumnNr() + ")";
  }

  /** A conv branch: {@code kernel}×{@code kernel} at rates [{@code rateH}, {@code rateW}]. */
  public static DenseCellBranch conv(int kernel, int rateH, int rateW, int input) {
    return new DenseCellBranch("conv", List.of(kernel, kernel), List.of(rateH, rateW), input,
        List.of());
  }

  /**
   * Whether this is a 1×1 conv ({@code kernel} 1 or [1, 1] in the official code, whatever the
   * rates).
   */
  @JsonIgnore
  public boolean isPointwise() {
    return kernel.equals(List.of(1, 1));
  }

  /**
   * The JSON form of {@code kernel}: a size or {@code [height, width]} in, a size out when square.
   */
  static final class KernelJson {
    private KernelJson() {}

    static String text(List<Integer> kernel) {
      return kernel.size() == 2 && kernel.get(0).equals(kernel.get(1))
          ? kernel.get(0).toString() : kernel.toString();
    }

    static final class Reader extends StdDeserializer<List<Integer>> {
      Reader() {
        super(List.class);
      }

      @Override
      public List<Integer> deserialize(JsonParser p, DeserializationContext ctxt)
          throws IOException {
        JsonNode k = p.readValueAsTree();
        if (k.isInt()) {
          return List.of(k.intValue(), k.intValue());
        }
        if (k.isArray() && k.size() == 2 && k.get(0).isInt() && k.get(1).isInt()) {
          return List.of(k.get(0).intValue(), k.get(1).intValue());
        }
        return ctxt.reportInputMismatch(this, "dense prediction cell kernel must be a size or "
            + "[height, width], got " + k);
      }
    }

    static final class Writer extends StdSerializer<List<Integer>> {
      @SuppressWarnings({"unchecked", "rawtypes"})
      Writer() {
        super((Class) List.class);
      }

      @Override
      public boolean isEmpty(SerializerProvider provider, List<Integer> kernel) {
        return kernel == null || kernel.isEmpty();
      }

      @Override
      public void serialize(List<Integer> kernel, JsonGenerator g, SerializerProvider provider)
          throws IOException {
        if (kernel.get(0).equals(kernel.get(1))) {
          g.writeNumber(kernel.get(0));
        } else {
          g.writeArray(new int[] {kernel.get(0), kernel.get(1)}, 0, 2);
        }
      }
    }
  }
}
