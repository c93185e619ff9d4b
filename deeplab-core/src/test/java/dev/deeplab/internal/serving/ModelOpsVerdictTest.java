package dev.deeplab.internal.serving;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.infer.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedModel;

/**
 * The operations check remembered in the cache: only for a graph without foreign operations, and
 * only for those exact bytes.
 */
class ModelOpsVerdictTest {
  @TempDir Path tmp;

  @Test
  void aCleanGraphIsRememberedAndAChangedOneCheckedAgain() throws IOException {
    Path model = Files.createDirectories(tmp.resolve("model"));
    Path pb = model.resolve("saved_model.pb");
    byte[] ours = Files.readAllBytes(SavedModels.resolve(TestModels.BUNDLED)
        .resolve("saved_model.pb"));
    Files.write(pb, ours);
    Path cache = tmp.resolve("cache");

    ModelOps.check(model, false, cache);
    List<Path> verdicts = verdicts(cache);
    assertEquals(1, verdicts.size(), "our own graph passed and is remembered");
    assertDoesNotThrow(() -> ModelOps.check(model, false, cache));

    SavedModel sm = SavedModel.parseFrom(ours);
    MetaGraphDef meta = sm.getMetaGraphs(0);
    NodeDef read = NodeDef.newBuilder().setName("evil/read").setOp("ReadFile").build();
    Files.write(pb, sm.toBuilder().setMetaGraphs(0, meta.toBuilder().setGraphDef(
        meta.getGraphDef().toBuilder().addNode(read))).build().toByteArray());
    IOException e = assertThrows(IOException.class, () -> ModelOps.check(model, false, cache));
    assertTrue(e.getMessage().contains("holds operations our graphs never use (ReadFile)"),
        e.getMessage());
    ModelOps.check(model, true, cache);
    assertEquals(verdicts, verdicts(cache), "a foreign graph is never remembered");
    assertThrows(IOException.class, () -> ModelOps.check(model, false, cache),
        "refused again after --allow-foreign-model let it through once");

    Files.write(pb, ours);
    ModelOps.check(model, false, cache);
    assertEquals(verdicts, verdicts(cache), "the same bytes: the same verdict");
  }

  private static List<Path> verdicts(Path cache) throws IOException {
    try (Stream<Path> s = Files.list(cache.resolve("checked"))) {
      return s.sorted().toList();
    }
  }
}
