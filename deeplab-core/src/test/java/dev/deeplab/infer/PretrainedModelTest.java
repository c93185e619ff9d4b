package dev.deeplab.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pretrained model from the classpath: the jar carries exactly the committed SavedModel, it
 * is unpacked once into the cache, processes starting together agree on one complete copy, and a
 * damaged copy is replaced.
 */
class PretrainedModelTest {
  private static final Path COMMITTED_VERSION = TestModels.COMMITTED.resolve("1");

  @Test
  void packagesEveryFileOfTheCommittedModel() throws IOException {
    List<String> committed;
    try (Stream<Path> walk = Files.walk(COMMITTED_VERSION)) {
      committed = walk.filter(Files::isRegularFile)
          .map(p -> COMMITTED_VERSION.relativize(p).toString().replace('\\', '/')).sorted()
          .toList();
    }
    assertEquals(committed, PretrainedModel.FILES.stream().sorted().toList());
  }

  @Test
  void unpacksAnExactCopyOnceUnderAContentHash(@TempDir Path cache) throws IOException {
    Path version = PretrainedModel.materialize(cache);
    assertEquals("1", version.getFileName().toString());
    assertTrue(version.getParent().getFileName().toString()
        .matches(PretrainedModel.NAME + "-[0-9a-f]{16}"), version.toString());
    assertSameAsCommitted(version);
    long modified = Files.getLastModifiedTime(version.resolve("saved_model.pb")).toMillis();
    assertEquals(version, PretrainedModel.materialize(cache));
    assertEquals(modified,
        Files.getLastModifiedTime(version.resolve("saved_model.pb")).toMillis(), "rewritten");
    assertEquals(List.of(version.getParent()), list(cache), "only the model, no temporary files");
  }

  @Test
  void replacesADamagedCopy(@TempDir Path cache) throws IOException {
    Path version = PretrainedModel.materialize(cache);
    Path data = version.resolve("variables/variables.data-00000-of-00001");
    byte[] garbage = new byte[(int) Files.size(data)];
    Files.write(data, garbage);
    Files.delete(version.resolve("assets/labels.txt"));
    assertEquals(version, PretrainedModel.materialize(cache));
    assertSameAsCommitted(version);
    assertEquals(List.of(version.getParent()), list(cache));
  }

  @Test
  void processesStartingTogetherShareOneCompleteCopy(@TempDir Path cache) throws Exception {
    List<Process> children = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      children.add(new ProcessBuilder(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), Child.class.getName(), cache.toString())
          .redirectErrorStream(true).start());
    }
    List<String> answers = new ArrayList<>();
    for (Process p : children) {
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child timed out");
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      assertEquals(0, p.exitValue(), out);
      answers.add(out);
    }
    assertEquals(1, answers.stream().distinct().count(), answers.toString());
    Path version = Path.of(answers.get(0));
    assertSameAsCommitted(version);
    assertEquals(List.of(version.getParent()), list(cache), "leftover temporary directories");
  }

  @Test
  void pretrainedSegmenterFindsTheDogWithNoPathGiven() throws Exception {
    RgbImage pets = new ImageReader().read(TestModels.resource("/dev/deeplab/photos/pets.jpg"),
        "pets.jpg");
    try (Segmenter s = Segmenter.pretrained()) {
      double dog = s.segment(pets.rgb(), pets.width(), pets.height()).classShares()[12];
      // 15.1% of the pixels, as the CLI reports for this photo; the dog fills that much of it.
      assertTrue(dog > 0.12 && dog < 0.18, "dog share " + dog);
      assertEquals("dog", s.info().classNames().get(12));
    }
  }

  /** Unpacks into the cache given as the argument and prints the version directory. */
  public static final class Child {
    public static void main(String[] args) throws IOException {
      System.out.println(PretrainedModel.materialize(Path.of(args[0])));
    }
  }

  private static void assertSameAsCommitted(Path version) throws IOException {
    for (String f : PretrainedModel.FILES) {
      assertArrayEquals(Files.readAllBytes(COMMITTED_VERSION.resolve(f)),
          Files.readAllBytes(version.resolve(f)), f);
    }
  }

  private static List<Path> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    }
  }
}
