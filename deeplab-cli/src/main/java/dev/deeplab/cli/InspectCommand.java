package dev.deeplab.cli;

import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelGraph;
import dev.deeplab.nn.ModelVariable;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code deeplab inspect}: the variables of an architecture, a checkpoint or a SavedModel.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = {"List variables (name and shape) of a model architecture, or of a checkpoint "
        + "or SavedModel on disk (with dtypes, and a SavedModel's signatures).",
        "Examples: deeplab inspect --variant xception_65 --output-stride 16",
        "          deeplab inspect savedmodels/deeplabv3_mnv2_pascal"})
final class InspectCommand implements Callable<Integer> {
  @ArgGroup(exclusive = false)
  ModelOptions model = new ModelOptions();

  @Parameters(arity = "0..1", paramLabel = "PATH",
      description = "A checkpoint prefix or a SavedModel directory.")
  Path path;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (path != null && model.given()) {
      throw new UserError("give PATH or --variant, not both");
    }
    if (path == null) {
      ModelConfig config = model.toConfig();
      try (ModelGraph g = ModelGraph.build(config)) {
        g.variables().values().stream().sorted(Comparator.comparing(ModelVariable::name))
            .forEach(v -> out.println(v.name() + " " + v.shapeString()));
        out.println("total parameters: " + g.parameterCount());
      }
      return 0;
    }
    if (Files.isDirectory(path)) {
      SavedModelDescription.print(path, out);
      return 0;
    }
    SavedModelDescription.printVariables(path.toString(), out);
    return 0;
  }
}
