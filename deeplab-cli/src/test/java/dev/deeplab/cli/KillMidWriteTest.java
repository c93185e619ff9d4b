package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.ImageReader;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.internal.serving.ModelOps;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.testing.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL in the middle of {@code export}, {@code import} and {@code segment}: the command line
 * runs in its own JVM and is killed at a random moment once it has started writing (a hidden
 * temporary version directory or {@code .tmp} file appears), once per command by default. After
 * each kill no version directory TF Serving would load is incomplete (TF Serving loads any
 * numeric directory with a {@code saved_model.pb}) and no mask or overlay under its final name is
 * truncated. Bounded: {@code -Ddeeplab.killRuns=N} runs per command (default 1), each killed
 * within a few seconds; prints what each run covered.
 */
class KillMidWriteTest {
  private static final int RUNS = Integer.getInteger("deeplab.killRuns", 1);
  private final Random random = new Random(Long.getLong("deeplab.killSeed", 15));

  @TempDir Path dir;

  /** What one run did: killed after writing began (and how long after), or finished first. */
  private record Outcome(boolean killed, boolean sawWriting, long afterMillis) {
    @Override
    public String toString() {
      return !killed ? "finished before the kill"
          : (sawWriting ? "killed " + afterMillis + " ms after writing began"
              : "killed before writing began");
    }
  }

  @Test
  void exportImportAndSegmentKilledMidWrite() throws Exception {
    Path model = TestModels.small();
    Path tflite = TestData.resources("dev/deeplab/models/deeplabv3_mnv2_dm05_pascal_quant.tflite");
    Path images = Files.createDirectories(dir.resolve("images"));
    List<String> photos = new ArrayList<>();
    for (String p : List.of("chelsea.png", "pets.jpg", "owl.jpg", "parrot.jpg")) {
      photos.add(Files.write(images.resolve(p), TestModels.resource("/dev/deeplab/photos/" + p))
          .toString());
    }
    List<String> report = new ArrayList<>();
    for (int run = 0; run < RUNS; run++) {
      Path base = dir.resolve("export-" + run);
      Outcome o = killDuring(base, hiddenVersion(), "export", "--model", model.toString(),
          "-o", base.toString());
      report.add("export #" + run + ": " + o + "; " + checkVersions(base));

      Path imported = dir.resolve("import-" + run);
      o = killDuring(imported, hiddenVersion(), "import", "--tflite", tflite.toString(),
          "--labels", "pascal_voc", "-o", imported.toString());
      report.add("import #" + run + ": " + o + "; " + checkVersions(imported));

      Path out = dir.resolve("segment-" + run);
      List<String> args = new ArrayList<>(List.of("segment", "--model", model.toString(), "-o",
          out.toString()));
      for (int copy = 0; copy < 3; copy++) { // enough images to be killed among them
        for (String p : photos) {
          Path c = Files.copy(Path.of(p), images.resolve(copy + "-" + Path.of(p).getFileName()),
              java.nio.file.StandardCopyOption.REPLACE_EXISTING);
          args.add(c.toString());
        }
      }
      o = killDuring(out, p -> p.getFileName().toString().endsWith(".tmp"),
          args.toArray(String[]::new));
      report.add("segment #" + run + ": " + o + "; " + checkMasks(out));
    }
    report.forEach(r -> System.out.println("kill mid-write: " + r));
  }

  private static Predicate<Path> hiddenVersion() {
    return p -> p.getFileName().toString().startsWith(".export-");
  }

  /**
   * Runs the command line in a new JVM and kills it (SIGKILL) a random 0 to 400 ms after a file
   * matching {@code writing} appears in {@code watched}, or after 60 s.
   */
  private Outcome killDuring(Path watched, Predicate<Path> writing, String... args)
      throws Exception {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), DeepLabCli.class.getName()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("child-" + System.nanoTime() + ".log").toFile());
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process p = pb.start();
    long deadline = System.nanoTime() + 60_000_000_000L;
    boolean seen = false;
    while (p.isAlive() && System.nanoTime() < deadline && !seen) {
      seen = Files.isDirectory(watched) && any(watched, writing);
      if (!seen) {
        Thread.sleep(5);
      }
    }
    long delay = seen ? random.nextInt(400) : 0;
    Thread.sleep(delay);
    boolean killed = p.isAlive();
    p.destroyForcibly(); // SIGKILL on Unix
    p.waitFor();
    return new Outcome(killed, seen, delay);
  }

  private static boolean any(Path dir, Predicate<Path> test) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.anyMatch(test);
    } catch (java.nio.file.NoSuchFileException e) {
      return false;
    }
  }

  /** Every numeric (servable) version is complete and parses; returns what was there. */
  private static String checkVersions(Path base) throws IOException {
    if (!Files.isDirectory(base)) {
      return "no output";
    }
    int versions = 0;
    int hidden = 0;
    try (Stream<Path> s = Files.list(base)) {
      for (Path p : s.toList()) {
        String name = p.getFileName().toString();
        if (SavedModels.parseVersion(name).isPresent()) {
          versions++;
          assertTrue(Files.isRegularFile(p.resolve("saved_model.pb")), p + " has no graph");
          assertTrue(Files.size(p.resolve("variables/variables.index")) > 0, p + " variables");
          SavedModels.readInfo(p);
          ModelOps.check(p, false); // parses the whole graph
        } else {
          assertTrue(name.startsWith("."), "unexpected " + p);
          hidden++;
        }
      }
    }
    return versions + " complete version(s), " + hidden + " hidden temporary dir(s)";
  }

  /** Every mask and overlay under its final name decodes whole; returns what was there. */
  private static String checkMasks(Path out) throws IOException {
    if (!Files.isDirectory(out)) {
      return "no output";
    }
    int masks = 0;
    int overlays = 0;
    int temporary = 0;
    try (Stream<Path> s = Files.list(out)) {
      for (Path p : s.toList()) {
        String name = p.getFileName().toString();
        if (name.endsWith("_mask.png")) {
          masks++;
          new LabelReader().read(p); // throws on a truncated PNG
        } else if (name.endsWith("_overlay.png")) {
          overlays++;
          new ImageReader().read(p);
        } else {
          assertTrue(name.startsWith(".") && name.endsWith(".tmp"), "unexpected " + p);
          temporary++;
        }
      }
    }
    return masks + " whole mask(s), " + overlays + " whole overlay(s), " + temporary
        + " temporary file(s)";
  }
}
