package dev.deeplab.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.model.ModelConfig;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab inspect}: the variables of an architecture, a checkpoint or a SavedModel.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = {"List variables (name and shape) of a model architecture, or of a checkpoint "
        + "or SavedModel on disk (with dtypes, and a SavedModel's signatures).",
        "Examples: deeplab inspect --variant xception_65 --output-stride 16",
        "          deeplab inspect --json savedmodels/deeplabv3_mnv2_pascal"})
final class InspectCommand implements Callable<Integer> {
  @ArgGroup(exclusive = false)
  ModelOptions model = new ModelOptions();

  @Parameters(arity = "0..1", paramLabel = "PATH",
      description = "A checkpoint prefix or a SavedModel directory.")
  Path path;

  @Option(names = "--json", description = "Print the report as JSON.")
  boolean json;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (path != null && model.given()) {
      throw new UsageError("give PATH or --variant, not both");
    }
    ObjectNode report;
    if (path == null) {
      ModelConfig config = model.toConfig();
      report = SavedModelDescription.JSON.createObjectNode().put("kind", "architecture");
      report.set("config", SavedModelDescription.JSON.valueToTree(config));
      ArrayNode vars = report.putArray("variables");
      long total = 0;
      try (ModelGraph g = ModelGraph.build(config)) {
        for (ModelVariable v : g.variables().values().stream()
            .sorted(Comparator.comparing(ModelVariable::name)).toList()) {
          total += SavedModelDescription.variable(vars, v.name(), "DT_FLOAT", v.shape());
        }
      }
      report.put("parameters", total);
    } else if (Files.isDirectory(path)) {
      report = SavedModelDescription.savedModel(path);
    } else {
      report = SavedModelDescription.checkpoint(path.toString());
    }
    if (json) {
      out.println(SavedModelDescription.JSON.writerWithDefaultPrettyPrinter()
          .writeValueAsString(report));
    } else {
      SavedModelDescription.printText(report, out);
    }
    return 0;
  }
}
