package dev.deeplab.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.deeplab.internal.checkpoint.CheckpointEntry;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.ModelInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;

/**
 * What {@code deeplab inspect} reports, as a JSON tree printed as text or as JSON: a SavedModel's
 * tags, signatures (method name, inputs and outputs with dtype and shape), model info and
 * variables, read from {@code saved_model.pb} as a protobuf like {@code saved_model_cli show
 * --all}, without loading the model; or a checkpoint's variables.
 */
final class SavedModelDescription {
  static final ObjectMapper JSON = new ObjectMapper();

  private SavedModelDescription() {}

  static ObjectNode savedModel(Path dir) throws Exception {
    Path model = SavedModels.resolve(dir);
    SavedModel saved;
    try (InputStream in = Files.newInputStream(model.resolve("saved_model.pb"))) {
      saved = SavedModel.parseFrom(in);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new IOException("not a SavedModel: " + model.resolve("saved_model.pb") + " is corrupt");
    }
    ObjectNode root = JSON.createObjectNode().put("path", model.toString()).put("kind",
        "savedmodel");
    for (MetaGraphDef meta : saved.getMetaGraphsList()) {
      ArrayNode tags = root.withArray("tags");
      meta.getMetaInfoDef().getTagsList().forEach(tags::add);
      ObjectNode signatures = root.with("signatures");
      for (Map.Entry<String, SignatureDef> e : new java.util.TreeMap<>(meta.getSignatureDefMap())
          .entrySet()) {
        ObjectNode sig = signatures.putObject(e.getKey())
            .put("method", e.getValue().getMethodName());
        tensors(e.getValue().getInputsMap(), sig.putObject("inputs"));
        tensors(e.getValue().getOutputsMap(), sig.putObject("outputs"));
      }
    }
    try {
      ModelInfo info = SavedModels.readInfo(model);
      root.set("model_info", JSON.readTree(info.toJson()));
    } catch (IOException e) {
      root.put("model_info", (String) null);
    }
    if (Files.isRegularFile(model.resolve("variables").resolve("variables.index"))) {
      variables(model.resolve("variables").resolve("variables").toString(), root);
    } else {
      root.putArray("variables");
      root.put("parameters", 0);
    }
    return root;
  }

  static ObjectNode checkpoint(String prefix) throws Exception {
    ObjectNode root = JSON.createObjectNode().put("path", prefix).put("kind", "checkpoint");
    variables(prefix, root);
    return root;
  }

  private static void variables(String prefix, ObjectNode root) throws Exception {
    ArrayNode vars = root.putArray("variables");
    long total = 0;
    for (CheckpointEntry e : Checkpoints.list(prefix).values()) {
      total += variable(vars, e.name(), e.dtype(), e.shape());
    }
    root.put("parameters", total);
  }

  /** Adds a variable; returns its number of scalars. */
  static long variable(ArrayNode vars, String name, String dtype, long[] shape) {
    ArrayNode dims = vars.addObject().put("name", name).put("dtype", dtype).putArray("shape");
    long n = 1;
    for (long d : shape) {
      dims.add(d);
      n *= d;
    }
    return n;
  }

  private static void tensors(Map<String, TensorInfo> map, ObjectNode into) {
    new java.util.TreeMap<>(map).forEach((k, t) -> {
      ObjectNode o = into.putObject(k).put("dtype", t.getDtype().name());
      ArrayNode dims = o.putArray("shape");
      TensorShapeProto shape = t.getTensorShape();
      for (int i = 0; i < shape.getDimCount(); i++) {
        dims.add(shape.getDim(i).getSize());
      }
      o.put("tensor", t.getName());
    });
  }

  /** The report as text: what {@code inspect} prints without {@code --json}. */
  static void printText(JsonNode root, PrintWriter out) {
    if (root.path("kind").asText().equals("savedmodel")) {
      out.println("SavedModel " + root.get("path").asText());
      out.println("tags: " + String.join(",", texts(root.get("tags"))));
      for (Iterator<Map.Entry<String, JsonNode>> it = root.get("signatures").fields();
          it.hasNext();) {
        Map.Entry<String, JsonNode> sig = it.next();
        out.println("signature '" + sig.getKey() + "' method: " + sig.getValue().get("method")
            .asText());
        sig.getValue().get("inputs").fields().forEachRemaining(
            t -> out.println("  input  " + t.getKey() + ": " + tensor(t.getValue())));
        sig.getValue().get("outputs").fields().forEachRemaining(
            t -> out.println("  output " + t.getKey() + ": " + tensor(t.getValue())));
      }
      if (root.get("variables").isEmpty()) {
        out.println("no variables (the weights are constants in the graph)");
        return;
      }
    }
    boolean dtypes = !root.path("kind").asText().equals("architecture");
    for (JsonNode v : root.get("variables")) {
      out.println(v.get("name").asText() + (dtypes ? " " + v.get("dtype").asText() : "")
          + " " + v.get("shape").toString().replace(" ", ""));
    }
    out.println("total parameters: " + root.get("parameters").asLong());
  }

  private static String tensor(JsonNode t) {
    return t.get("dtype").asText() + " " + t.get("shape").toString().replace(" ", "") + " "
        + t.get("tensor").asText();
  }

  private static java.util.List<String> texts(JsonNode array) {
    java.util.List<String> out = new java.util.ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
