package dev.deeplab.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One branch of a dense prediction cell (Chen et al., "Searching for Efficient Multi-Scale
 * Architectures for Dense Image Prediction", NeurIPS 2018; {@code
 * research/deeplab/core/dense_prediction_cell.py}), with the keys of the official JSON files.
 *
 * @param op {@code conv} (a 1×1 conv, or a split separable conv of {@code kernel} at {@code rate})
 *     or {@code pyramid_pooling} (average pooling over a {@code grid_size} grid of the crop)
 * @param kernel conv kernel size (1 or an odd size); 0 for pyramid pooling
 * @param rate the conv's atrous rates [height, width] at output stride 16 (doubled at 8)
 * @param input the branch read, or -1 for the backbone features
 * @param gridSize pyramid pooling grid [height, width]
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record DenseCellBranch(
    @JsonProperty("op") String op,
    @JsonProperty("kernel") int kernel,
    @JsonProperty("rate") List<Integer> rate,
    @JsonProperty("input") int input,
    @JsonProperty("grid_size") List<Integer> gridSize) {

  /** {@code core/dense_prediction_cell_branch5_top1_cityscapes.json}, the zoo's DPC. */
  public static final List<DenseCellBranch> BRANCH5_TOP1_CITYSCAPES = List.of(
      conv(3, 1, 6, -1), conv(3, 18, 15, 0), conv(3, 6, 3, 1), conv(3, 1, 1, 0),
      conv(3, 6, 21, 0));

  /** Validates one branch (not its input, which {@link ModelConfig} checks). */
  public DenseCellBranch {
    rate = rate == null ? List.of() : List.copyOf(rate);
    gridSize = gridSize == null ? List.of() : List.copyOf(gridSize);
    if ("conv".equals(op)) {
      if (kernel < 1 || kernel % 2 == 0) {
        throw new IllegalArgumentException("dense prediction cell conv kernel must be odd, got "
            + kernel);
      }
      if (kernel > 1 && (rate.size() != 2 || rate.stream().anyMatch(r -> r < 1))) {
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

  /** A conv branch: {@code kernel}×{@code kernel} at rates [{@code rateH}, {@code rateW}]. */
  public static DenseCellBranch conv(int kernel, int rateH, int rateW, int input) {
    return new DenseCellBranch("conv", kernel, List.of(rateH, rateW), input, List.of());
  }
}
