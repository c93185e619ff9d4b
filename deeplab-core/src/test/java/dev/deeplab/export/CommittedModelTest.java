package dev.deeplab.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.checkpoint.CheckpointEntry;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.tflite.BundledDeepLabModel;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.LabelSet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;

/**
 * The committed {@code savedmodels/deeplabv3_mnv2_pascal/1} (which also ships in the jar) is what
 * this code exports from the bundled TFLite original with {@code --labels pascal_voc}: the same
 * variables with the same values, signatures, graph nodes, model info and warmup requests. When
 * the serving graph changes, this fails until the committed model is re-exported:
 * {@code tools/deeplab import --tflite
 * deeplab-core/src/test/resources/dev/deeplab/models/deeplabv3_mnv2_pascal_quant.tflite --labels
 * pascal_voc -o /tmp/m}, then replace version 1 with {@code /tmp/m/1}.
 */
class CommittedModelTest {

  @Test
  void committedModelIsWhatTheCodeExportsFromTheTfliteOriginal(@TempDir Path tmp)
      throws Exception {
    Path tflite = tmp.resolve(BundledDeepLabModel.MOBILENET_V2_DM10.fileName());
    Files.write(tflite, BundledDeepLabModel.MOBILENET_V2_DM10.readBytes());
    Path fresh = ModelImporter.tflite(tflite).write(LabelSet.PASCAL_VOC, tmp.resolve("fresh"),
        OptionalLong.of(1));
    Path committed = TestModels.COMMITTED.resolve("1");

    String freshVars = fresh.resolve("variables/variables").toString();
    String committedVars = committed.resolve("variables/variables").toString();
    Map<String, CheckpointEntry> entries = Checkpoints.list(committedVars);
    assertEquals(names(Checkpoints.list(freshVars)), names(entries), "variable names");
    List<String> floats = entries.values().stream().filter(e -> e.dtype().equals("DT_FLOAT"))
        .map(CheckpointEntry::name).toList();
    assertEquals(entries.size(), floats.size(), "only float variables");
    Map<String, FloatTensor> a = Checkpoints.readFloats(freshVars, floats);
    Map<String, FloatTensor> b = Checkpoints.readFloats(committedVars, floats);
    for (String n : floats) {
      assertArrayEquals(a.get(n).shape(), b.get(n).shape(), n);
      assertArrayEquals(a.get(n).data(), b.get(n).data(), 0f, n);
    }

    MetaGraphDef fm = meta(fresh);
    MetaGraphDef cm = meta(committed);
    assertEquals(new TreeMap<>(fm.getSignatureDefMap()), new TreeMap<>(cm.getSignatureDefMap()),
        "signatures");
    List<String> freshNodes = nodes(fm);
    List<String> committedNodes = nodes(cm);
    assertEquals(List.of(), difference(freshNodes, committedNodes),
        "graph nodes (name, op, inputs) of a fresh export that the committed model lacks");
    assertEquals(List.of(), difference(committedNodes, freshNodes),
        "graph nodes of the committed model that a fresh export lacks");

    for (String asset : List.of("assets/deeplab_model.json", "assets/labels.txt",
        "assets.extra/tf_serving_warmup_requests")) {
      assertArrayEquals(Files.readAllBytes(fresh.resolve(asset)),
          Files.readAllBytes(committed.resolve(asset)), asset);
    }
    System.out.printf("committed model == fresh export: %d variables, %d signatures, %d nodes%n",
        floats.size(), cm.getSignatureDefCount(), cm.getGraphDef().getNodeCount());
  }

  private static List<String> names(Map<String, CheckpointEntry> entries) {
    return entries.keySet().stream().sorted().toList();
  }

  /** Up to 5 entries of {@code a} that {@code b} lacks. */
  private static List<String> difference(List<String> a, List<String> b) {
    java.util.Set<String> in = new java.util.HashSet<>(b);
    return a.stream().filter(x -> !in.contains(x)).limit(5)
        .map(x -> x.length() > 200 ? x.substring(0, 200) + "..." : x).toList();
  }

  private static MetaGraphDef meta(Path dir) throws Exception {
    return SavedModel.parseFrom(Files.readAllBytes(dir.resolve("saved_model.pb")))
        .getMetaGraphs(0);
  }

  private static List<String> nodes(MetaGraphDef meta) {
    return meta.getGraphDef().getNodeList().stream()
        .map(n -> n.getName() + " " + n.getOp() + " " + n.getInputList())
        .sorted().toList();
  }
}
