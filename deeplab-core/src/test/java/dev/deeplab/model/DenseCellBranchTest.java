package dev.deeplab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code kernel} key of the dense prediction cell's JSON: a size or slim's {@code [kh, kw]}
 * ({@code core/dense_prediction_cell.py} passes it to {@code slim.conv2d} and {@code
 * utils.split_separable_conv2d}, and takes {@code 1} and {@code [1, 1]} alike as a 1×1 conv).
 */
class DenseCellBranchTest {
  @TempDir Path dir;

  private List<DenseCellBranch> read(String json) throws Exception {
    return DenseCellBranch.readJson(Files.writeString(dir.resolve("cell.json"), json));
  }

  @Test
  void kernelAsASizeOrAList() throws Exception {
    List<DenseCellBranch> cell = read("""
        [{"kernel": [1, 3], "rate": [1, 2], "op": "conv", "input": -1},
         {"kernel": 3, "rate": [6, 3], "op": "conv", "input": 0},
         {"kernel": [1, 1], "op": "conv", "input": -1},
         {"kernel": 1, "op": "conv", "input": -1},
         {"op": "pyramid_pooling", "grid_size": [2, 1], "input": -1}]""");
    assertEquals(List.of(1, 3), cell.get(0).kernel());
    assertEquals(List.of(3, 3), cell.get(1).kernel());
    assertEquals(DenseCellBranch.conv(3, 6, 3, 0), cell.get(1));
    assertEquals(List.of(false, false, true, true),
        cell.subList(0, 4).stream().map(DenseCellBranch::isPointwise).toList());
    assertEquals(List.of(), cell.get(4).kernel());
    // written back in the official form: a size when square, [kh, kw] otherwise
    assertEquals("[{\"op\":\"conv\",\"kernel\":[1,3],\"rate\":[1,2],\"input\":-1},"
        + "{\"op\":\"conv\",\"kernel\":3,\"rate\":[6,3],\"input\":0},"
        + "{\"op\":\"conv\",\"kernel\":1,\"input\":-1},{\"op\":\"conv\",\"kernel\":1,\"input\":-1},"
        + "{\"op\":\"pyramid_pooling\",\"input\":-1,\"grid_size\":[2,1]}]",
        new ObjectMapper().writeValueAsString(cell));
  }

  /** Malformed kernels: one line naming the line and column, as the other JSON errors do. */
  @Test
  void malformedKernelsAreOneLineErrorsWithTheirPlace() {
    String[][] cases = {
        {"[3]", "kernel must be a size or [height, width], got [3]", "(line 2, column"},
        {"[3, 3, 3]", "got [3,3,3]", "(line 2, column"},
        {"\"3\"", "got \"3\"", "(line 2, column"},
        {"3.5", "got 3.5", "(line 2, column"},
        {"[3, [1]]", "got [3,[1]]", "(line 2, column"},
        {"[3, 2]", "kernel must be odd, got [3, 2]", "(line 2, column"},
        {"[0, 0]", "kernel must be odd, got 0", "(line 2, column"}};
    for (String[] c : cases) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> read(
          "[\n {\"op\": \"conv\", \"kernel\": " + c[0] + ", \"rate\": [1, 2], \"input\": -1}]"),
          c[0]);
      assertTrue(e.getMessage().contains(c[1]) && e.getMessage().contains(c[2]),
          c[0] + ": " + e.getMessage());
      assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
  }
}
