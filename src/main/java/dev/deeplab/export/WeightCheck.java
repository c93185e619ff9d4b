package dev.deeplab.export;

import dev.deeplab.nn.ModelVariable;
import dev.deeplab.weights.FloatTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Compares the variables a graph needs with the weights on offer: missing, unexpected and
 * shape-mismatched names, reported as a table a user can read ({@code torch load_state_dict}
 * style), before anything is restored.
 */
public final class WeightCheck {
  private WeightCheck() {}

  /** The differences between the graph's variables and the available tensors. */
  public record Report(List<String> missing, List<String> unexpected, List<String> mismatched) {
    public boolean clean() {
      return missing.isEmpty() && mismatched.isEmpty();
    }

    /** A readable table of the problems, one line per variable. */
    public String table() {
      StringBuilder sb = new StringBuilder();
      missing.forEach(n -> sb.append(String.format("  missing     %s%n", n)));
      mismatched.forEach(n -> sb.append(String.format("  shape       %s%n", n)));
      unexpected.forEach(n -> sb.append(String.format("  unexpected  %s%n", n)));
      return sb.toString();
    }
  }

  /** Compares by name and shape; {@code available} maps names to shapes. */
  public static Report compare(Map<String, ModelVariable> wanted, Map<String, long[]> available) {
    List<String> missing = new ArrayList<>();
    List<String> mismatched = new ArrayList<>();
    for (ModelVariable v : wanted.values()) {
      long[] shape = available.get(v.name());
      if (shape == null) {
        missing.add(v.name() + " " + v.shapeString());
      } else if (!Arrays.equals(shape, v.shape())) {
        mismatched.add(v.name() + " model " + v.shapeString() + " vs " + Arrays.toString(shape)
            .replace(" ", ""));
      }
    }
    List<String> unexpected = available.keySet().stream()
        .filter(n -> !wanted.containsKey(n)).sorted().toList();
    return new Report(missing, unexpected, mismatched);
  }

  /** Throws a one-line summary (with the first problems named) unless every variable is there. */
  static void requireComplete(Map<String, ModelVariable> wanted, Map<String, FloatTensor> weights) {
    Map<String, long[]> shapes = new java.util.HashMap<>();
    weights.forEach((k, v) -> shapes.put(k, v.shape()));
    Report r = compare(wanted, shapes);
    if (!r.clean()) {
      List<String> problems = new ArrayList<>(r.missing());
      problems.addAll(r.mismatched());
      throw new IllegalArgumentException(problems.size() + " variables missing or of the wrong "
          + "shape, e.g. " + String.join("; ", problems.subList(0, Math.min(3, problems.size()))));
    }
  }
}
