package dev.deeplab.internal.serving;

import dev.deeplab.internal.checkpoint.CheckpointEntry;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.weights.FloatTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Compares the variables a graph needs with the weights on offer: missing, unexpected and
 * shape-mismatched names, reported as a table a user can read ({@code torch load_state_dict}
 * style), before anything is restored.
 *
 * <p>Training state that official and our own training checkpoints carry besides the model
 * (optimizer slots such as {@code <var>/Momentum} or TF Java's {@code <var>-momentum}, {@code
 * global_step}) is never restored; {@link #isTrainingState} recognises it and {@link #compare}
 * lists it apart as "ignored" rather than "unexpected".
 */
public final class WeightCheck {
  private WeightCheck() {}

  /** Slot suffixes of TF1 optimizers ({@code <var>/Momentum}, Adam's {@code /Adam_1}, ...). */
  private static final Pattern SLOT = Pattern.compile(
      ".+/(Momentum|Adam|Adam_1|RMSProp|RMSProp_1|Adagrad|Ftrl|Ftrl_1|ExponentialMovingAverage)");

  /** Slot names of TF Java's optimizers ({@code Optimizer.createName}: {@code <var>-<slot>}). */
  private static final Pattern JAVA_SLOT = Pattern.compile(
      ".+-(momentum|m|v|accumulator|rms|mg|squared|linear|gradient_accumulator|gradient_squared"
          + "|averaged)");

  /** Optimizer bookkeeping that is not a slot of one variable. */
  private static final List<String> TRAINING_SCALARS = List.of(
      "global_step", "beta1_power", "beta2_power", "learning_rate", "_CHECKPOINTABLE_OBJECT_GRAPH");

  /**
   * True for checkpoint entries that are training state rather than model weights: optimizer
   * slots ({@code <var>/Momentum}, {@code <var>-momentum}, Adam's, RMSProp's ...) and counters
   * ({@code global_step}).
   */
  public static boolean isTrainingState(String name) {
    return TRAINING_SCALARS.contains(name) || SLOT.matcher(name).matches()
        || JAVA_SLOT.matcher(name).matches();
  }

  /** What happens to one variable. */
  public enum Status {
    /** The model needs it and the source lacks it. */
    MISSING("missing"),
    /** Both have it with different shapes (or the source's is not float32). */
    SHAPE_MISMATCH("shape"),
    /** The source has it and the model does not use it; it is not restored. */
    UNEXPECTED("unexpected"),
    /** Under a scope to start fresh: keeps its initial value whatever the source holds. */
    REINITIALIZED("reinit");

    private final String label;

    Status(String label) {
      this.label = label;
    }

    /** The word shown in the table. */
    public String label() {
      return label;
    }
  }

  /**
   * One line of the report.
   *
   * @param name the variable's name
   * @param status what is wrong, or what happens to it
   * @param modelShape the shape the model needs, {@code null} when the model has no such variable
   * @param sourceShape the shape on offer, {@code null} when the source lacks it
   * @param sourceDtype the source's element type, e.g. {@code DT_FLOAT}, {@code null} if unknown
   */
  public record Row(String name, Status status, long[] modelShape, long[] sourceShape,
      String sourceDtype) {}

  /**
   * The differences between the graph's variables and the available tensors.
   *
   * @param missing variables of the model the source lacks
   * @param unexpected source tensors the model does not use (training state excluded)
   * @param mismatched variables present on both sides with different shapes or a non-float type
   * @param reinitialized variables under the scopes to start fresh (whatever their state)
   * @param ignoredTrainingState how many source tensors are optimizer slots or counters
   */
  public record Report(List<Row> missing, List<Row> unexpected, List<Row> mismatched,
      List<Row> reinitialized, int ignoredTrainingState) {
    /** Copies the lists. */
    public Report {
      missing = List.copyOf(missing);
      unexpected = List.copyOf(unexpected);
      mismatched = List.copyOf(mismatched);
      reinitialized = List.copyOf(reinitialized);
    }

    /** True when every variable of the model can be restored (or is to start fresh). */
    public boolean clean() {
      return missing.isEmpty() && mismatched.isEmpty();
    }

    /** True when there is nothing to show in {@link #table}. */
    public boolean empty() {
      return missing.isEmpty() && mismatched.isEmpty() && unexpected.isEmpty()
          && reinitialized.isEmpty();
    }

    /** A readable table of the problems, every row. */
    public String table() {
      return table(Integer.MAX_VALUE);
    }

    /**
     * A readable table: status, variable, model shape, source shape; at most {@code maxRows} rows
     * per status, then a line counting the rest. Empty when there is nothing to report.
     */
    public String table(int maxRows) {
      List<Row> shown = new ArrayList<>();
      Map<Status, Integer> hidden = new LinkedHashMap<>();
      for (List<Row> rows : List.of(missing, mismatched, reinitialized, unexpected)) {
        shown.addAll(rows.subList(0, Math.min(maxRows, rows.size())));
        if (rows.size() > maxRows) {
          hidden.put(rows.get(0).status(), rows.size() - maxRows);
        }
      }
      if (shown.isEmpty()) {
        return "";
      }
      int nameWidth = "variable".length();
      int shapeWidth = "model".length();
      for (Row r : shown) {
        nameWidth = Math.max(nameWidth, r.name().length());
        shapeWidth = Math.max(shapeWidth, shape(r.modelShape()).length());
      }
      String format = "  %-10s  %-" + nameWidth + "s  %-" + shapeWidth + "s  %s%n";
      StringBuilder sb = new StringBuilder();
      sb.append(String.format(format, "status", "variable", "model", "checkpoint"));
      for (Row r : shown) {
        String source = shape(r.sourceShape());
        if (r.sourceDtype() != null && r.sourceShape() != null
            && !r.sourceDtype().equals("DT_FLOAT")) {
          source += " " + r.sourceDtype();
        }
        sb.append(String.format(format, r.status().label(), r.name(), shape(r.modelShape()),
            source));
      }
      hidden.forEach((status, n) -> sb.append(String.format("  ... and %d more %s%n", n,
          status.label())));
      return sb.toString();
    }

    /**
     * One line: counts of restored-to-be, missing, mismatched, reinitialized, unexpected and
     * ignored entries, e.g. {@code 2 missing, 1 shape mismatch, 5 unexpected (not restored), 313
     * optimizer slots and counters ignored}.
     */
    public String summary() {
      List<String> parts = new ArrayList<>();
      if (!missing.isEmpty()) {
        parts.add(missing.size() + " missing");
      }
      if (!mismatched.isEmpty()) {
        parts.add(mismatched.size() + " shape mismatch" + (mismatched.size() == 1 ? "" : "es"));
      }
      if (!reinitialized.isEmpty()) {
        parts.add(reinitialized.size() + " reinitialized");
      }
      if (!unexpected.isEmpty()) {
        parts.add(unexpected.size() + " unexpected (not restored)");
      }
      if (ignoredTrainingState > 0) {
        parts.add(ignoredTrainingState + " optimizer slots and counters ignored");
      }
      return parts.isEmpty() ? "every variable matches" : String.join(", ", parts);
    }

    /** The names of the missing and mismatched variables (the problems). */
    public List<String> problemNames() {
      List<String> names = new ArrayList<>();
      missing.forEach(r -> names.add(r.name()));
      mismatched.forEach(r -> names.add(r.name()));
      return names;
    }
  }

  /** Compares by name and shape; {@code available} maps names to shapes. */
  public static Report compare(Map<String, ModelVariable> wanted, Map<String, long[]> available) {
    Map<String, CheckpointEntry> entries = new LinkedHashMap<>();
    available.forEach((k, v) -> entries.put(k, new CheckpointEntry(k, "DT_FLOAT", v)));
    return compare(wanted, entries, n -> false);
  }

  /**
   * Compares the model's variables with a checkpoint's entries by name, shape and type. Training
   * state ({@link #isTrainingState}) is counted, not listed; variables for which {@code fresh}
   * holds are reported as reinitialized whether or not the checkpoint has them.
   */
  public static Report compare(Map<String, ModelVariable> wanted,
      Map<String, CheckpointEntry> available, Predicate<String> fresh) {
    List<Row> missing = new ArrayList<>();
    List<Row> mismatched = new ArrayList<>();
    List<Row> reinitialized = new ArrayList<>();
    for (ModelVariable v : sorted(wanted)) {
      CheckpointEntry e = available.get(v.name());
      long[] sourceShape = e == null ? null : e.shape();
      String dtype = e == null ? null : e.dtype();
      if (fresh.test(v.name())) {
        reinitialized.add(new Row(v.name(), Status.REINITIALIZED, v.shape(), sourceShape, dtype));
      } else if (e == null) {
        missing.add(new Row(v.name(), Status.MISSING, v.shape(), null, null));
      } else if (!Arrays.equals(e.shape(), v.shape()) || !"DT_FLOAT".equals(e.dtype())) {
        mismatched.add(new Row(v.name(), Status.SHAPE_MISMATCH, v.shape(), sourceShape, dtype));
      }
    }
    List<Row> unexpected = new ArrayList<>();
    int ignored = 0;
    for (CheckpointEntry e : available.values().stream()
        .sorted(java.util.Comparator.comparing(CheckpointEntry::name)).toList()) {
      if (wanted.containsKey(e.name())) {
        continue;
      }
      if (isTrainingState(e.name())) {
        ignored++;
      } else {
        unexpected.add(new Row(e.name(), Status.UNEXPECTED, null, e.shape(), e.dtype()));
      }
    }
    return new Report(missing, unexpected, mismatched, reinitialized, ignored);
  }

  /** Throws a one-line summary (with the first problems named) unless every variable is there. */
  public static void requireComplete(Map<String, ModelVariable> wanted, Map<String, FloatTensor> weights) {
    Map<String, long[]> shapes = new HashMap<>();
    weights.forEach((k, v) -> shapes.put(k, v.shape()));
    Report r = compare(wanted, shapes);
    if (!r.clean()) {
      List<String> problems = new ArrayList<>();
      r.missing().forEach(row -> problems.add(row.name() + " missing"));
      r.mismatched().forEach(row -> problems.add(row.name() + " " + shape(row.sourceShape())
          + " where the model needs " + shape(row.modelShape())));
      throw new IllegalArgumentException(problems.size() + " variables missing or of the wrong "
          + "shape, e.g. " + String.join("; ", problems.subList(0, Math.min(3, problems.size()))));
    }
  }

  private static List<ModelVariable> sorted(Map<String, ModelVariable> vars) {
    return vars.values().stream().sorted(java.util.Comparator.comparing(ModelVariable::name))
        .toList();
  }

  /** {@code [d0,d1,...]}, or {@code -} for none. */
  static String shape(long[] shape) {
    if (shape == null) {
      return "-";
    }
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < shape.length; i++) {
      sb.append(i == 0 ? "" : ",").append(shape[i]);
    }
    return sb.append(']').toString();
  }
}
