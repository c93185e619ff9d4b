package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.deeplab.image.LabelMap;
import dev.deeplab.image.MaskWriter;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.model.LabelSet;
import dev.deeplab.reliability.BadImages;
import dev.deeplab.reliability.ImageBombs;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedModel;
import picocli.CommandLine;

/**
 * The command line on real bad input (issue 7): bad images among good ones, bad model
 * directories, broken datasets, usage errors. Every problem is one line {@code deeplab: ...} on
 * stderr with exit code 1 (2 for usage errors), no stack trace unless {@code --verbose}, and no
 * partial output files. The command line runs in-process with captured stdout/stderr and the
 * same {@link ErrorHandler} as {@link DeepLabCli#run}.
 */
class CliReliabilityTest {
  @TempDir
  Path dir;

  /** What one run of the command line printed and returned. */
  record Run(int code, String out, String err) {
    List<String> errLines() {
      return err.isEmpty() ? List.of() : List.of(err.split("\\R"));
    }

    boolean hasStackTrace() {
      return err.contains("\tat ");
    }
  }

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = DeepLabCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  // ---------------------------------------------------------------------------------------------
  // segment

  @Test
  void segmentReportsEachBadImageInOneLineAndProcessesTheRest() throws Exception {
    Path images = Files.createDirectory(dir.resolve("images"));
    Path out = dir.resolve("out");
    List<String> args = new ArrayList<>(List.of("segment", "-o", out.toString()));
    // Good: a real photo, and a PNG named .jpg.
    Path chelsea = images.resolve("chelsea.png");
    Files.write(chelsea, TestModels.resource("/dev/deeplab/photos/chelsea.png"));
    Path pngNamedJpg = images.resolve("cat-png.jpg");
    Files.write(pngNamedJpg, TestModels.resource("/dev/deeplab/photos/chelsea.png"));
    args.add(chelsea.toString());
    // Bad: truncated JPEG/PNG/BMP, empty, random bytes, text, an over-limit header, missing, dir.
    List<Path> bad = new ArrayList<>();
    for (Map.Entry<String, byte[]> f :
        BadImages.unreadable(BadImages.photoCrop("pets.jpg", 64, 48)).entrySet()) {
      bad.add(Files.write(images.resolve(f.getKey()), f.getValue()));
    }
    bad.add(images.resolve("missing.jpg"));
    bad.add(Files.createDirectory(images.resolve("folder.png")));
    bad.forEach(p -> args.add(p.toString()));
    args.add(pngNamedJpg.toString());

    Run r = run(args.toArray(String[]::new)); // the bundled default model: no --model

    assertEquals(1, r.code(), r.err());
    assertFalse(r.hasStackTrace(), r.err());
    assertEquals(bad.size(), r.errLines().size(), r.err());
    for (Path b : bad) {
      List<String> lines = r.errLines().stream().filter(l -> l.startsWith("deeplab: " + b + ": "))
          .toList();
      assertEquals(1, lines.size(), b + " in\n" + r.err());
      assertTrue(lines.get(0).length() > ("deeplab: " + b + ": ").length() + 3, lines.get(0));
    }
    assertTrue(r.out().contains(chelsea.toString()) && r.out().contains(pngNamedJpg.toString()),
        r.out());
    // Exactly the outputs of the good images: nothing for the bad ones, no temporary files.
    Set<String> written;
    try (Stream<Path> s = Files.list(out)) {
      written = s.map(p -> p.getFileName().toString())
          .collect(Collectors.toCollection(TreeSet::new));
    }
    assertEquals(new TreeSet<>(List.of("chelsea_mask.png", "chelsea_overlay.png",
        "cat-png_mask.png", "cat-png_overlay.png")), written);
    LabelMap mask = new LabelReader().read(out.resolve("cat-png_mask.png"));
    assertEquals(451, mask.width());
    assertEquals(300, mask.height());
    assertTrue(Arrays.equals(mask.ids(),
        new LabelReader().read(out.resolve("chelsea_mask.png")).ids()));
    System.out.println("segment with bad images, stderr:\n" + r.err().stripTrailing());
  }

  @Test
  void segmentRefusesDeclaredSizeBombsWithoutOutput() throws Exception {
    Path out = dir.resolve("out");
    Map<String, byte[]> bombs = ImageBombs.photos();
    List<String> args = new ArrayList<>(List.of("segment", "--model", TestModels.small().toString(),
        "-o", out.toString()));
    List<Path> refused = new ArrayList<>();
    for (Map.Entry<String, byte[]> b : bombs.entrySet()) {
      Path f = Files.write(dir.resolve(b.getKey()), b.getValue());
      args.add(f.toString());
      if (!b.getKey().contains("_256m")) { // harmless: ancillary chunks are not inflated
        refused.add(f);
      }
    }
    Run r = run(args.toArray(String[]::new));
    System.out.println("segment on image bombs, stderr:\n" + r.err().stripTrailing());
    assertEquals(1, r.code(), r.err());
    assertFalse(r.hasStackTrace(), r.err());
    assertEquals(refused.size(), r.errLines().size(), r.err());
    for (Path b : refused) {
      assertEquals(1, r.errLines().stream().filter(l -> l.startsWith("deeplab: " + b + ": "))
          .count(), b + " in\n" + r.err());
    }
    try (Stream<Path> s = Files.list(out)) {
      assertTrue(s.map(p -> p.getFileName().toString()).allMatch(n -> n.contains("_256m_")),
          "outputs of refused images");
    }
  }

  @Test
  void segmentAndEvalLoadAForeignModelOnlyWithTheOption() throws Exception {
    Path model = copyModel(TestModels.small(), dir.resolve("foreign"));
    Path pb = model.resolve("saved_model.pb");
    SavedModel sm = SavedModel.parseFrom(Files.readAllBytes(pb));
    MetaGraphDef meta = sm.getMetaGraphs(0);
    org.tensorflow.proto.NodeDef name = org.tensorflow.proto.NodeDef.newBuilder()
        .setName("evil/name").setOp("Const")
        .putAttr("dtype", org.tensorflow.proto.AttrValue.newBuilder()
            .setType(org.tensorflow.proto.DataType.DT_STRING).build())
        .putAttr("value", org.tensorflow.proto.AttrValue.newBuilder().setTensor(
            org.tensorflow.proto.TensorProto.newBuilder()
                .setDtype(org.tensorflow.proto.DataType.DT_STRING)
                .addStringVal(com.google.protobuf.ByteString.copyFromUtf8("/etc/passwd"))).build())
        .build();
    org.tensorflow.proto.NodeDef read = org.tensorflow.proto.NodeDef.newBuilder()
        .setName("evil/read").setOp("ReadFile").addInput("evil/name").build();
    Files.write(pb, sm.toBuilder().setMetaGraphs(0, meta.toBuilder().setGraphDef(
        meta.getGraphDef().toBuilder().addNode(name).addNode(read))).build().toByteArray());
    Path photo = Files.write(dir.resolve("chelsea.png"),
        TestModels.resource("/dev/deeplab/photos/chelsea.png"));
    Path out = dir.resolve("out");

    Run refused = run("segment", "--model", model.toString(), "-o", out.toString(),
        photo.toString());
    assertOneLineError(refused, "model " + model + " holds operations our graphs never use "
        + "(ReadFile): a model is a program");
    assertFalse(Files.exists(out.resolve("chelsea_mask.png")));
    Run allowed = run("segment", "--model", model.toString(), "--allow-foreign-model", "-o",
        out.toString(), photo.toString());
    assertEquals(0, allowed.code(), allowed.err());
    assertTrue(Files.exists(out.resolve("chelsea_mask.png")));

    String data = dev.deeplab.testing.TestData.vocMini().toString();
    Run evalRefused = run("eval", "--model", model.toString(), "--data", data);
    assertOneLineError(evalRefused, "model " + model + " holds operations our graphs never use "
        + "(ReadFile): a model is a program");
    Run evalAllowed = run("eval", "--model", model.toString(), "--data", data,
        "--allow-foreign-model");
    assertEquals(0, evalAllowed.code(), evalAllowed.err());
    assertTrue(evalAllowed.out().contains("pixel accuracy:"), evalAllowed.out());
  }

  @Test
  void badImageLineNamesTheFileOnce() throws Exception {
    Path empty = Files.write(dir.resolve("empty.jpg"), new byte[0]);
    Run r = run("segment", "--model", TestModels.small().toString(), "-o",
        dir.resolve("out").toString(), empty.toString());
    assertEquals(1, r.code());
    assertEquals(List.of("deeplab: " + empty + ": empty file (0 bytes)"), r.errLines());
  }

  @Test
  void unreadableImageIsOneLine() throws Exception {
    assumeFalse("root".equals(System.getProperty("user.name")), "root reads any file");
    Path image = Files.write(dir.resolve("secret.png"),
        TestModels.resource("/dev/deeplab/photos/chelsea.png"));
    Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("---------"));
    Run r = run("segment", "--model", TestModels.small().toString(), "-o",
        dir.resolve("out").toString(), image.toString());
    assertEquals(1, r.code(), r.err());
    assertEquals(1, r.errLines().size(), r.err());
    assertTrue(r.err().startsWith("deeplab: " + image + ": "), r.err());
  }

  // ---------------------------------------------------------------------------------------------
  // models

  @Test
  void missingModelDirectory() throws Exception {
    Path model = dir.resolve("no-such-model");
    Run r = segmentWith(model);
    assertOneLineError(r, model.toString());
  }

  @Test
  void directoryWithoutSavedModel() throws Exception {
    Path model = Files.createDirectories(dir.resolve("empty-model/1"));
    Files.writeString(model.resolve("README"), "not a model");
    Run r = segmentWith(model.getParent());
    assertOneLineError(r, "no SavedModel in " + model.getParent());
  }

  @Test
  void savedModelWithoutOurSignatures() throws Exception {
    Path copy = copyModel(TestModels.small(), dir.resolve("unsigned/1"));
    Path pb = copy.resolve("saved_model.pb");
    SavedModel saved = SavedModel.parseFrom(Files.readAllBytes(pb));
    SavedModel.Builder b = saved.toBuilder();
    for (MetaGraphDef.Builder g : b.getMetaGraphsBuilderList()) {
      g.clearSignatureDef();
    }
    Files.write(pb, b.build().toByteArray());
    // TensorFlow runs the SavedModel's signatures (ONNX Runtime, the default engine, rebuilds the
    // network from the model info and the weights, and does not need them)
    Run r = segmentWith(copy.getParent(), "--engine", "tensorflow");
    assertOneLineError(r, "no signature with input 'images' and output 'semantic'");
  }

  @Test
  void truncatedSavedModel() throws Exception {
    Path copy = copyModel(TestModels.small(), dir.resolve("truncated/1"));
    Path pb = copy.resolve("saved_model.pb");
    byte[] bytes = Files.readAllBytes(pb);
    Files.write(pb, Arrays.copyOf(bytes, bytes.length / 3));
    Run r = segmentWith(copy.getParent());
    assertOneLineError(r, "cannot load model");
  }

  @Test
  void verboseShowsTheStackTrace() throws Exception {
    Path model = dir.resolve("no-such-model");
    Path image = Files.write(dir.resolve("cat.png"),
        TestModels.resource("/dev/deeplab/photos/chelsea.png"));
    Run quiet = run("segment", "--model", model.toString(), "-o", dir.resolve("out").toString(),
        image.toString());
    Run verbose = run("segment", "--verbose", "--model", model.toString(), "-o",
        dir.resolve("out").toString(), image.toString());
    assertEquals(1, quiet.code());
    assertEquals(1, verbose.code());
    assertFalse(quiet.hasStackTrace(), quiet.err());
    assertTrue(verbose.hasStackTrace(), verbose.err());
    assertEquals(quiet.errLines().get(0), verbose.errLines().get(0));
    Run global = run("--verbose", "segment", "--model", model.toString(), "-o",
        dir.resolve("out").toString(), image.toString());
    assertTrue(global.hasStackTrace(), global.err());
  }

  @Test
  void usageErrorsExitWith2AndPicocliMessage() {
    Run unknown = run("segment", "--bogus", "x.png");
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().startsWith("deeplab segment: Unknown option: '--bogus'"),
        unknown.err());
    assertTrue(unknown.err().contains("Usage: deeplab segment"), unknown.err());
    assertFalse(unknown.hasStackTrace(), unknown.err());
    Run missing = run("segment");
    assertEquals(2, missing.code());
    assertTrue(missing.err().startsWith("deeplab segment: Missing required parameter"),
        missing.err());
    Run command = run("segmnet", "x.png");
    assertEquals(2, command.code());
    assertTrue(command.err().startsWith("deeplab: Unmatched argument"), command.err());
    Run type = run("segment", "--threads", "many", "x.png");
    assertEquals(2, type.code());
    assertTrue(type.err().startsWith("deeplab segment: Invalid value for option '--threads'"),
        type.err());
    Run labels = run("import", "--tflite", "x.tflite", "--labels", "no-such-labels", "-o", "m");
    assertEquals(2, labels.code());
    assertTrue(labels.err().contains("--labels no-such-labels: no such file, and not a built-in "
        + "label set"), labels.err());
    Run version = run("export", "--model", "m", "-o", "n", "--model-version", "0");
    assertEquals(2, version.code());
    assertTrue(version.err().startsWith("deeplab export: --model-version must be a positive"),
        version.err());
  }

  private Run segmentWith(Path model, String... options) throws IOException {
    Path image = Files.write(dir.resolve("cat.png"),
        TestModels.resource("/dev/deeplab/photos/chelsea.png"));
    Path out = dir.resolve("out-" + model.getFileName());
    List<String> args = new ArrayList<>(List.of("segment", "--model", model.toString(), "-o",
        out.toString()));
    args.addAll(List.of(options));
    args.add(image.toString());
    Run r = run(args.toArray(String[]::new));
    if (Files.isDirectory(out)) {
      try (Stream<Path> s = Files.list(out)) {
        assertEquals(0, s.count(), "outputs written although the model failed");
      }
    }
    return r;
  }

  private static Path copyModel(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    return to;
  }

  // ---------------------------------------------------------------------------------------------
  // eval

  @Test
  void evalMissingLabelFile() throws Exception {
    Path root = copyVocMini();
    Path label = root.resolve("SegmentationClass/voc_val_0001.png");
    Files.delete(label);
    assertOneLineError(eval(root), label + ": label not found");
  }

  @Test
  void evalLabelOfTheWrongSize() throws Exception {
    Path root = copyVocMini();
    Path label = root.resolve("SegmentationClass/voc_val_0020.png");
    MaskWriter.writeMask(label, new LabelMap(100, 80, new byte[100 * 80]),
        LabelSet.vocColormap(256));
    assertOneLineError(eval(root),
        label + ": label is 100x80 but image voc_val_0020.jpg is 513x513");
  }

  @Test
  void evalLabelValuesOutsideTheClassRange() throws Exception {
    Path root = copyVocMini();
    Path label = root.resolve("SegmentationClass/voc_val_0023.png");
    LabelMap original = new LabelReader().read(label);
    byte[] ids = original.ids().clone();
    Arrays.fill(ids, 0, 513 * 10, (byte) 30); // ten rows of class 30 (there are 21)
    MaskWriter.writeMask(label, new LabelMap(513, 513, ids), LabelSet.vocColormap(256));
    assertOneLineError(eval(root), label + ": label values 30 (5130 px) outside 0..20");
  }

  @Test
  void evalEmptySplit() throws Exception {
    Path root = copyVocMini();
    Path split = root.resolve("ImageSets/Segmentation/val.txt");
    Files.writeString(split, "\n");
    assertOneLineError(eval(root), split + ": split is empty");
  }

  @Test
  void evalRefusesDeclaredSizeBombs() throws Exception {
    Path root = copyVocMini();
    Path photo = root.resolve("JPEGImages/voc_val_0001.jpg");
    byte[] original = Files.readAllBytes(photo);
    Files.write(photo, ImageBombs.jpeg(65500, 65500));
    assertOneLineError(eval(root), photo + ": image is 65500x65500 = 4290250000 pixels, over the"
        + " pixel limit");
    Files.write(photo, original);
    Path label = root.resolve("SegmentationClass/voc_val_0020.png");
    Files.write(label, ImageBombs.png(9000, 9000, true));
    assertOneLineError(eval(root), label + ": PNG header declares 9000x9000 pixels, which need at"
        + " least");
  }

  private Run eval(Path root) throws Exception {
    return run("eval", "--model", TestModels.small().toString(), "--data", root.toString());
  }

  private Path copyVocMini() throws IOException {
    Path root = dir.resolve("voc");
    copyModel(dev.deeplab.testing.TestData.vocMini(), root);
    return root;
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * An {@code import} refused: a usage error (exit 2, picocli's {@code deeplab import: } message
   * first) or a one-line error (exit 1, {@code deeplab: }) naming {@code expected}, without a
   * stack trace.
   */
  static void assertImportRefused(Run r, int code, String expected) {
    assertEquals(code, r.code(), r.err());
    String first = r.err().lines().findFirst().orElse("");
    assertTrue(first.startsWith(code == 2 ? "deeplab import: " : "deeplab: "), r.err());
    assertTrue(first.contains(expected), r.err());
    if (code == 1) {
      assertEquals(1, r.err().strip().lines().count(), r.err());
    }
    assertFalse(r.hasStackTrace(), r.err());
  }

  private static void assertOneLineError(Run r, String expected) {
    assertEquals(1, r.code(), r.out() + r.err());
    assertFalse(r.hasStackTrace(), r.err());
    assertEquals(1, r.errLines().size(), r.err());
    String line = r.errLines().get(0);
    assertTrue(line.startsWith("deeplab: "), line);
    assertTrue(line.contains(expected), "expected '" + expected + "' in: " + line);
    System.out.println(line);
  }
}
