package dev.deeplab.internal.serving;

import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.serving.FrozenGraphWrapper;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.internal.serving.ServingGraph;
import dev.deeplab.internal.serving.WeightCheck;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.stream.Stream;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/**
 * Writes servable SavedModels from weights held in memory: builds the clean {@link ServingGraph}
 * (batch norm in inference mode, no loss, no optimizer), sets every variable by name (optionally
 * leaving some at their fresh initial values) and exports a new version atomically. Also
 * re-exports one of our SavedModels as a new version ({@link #reexport}) and offers the atomic
 * version writer ({@link SavedModels#writeVersion}) to exporters of other graphs ({@link
 * FrozenGraphWrapper}).
 */
public final class SavedModelWriter {
  private SavedModelWriter() {}

  /**
   * Exports {@code weights} (which must name every variable of {@code info.config()}) under
   * {@code base}, the signatures reading the variables (batch norm in the graph); returns the
   * version directory written.
   */
  public static Path write(Map<String, FloatTensor> weights, ModelInfo info, Path base,
      OptionalLong version) throws IOException, CheckpointException {
    return write(weights, info, base, version, false);
  }

  /**
   * {@link #write(Map, ModelInfo, Path, OptionalLong)}, choosing the graph: with {@code frozen},
   * the signatures compute with the weights built in as constants and batch norm folded into
   * them at export ({@link ServingGraph#buildFrozen}), the checkpoint still holding the official
   * variables; else they read the variables. PyTorch networks are always exported with
   * variables.
   */
  public static Path write(Map<String, FloatTensor> weights, ModelInfo info, Path base,
      OptionalLong version, boolean frozen) throws IOException, CheckpointException {
    if (info.config().variant().family() == ModelVariant.Family.PYTORCH) {
      try (TorchServingGraph graph = TorchServingGraph.build(info.config(), info.serving(),
          info.labels()); Session session = new Session(graph.graph())) {
        WeightCheck.requireComplete(graph.variables(), weights);
        Checkpoints.restore(session, weights);
        return SavedModels.export(session, graph.signatures(), base, version, info);
      }
    }
    try (ServingGraph graph = frozen
            ? ServingGraph.buildFrozen(info.config(), info.serving(), info.labels(), weights)
            : ServingGraph.build(info.config(), info.serving(), info.labels());
        Session session = new Session(graph.graph())) {
      WeightCheck.requireComplete(graph.variables(), weights);
      Checkpoints.restore(session, weights);
      return SavedModels.export(session, graph, base, version, info);
    }
  }

  /**
   * Exports {@code weights} with the variables named in {@code fresh} left at their initial values
   * (the graph's initialisers are run and those values exported with the rest), e.g. a new {@code
   * logits} layer for a different class count. Every other variable must be in {@code weights}; the
   * graph is chosen as {@link #write(Map, ModelInfo, Path, OptionalLong, boolean)} chooses it.
   * Returns the version directory written.
   */
  public static Path write(Map<String, FloatTensor> weights, Set<String> fresh, ModelInfo info,
      Path base, OptionalLong version, boolean frozen) throws IOException, CheckpointException {
    if (fresh.isEmpty()) {
      return write(weights, info, base, version, frozen);
    }
    try (ServingGraph graph = ServingGraph.build(info.config(), info.serving(), info.labels());
        Session session = new Session(graph.graph())) {
      Map<String, ModelVariable> vars = graph.variables();
      for (String name : fresh) {
        if (!vars.containsKey(name)) {
          throw new IllegalArgumentException("the model has no variable " + name);
        }
      }
      session.initialize();
      Map<String, FloatTensor> all = new LinkedHashMap<>(weights);
      List<String> names = List.copyOf(fresh);
      Session.Runner runner = session.runner();
      names.forEach(n -> runner.fetch(vars.get(n).variable()));
      try (Result r = runner.run()) {
        for (int i = 0; i < names.size(); i++) {
          TFloat32 t = (TFloat32) r.get(i);
          float[] data = new float[(int) t.shape().size()];
          t.copyTo(DataBuffers.of(data, false, false));
          all.put(names.get(i), new FloatTensor(t.shape().asArray(), data));
        }
      }
      WeightCheck.requireComplete(vars, all);
      if (!frozen) {
        Checkpoints.restore(session, all);
        return SavedModels.export(session, graph, base, version, info);
      }
      weights = all; // the frozen graph needs every weight when it is built
    }
    return write(weights, info, base, version, true);
  }

  /**
   * Re-exports one of our SavedModels ({@code model}: a version directory, or a base whose highest
   * version is taken) as a new version under {@code base}: the graph is rebuilt from the recorded
   * configuration and the weights are read back by name, served with {@code serving} (null keeps
   * the recorded options), the graph chosen as {@link #write(Map, ModelInfo, Path, OptionalLong,
   * boolean)} chooses it. A wrapped frozen graph ({@link FrozenGraphWrapper}) has no weights of
   * ours and is copied as it is; it runs at one scale only.
   */
  public static Path reexport(Path model, Path base, OptionalLong version,
      dev.deeplab.model.ServingOptions serving, boolean frozen)
      throws IOException, CheckpointException {
    Path dir = SavedModels.resolve(model);
    ModelInfo old = SavedModels.readInfo(dir);
    String source = old.source().startsWith(REEXPORT) ? old.source()
        : REEXPORT + dir + " (" + old.source() + ")";
    ModelInfo info = old.withSource(source).withServing(serving != null ? serving : old.serving());
    if (FrozenGraphWrapper.isWrapped(old)) {
      if (serving != null && !serving.equals(old.serving())) {
        throw new IllegalArgumentException(dir + " wraps a frozen graph, whose serving graph is "
            + "fixed: it cannot be re-exported with other inference scales, flipping or limits");
      }
      return SavedModels.writeVersion(base, version, info, tmp -> copyModel(dir, tmp));
    }
    String prefix = dir.resolve("variables").resolve("variables").toString();
    List<String> names = Checkpoints.list(prefix).values().stream()
        .filter(e -> e.dtype().equals("DT_FLOAT")).map(e -> e.name()).toList();
    return write(Checkpoints.readFloats(prefix, names), info, base, version, frozen);
  }

  private static final String REEXPORT = "re-export of ";

  private static void copyModel(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.toList()) {
        Path rel = from.relativize(p);
        if (rel.toString().isEmpty() || rel.startsWith("assets")) {
          continue;
        }
        if (Files.isDirectory(p)) {
          Files.createDirectories(to.resolve(rel));
        } else {
          Files.copy(p, to.resolve(rel));
        }
      }
    }
  }
}
