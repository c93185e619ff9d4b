package dev.deeplab.cli;

import dev.deeplab.export.SavedModels;
import dev.deeplab.io.checkpoint.CheckpointEntry;
import dev.deeplab.io.checkpoint.Checkpoints;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Prints a SavedModel's tags, signatures (method name, inputs and outputs with dtype and shape)
 * and variables, reading {@code saved_model.pb} as a protobuf, like {@code saved_model_cli show
 * --all}, without loading the model.
 */
final class SavedModelDescription {
  private SavedModelDescription() {}

  static void print(Path dir, PrintWriter out) throws Exception {
    Path model = SavedModels.resolve(dir);
    SavedModel saved;
    try (InputStream in = Files.newInputStream(model.resolve("saved_model.pb"))) {
      saved = SavedModel.parseFrom(in);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IOException("not a SavedModel: " + model.resolve("saved_model.pb") + " is corrupt");
    }
    out.println("SavedModel " + model);
    for (MetaGraphDef meta : saved.getMetaGraphsList()) {
      out.println("tags: " + String.join(",", meta.getMetaInfoDef().getTagsList()));
      for (Map.Entry<String, SignatureDef> e : meta.getSignatureDefMap().entrySet()) {
        SignatureDef sig = e.getValue();
        out.println("signature '" + e.getKey() + "' method: " + sig.getMethodName());
        sig.getInputsMap().forEach((k, v) -> out.println("  input  " + k + ": " + describe(v)));
        sig.getOutputsMap().forEach((k, v) -> out.println("  output " + k + ": " + describe(v)));
      }
    }
    Path variables = model.resolve("variables").resolve("variables");
    if (Files.isRegularFile(model.resolve("variables").resolve("variables.index"))) {
      printVariables(variables.toString(), out);
    } else {
      out.println("no variables (the weights are constants in the graph)");
    }
  }

  /** One line per checkpoint tensor (name, dtype, shape), then the total number of scalars. */
  static void printVariables(String prefix, PrintWriter out) throws Exception {
    long total = 0;
    for (CheckpointEntry e : Checkpoints.list(prefix).values()) {
      out.println(e.name() + " " + e.dtype() + " " + e.shapeString());
      long n = 1;
      for (long d : e.shape()) {
        n *= d;
      }
      total += n;
    }
    out.println("total parameters: " + total);
  }

  private static String describe(TensorInfo t) {
    StringBuilder sb = new StringBuilder(t.getDtype().name()).append(" [");
    TensorShapeProto shape = t.getTensorShape();
    for (int i = 0; i < shape.getDimCount(); i++) {
      sb.append(i == 0 ? "" : ",").append(shape.getDim(i).getSize());
    }
    return sb.append("] ").append(t.getName()).toString();
  }
}
