package dev.deeplab.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.serving.ModelOps;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.SavedModel;
import org.tensorflow.proto.TensorProto;

/**
 * A SavedModel is a program: one of ours with file-system or Python operations added ({@code
 * ReadFile}, {@code WriteFile}, {@code MatchingFiles}, {@code PyFunc}, also inside a function
 * library) is refused with a one-line error naming them, unless foreign models are allowed
 * explicitly; a {@code saved_model.pb} nested deeply enough to overflow a parser is refused either
 * way. Our own models (the committed one, a fresh import) pass.
 */
class ForeignModelTest {
  private static Path ours;

  @TempDir Path dir;

  @BeforeAll
  static void export() throws Exception {
    ours = TestModels.small();
  }

  @Test
  void ourModelsHoldOnlyAllowedOperations() throws Exception {
    for (Path model : List.of(ours, TestModels.COMMITTED.resolve("1"))) {
      ModelOps.check(model, false);
      assertTrue(ModelOps.allowed().containsAll(ModelOps.ops(model.resolve("saved_model.pb"))));
    }
    for (String dangerous : List.of("ReadFile", "WriteFile", "MatchingFiles", "PyFunc",
        "EagerPyFunc", "DeleteFile", "ImmutableConst")) {
      assertTrue(!ModelOps.allowed().contains(dangerous), dangerous);
    }
  }

  @Test
  void fileSystemAndPythonOperationsAreRefused() throws Exception {
    for (String op : List.of("ReadFile", "WriteFile", "MatchingFiles", "PyFunc")) {
      Path model = withGraph(op, g -> g.toBuilder().addNode(constant("evil/name", "/etc/passwd"))
          .addNode(node(op)).build());
      IOException e = assertThrows(IOException.class,
          () -> Segmenter.builder().model(model).build(), op);
      assertOneLine(e, "model " + model + " holds operations our graphs never use (" + op
          + "): a model is a program");
      assertTrue(e.getMessage().contains("--allow-foreign-model"), e.getMessage());
    }
  }

  @Test
  void operationsInsideAFunctionLibraryAreRefused() throws Exception {
    Path model = withGraph("library", g -> g.toBuilder().setLibrary(g.getLibrary().toBuilder()
        .addFunction(FunctionDef.newBuilder().setSignature(OpDef.newBuilder().setName("f"))
            .addNodeDef(node("WriteFile")))).build());
    assertOneLine(assertThrows(IOException.class, () -> Segmenter.builder().model(model).build()),
        "holds operations our graphs never use (WriteFile)");
  }

  @Test
  void aForeignModelLoadsOnlyWhenAllowed() throws Exception {
    // An unconnected ReadFile never runs; TensorFlow loads the model when we let it.
    Path model = withGraph("ReadFile", g -> g.toBuilder()
        .addNode(constant("evil/name", "/etc/passwd")).addNode(node("ReadFile")).build());
    try (Segmenter s = Segmenter.builder().model(model).allowForeignModel().build()) {
      assertEquals(21, s.info().labels().numClasses());
      assertEquals(4 * 3, s.segment(new byte[4 * 3 * 3], 4, 3).classIds().length);
    }
    // A malformed PyFunc node: TensorFlow itself refuses it, in one line.
    Path py = withGraph("python", g -> g.toBuilder().addNode(node("PyFunc")).build());
    IOException e = assertThrows(IOException.class,
        () -> Segmenter.builder().model(py).allowForeignModel().build());
    assertOneLine(e, "cannot load model " + py + ": ");
  }

  @Test
  void aDeeplyNestedSavedModelIsRefusedEvenWhenAllowed() throws Exception {
    Path model = copy("nested");
    ByteArrayOutputStream bomb = new ByteArrayOutputStream();
    for (int i = 0; i < 100_000; i++) {
      bomb.write(new byte[] {(byte) 0xBB, 0x3E}); // start group, field 999
    }
    for (int i = 0; i < 100_000; i++) {
      bomb.write(new byte[] {(byte) 0xBC, 0x3E}); // end group, field 999
    }
    Files.write(model.resolve("saved_model.pb"), bomb.toByteArray());
    for (boolean allow : new boolean[] {false, true}) {
      Segmenter.Builder b = Segmenter.builder().model(model);
      if (allow) {
        b.allowForeignModel();
      }
      IOException e = assertThrows(IOException.class, b::build);
      assertOneLine(e, model.resolve("saved_model.pb") + ": not a valid SavedModel (");
    }
  }

  @Test
  void aSavedModelWithAMaliciousVariablesIndexIsRefused() throws Exception {
    Path model = copy("variables");
    Path index = model.resolve("variables/variables.index");
    byte[] good = Files.readAllBytes(index);
    byte[] bad = good.clone();
    bad[bad.length / 3] ^= 0x10; // any change breaks the block checksum
    Files.write(index, bad);
    IOException e = assertThrows(IOException.class, () -> Segmenter.load(model));
    assertOneLine(e, index + ": corrupt checkpoint: ");
  }

  private static NodeDef node(String op) {
    NodeDef.Builder n = NodeDef.newBuilder().setName("evil/" + op).setOp(op);
    switch (op) {
      case "ReadFile", "MatchingFiles" -> n.addInput("evil/name");
      case "WriteFile" -> n.addInput("evil/name").addInput("evil/name");
      default -> { }
    }
    return n.build();
  }

  private static NodeDef constant(String name, String value) {
    return NodeDef.newBuilder().setName(name).setOp("Const")
        .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_STRING).build())
        .putAttr("value", AttrValue.newBuilder().setTensor(TensorProto.newBuilder()
            .setDtype(DataType.DT_STRING).addStringVal(ByteString.copyFromUtf8(value))).build())
        .build();
  }

  /** A copy of our model whose first meta graph's graph is {@code edit}ed. */
  private Path withGraph(String name, UnaryOperator<GraphDef> edit) throws IOException {
    Path model = copy(name);
    Path pb = model.resolve("saved_model.pb");
    SavedModel sm = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef meta = sm.getMetaGraphs(0);
    Files.write(pb, sm.toBuilder().setMetaGraphs(0, meta.toBuilder()
        .setGraphDef(edit.apply(meta.getGraphDef()))).build().toByteArray());
    return model;
  }

  private Path copy(String name) throws IOException {
    Path to = dir.resolve(name);
    try (Stream<Path> walk = Files.walk(ours)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path target = to.resolve(ours.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    return to;
  }

  private static void assertOneLine(IOException e, String expected) {
    String m = e.getMessage();
    System.out.println(m);
    assertTrue(m != null && !m.contains("\n") && m.contains(expected),
        m + "\n  expected: " + expected);
  }
}
