package dev.deeplab.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.internal.serving.FrozenGraphWrapper;
import dev.deeplab.internal.tflite.TfliteDeepLabImporter;
import dev.deeplab.internal.tflite.TfliteFormatException;
import dev.deeplab.internal.tflite.TfliteModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing (Jazzer) of the parsers that read users' files: images, TFLite models,
 * checkpoint indexes and frozen graphs. Each target accepts any bytes and must either succeed or
 * refuse them with its one-line exception, whose message must be one line; anything else (an
 * unchecked exception, an error, a native crash, a hang) is a finding.
 *
 * <p>In the normal test run (regression mode) each target runs its committed seed corpus and
 * every finding kept as a regression input, under {@code
 * src/test/resources/dev/deeplab/fuzz/ParserFuzzTestInputs/<target>/}. With {@code JAZZER_FUZZ=1}
 * one target is fuzzed (README, "Fuzzing"); new findings are written to that directory.
 */
class ParserFuzzTest {
  /** Pixel limit of the fuzzed readers: small, so no input can make them allocate much. */
  private static final long MAX_PIXELS = 1 << 20;
  private static final ImageReader IMAGES = new ImageReader(MAX_PIXELS);
  private static final LabelReader LABELS = new LabelReader(MAX_PIXELS);

  @FuzzTest(maxDuration = "60s")
  void imageReader(byte[] data) {
    try {
      IMAGES.read(data, "fuzz");
    } catch (ImageFormatException e) {
      oneLine(e);
    }
    try {
      LABELS.read(data, "fuzz");
    } catch (ImageFormatException e) {
      oneLine(e);
    }
  }

  @FuzzTest(maxDuration = "60s")
  void tfliteParser(byte[] data) {
    try {
      TfliteModel.parse(data);
      TfliteDeepLabImporter.importBytes(data);
    } catch (TfliteFormatException e) {
      oneLine(e);
    }
  }

  /** The Java check of a V2 index (TensorFlow's reader is never reached with what it refuses). */
  @FuzzTest(maxDuration = "60s")
  void checkpointIndex(byte[] data) throws IOException {
    Path dir = Files.createTempDirectory("deeplab-fuzz");
    try {
      Path prefix = dir.resolve("model.ckpt");
      Files.write(Path.of(prefix + ".index"), data);
      Files.write(Path.of(prefix + ".data-00000-of-00001"), new byte[1024]);
      Checkpoints.checkIndex(prefix.toString());
    } catch (CheckpointException e) {
      oneLine(e);
    } finally {
      dev.deeplab.internal.io.AtomicFiles.deleteTreeQuietly(dir);
    }
  }

  @FuzzTest(maxDuration = "60s")
  void frozenGraph(byte[] data) throws IOException {
    Path file = Files.createTempFile("deeplab-fuzz", ".pb");
    try {
      Files.write(file, data);
      FrozenGraphWrapper.detect(FrozenGraphWrapper.read(file));
    } catch (IOException e) {
      oneLine(e);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static void oneLine(Exception e) {
    String m = e.getMessage();
    if (m == null || m.isBlank() || m.contains("\n") || m.contains("\r")) {
      throw new AssertionError("not a one-line message: " + m, e);
    }
  }
}
