package dev.deeplab.internal.serving;

import dev.deeplab.internal.checkpoint.CheckpointEntry;
import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Turns a TF1 checkpoint (official DeepLab or model-zoo checkpoints, tensor-bundle V2 or the
 * older V1 single file, or a checkpoint of our own training) into one of our SavedModels: the
 * checkpoint is listed and compared with the model's variables by name, shape and type ({@link
 * WeightCheck}); only model variables are read, never optimizer slots or {@code global_step}.
 *
 * <p>Usage: {@code plan(...)} reports what would happen without reading any values; {@code
 * run(plan, ...)} refuses an unclean plan, reads the weights and exports.
 *
 * <p>Variables under the scopes given to start fresh (e.g. {@code logits} when the class count
 * differs from the checkpoint's, as the official {@code initialize_last_layer=False}) keep the
 * initial values of our graph's initialisers, whether or not the checkpoint has them.
 */
public final class CheckpointImporter {
  private CheckpointImporter() {}

  /**
   * What an import would do.
   *
   * @param prefix the checkpoint prefix actually read
   * @param format {@code "V2"} (prefix.index + data) or {@code "V1"} (a single file)
   * @param entries the number of tensors in the checkpoint
   * @param config the architecture of the model to fill
   * @param scopes the scopes to start fresh, as given
   * @param variables the names of the model's variables
   * @param report the comparison of the model's variables with the checkpoint
   */
  public record Plan(String prefix, String format, int entries, ModelConfig config,
      List<String> scopes, List<String> variables, WeightCheck.Report report) {
    /** Copies the lists. */
    public Plan {
      scopes = List.copyOf(scopes);
      variables = List.copyOf(variables);
    }

    /** Names of the variables read from the checkpoint. */
    public List<String> restoredNames() {
      Set<String> skip = new java.util.HashSet<>();
      report.missing().forEach(r -> skip.add(r.name()));
      report.mismatched().forEach(r -> skip.add(r.name()));
      report.reinitialized().forEach(r -> skip.add(r.name()));
      return variables.stream().filter(n -> !skip.contains(n)).toList();
    }

    /** Names of the variables left at their initial values. */
    public Set<String> freshNames() {
      Set<String> s = new LinkedHashSet<>();
      report.reinitialized().forEach(r -> s.add(r.name()));
      return s;
    }
  }

  /**
   * The checkpoint prefix a user means by {@code path}: a prefix itself, a file of a V2 checkpoint
   * ({@code model.ckpt.index} or {@code model.ckpt.data-00000-of-00001}), a V1 checkpoint file, or
   * a directory with TF's {@code checkpoint} state file (its {@code model_checkpoint_path}, the
   * newest) or exactly one checkpoint.
   *
   * @throws FileNotFoundException when nothing there looks like a checkpoint
   */
  public static String resolvePrefix(Path path) throws IOException {
    String s = path.toString();
    Matcher data = Pattern.compile("(.+)\\.data-\\d{5}-of-\\d{5}").matcher(s);
    if (data.matches()) {
      return data.group(1);
    }
    if (s.endsWith(".index") && Files.isRegularFile(path)) {
      return s.substring(0, s.length() - ".index".length());
    }
    if (Files.isDirectory(path)) {
      Path state = path.resolve("checkpoint");
      if (Files.isRegularFile(state)) {
        Matcher m = Pattern.compile("(?m)^model_checkpoint_path:\\s*\"(.*)\"\\s*$")
            .matcher(Files.readString(state, StandardCharsets.UTF_8));
        if (m.find()) {
          Path p = Path.of(m.group(1));
          return (p.isAbsolute() ? p : path.resolve(p)).toString();
        }
      }
      List<Path> indexes;
      try (Stream<Path> files = Files.list(path)) {
        indexes = files.filter(f -> f.getFileName().toString().endsWith(".index")).sorted()
            .toList();
      }
      if (indexes.size() == 1) {
        String i = indexes.get(0).toString();
        return i.substring(0, i.length() - ".index".length());
      }
      throw new FileNotFoundException(indexes.isEmpty() ? "no checkpoint in directory " + s
          : indexes.size() + " checkpoints in directory " + s + " and no 'checkpoint' state "
              + "file: give a prefix");
    }
    if (Files.isRegularFile(Path.of(s + ".index")) || Files.isRegularFile(path)) {
      return s;
    }
    throw new FileNotFoundException("no checkpoint " + s + " (expected " + path.getFileName()
        + ".index, or a V1 checkpoint file of that name)");
  }

  /**
   * Lists the checkpoint at {@code prefix} and compares it with the variables of {@code config}'s
   * model; {@code reinitialize} names scopes (e.g. {@code logits}) whose variables start fresh.
   *
   * @throws IllegalArgumentException if a scope matches no variable of the model
   * @throws CheckpointException if the checkpoint cannot be listed
   */
  public static Plan plan(String prefix, ModelConfig config, List<String> reinitialize)
      throws CheckpointException {
    Map<String, CheckpointEntry> entries = Checkpoints.list(prefix);
    Map<String, ModelVariable> vars;
    try (ModelGraph g = ModelGraph.build(config)) {
      vars = new LinkedHashMap<>(g.variables());
    }
    List<String> scopes = new ArrayList<>();
    for (String raw : reinitialize) {
      String scope = raw.strip().replaceAll("/+$", "");
      if (scope.isEmpty()) {
        continue;
      }
      if (vars.keySet().stream().noneMatch(n -> inScope(n, scope))) {
        throw new IllegalArgumentException("--reinitialize " + scope
            + " matches no variable of the model (top-level scopes: "
            + String.join(", ", topScopes(vars.keySet())) + ")");
      }
      scopes.add(scope);
    }
    WeightCheck.Report report = WeightCheck.compare(vars, entries,
        n -> scopes.stream().anyMatch(s -> inScope(n, s)));
    String format = Files.isRegularFile(Path.of(prefix + ".index")) ? "V2" : "V1";
    return new Plan(prefix, format, entries.size(), config, scopes,
        List.copyOf(vars.keySet()), report);
  }

  /**
   * Refuses an unclean plan with one line (naming the checkpoint's backbone when it is another
   * one), else reads the model variables from the checkpoint and exports a SavedModel version
   * under {@code base}, the graph chosen as {@link SavedModelWriter#write(Map, ModelInfo, Path,
   * OptionalLong, boolean)} chooses it; returns its directory.
   */
  public static Path run(Plan plan, ModelInfo info, Path base, OptionalLong version,
      boolean frozen) throws IOException, CheckpointException {
    requireClean(plan);
    Map<String, dev.deeplab.internal.weights.FloatTensor> weights =
        Checkpoints.readFloats(plan.prefix(), plan.restoredNames());
    return SavedModelWriter.write(weights, plan.freshNames(), info, base, version, frozen);
  }

  /** Throws a one-line {@link CheckpointException} unless the plan can be carried out. */
  public static void requireClean(Plan plan) throws CheckpointException {
    WeightCheck.Report r = plan.report();
    if (r.clean()) {
      return;
    }
    ModelVariant variant = plan.config().variant();
    String what = variant.officialName();
    Set<String> problems = new java.util.HashSet<>(r.problemNames());
    long backbone = plan.variables().stream().filter(n -> inScope(n, variant.scope())).count();
    long backboneFound = plan.variables().stream()
        .filter(n -> inScope(n, variant.scope()) && !problems.contains(n)).count();
    if (backbone > 0 && backboneFound == 0) {
      Set<String> roots = new TreeSet<>();
      r.unexpected().forEach(row -> roots.add(row.name().split("/", 2)[0]));
      List<String> candidates = Arrays.stream(ModelVariant.values())
          .filter(v -> roots.contains(v.scope())).map(ModelVariant::officialName).toList();
      throw new CheckpointException("checkpoint " + plan.prefix() + " has none of the " + backbone
          + " backbone variables of " + what + " (under " + variant.scope() + "/)"
          + (candidates.isEmpty() ? "" : "; its backbone is under " + candidates.stream()
              .map(v -> ModelVariant.fromName(v).scope() + "/").distinct()
              .collect(Collectors.joining(", ")) + ": --variant "
              + String.join(" or ", candidates) + "?"));
    }
    Set<String> scopes = new TreeSet<>();
    r.problemNames().forEach(n -> scopes.add(n.split("/", 2)[0]));
    throw new CheckpointException("checkpoint " + plan.prefix() + " does not fit " + what + ": "
        + r.summary() + betaHint(plan) + "; check the architecture options (table above), or "
        + "give --reinitialize " + String.join(",", scopes) + " to start those variables fresh");
  }

  /** A hint when a plain ResNet checkpoint meets a beta model or the other way round. */
  private static String betaHint(Plan plan) {
    ModelVariant v = plan.config().variant();
    if (v.family() != dev.deeplab.model.ModelVariant.Family.RESNET_V1) {
      return "";
    }
    boolean plainRoot = plan.report().unexpected().stream()
        .anyMatch(row -> row.name().startsWith(v.scope() + "/conv1/"));
    boolean betaRoot = plan.report().unexpected().stream()
        .anyMatch(row -> row.name().startsWith(v.scope() + "/conv1_1/"));
    if (v.isBeta() && plainRoot) {
      return " (the checkpoint has the plain 7x7 root conv1: --variant "
          + v.officialName().replace("_beta", "") + "?)";
    }
    if (!v.isBeta() && betaRoot) {
      return " (the checkpoint has the beta root conv1_1..3: --variant " + v.officialName()
          + "_beta?)";
    }
    return "";
  }

  /** True when {@code name} is {@code scope} or lies under it. */
  public static boolean inScope(String name, String scope) {
    return name.equals(scope) || name.startsWith(scope + "/");
  }

  private static List<String> topScopes(Set<String> names) {
    return names.stream().map(n -> n.split("/", 2)[0]).distinct().sorted().toList();
  }
}
