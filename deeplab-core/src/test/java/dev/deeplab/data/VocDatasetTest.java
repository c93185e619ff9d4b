package dev.deeplab.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.LabelMap;
import dev.deeplab.image.MaskWriter;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.model.LabelSet;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VocDatasetTest {
  private static final List<String> IDS =
      List.of("voc_val_0000", "voc_val_0001", "voc_val_0020", "voc_val_0023");

  @TempDir Path tmp;
  private Path root;

  @BeforeEach
  void copyVocMini() throws IOException, URISyntaxException {
    Path source = dev.deeplab.testing.TestData.vocMini();
    root = tmp.resolve("voc");
    try (Stream<Path> files = Files.walk(source)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path target = root.resolve(source.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  @Test
  void vocMiniIsClean() throws IOException {
    VocDataset val = new VocDataset(root, "val");
    List<VocDataset.Sample> samples = val.samples();
    assertEquals(IDS, samples.stream().map(VocDataset.Sample::id).toList());
    assertEquals(List.of(), val.validate(21));
    assertEquals(List.of(), val.validate(LabelSet.PASCAL_VOC));
    for (VocDataset.Sample s : samples) {
      VocDataset.LoadedSample loaded = val.load(s, 21);
      assertEquals(513, loaded.image().width());
      assertEquals(513, loaded.label().height());
      assertTrue(loaded.label().histogram()[255] > 0);
    }
    assertEquals(List.of(), new VocDataset(root, "train").validate(21));
  }

  @Test
  void missingLabel() throws IOException {
    Path label = root.resolve("SegmentationClass/voc_val_0001.png");
    Files.delete(label);
    VocDataset val = new VocDataset(root, "val");
    List<String> problems = val.validate(21);
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(problems.get(0).startsWith(label + ": label not found"), problems.get(0));
    DatasetException e = assertThrows(DatasetException.class, () -> val.load(val.samples().get(1), 21));
    assertOneLine(e.getMessage(), label);
  }

  @Test
  void missingImage() throws IOException {
    Path image = root.resolve("JPEGImages/voc_val_0020.jpg");
    Files.delete(image);
    List<String> problems = new VocDataset(root, "val").validate(21);
    assertEquals(1, problems.size(), problems.toString());
    assertOneLine(problems.get(0), image);
    assertTrue(problems.get(0).contains("image not found"), problems.get(0));
  }

  @Test
  void labelOfTheWrongSize() throws IOException {
    Path label = root.resolve("SegmentationClass/voc_val_0020.png");
    MaskWriter.writeMask(label, new LabelMap(100, 80, new byte[100 * 80]), LabelSet.PASCAL_VOC.palette());
    VocDataset val = new VocDataset(root, "val");
    List<String> problems = val.validate(21);
    assertEquals(1, problems.size(), problems.toString());
    assertOneLine(problems.get(0), label);
    assertTrue(problems.get(0).contains("label is 100x80 but image voc_val_0020.jpg is 513x513"),
        problems.get(0));
    DatasetException e = assertThrows(DatasetException.class, () -> val.load(val.samples().get(2), 21));
    assertEquals(problems.get(0), e.getMessage());
  }

  @Test
  void labelValueOutOfRange() throws IOException {
    Path label = root.resolve("SegmentationClass/voc_val_0023.png");
    LabelMap original = new LabelReader().read(label);
    byte[] ids = original.ids().clone();
    Arrays.fill(ids, 0, 10, (byte) 30);
    MaskWriter.writeMask(label, new LabelMap(original.width(), original.height(), ids),
        LabelSet.PASCAL_VOC.palette());
    VocDataset val = new VocDataset(root, "val");
    List<String> problems = val.validate(21);
    assertEquals(1, problems.size(), problems.toString());
    assertOneLine(problems.get(0), label);
    assertTrue(problems.get(0).contains("30 (10 px)"), problems.get(0));
    assertTrue(problems.get(0).contains("outside 0..20"), problems.get(0));
    assertThrows(DatasetException.class, () -> val.load(val.samples().get(3), 21));
    assertEquals(List.of(), val.validate(31), "valid with 31 classes");
  }

  @Test
  void emptyAndMissingSplit() throws IOException {
    Path split = root.resolve("ImageSets/Segmentation/val.txt");
    Files.writeString(split, "\n  \n");
    List<String> problems = new VocDataset(root, "val").validate(21);
    assertEquals(List.of(split + ": split is empty (no sample ids)"), problems);
    assertThrows(DatasetException.class, () -> new VocDataset(root, "val").samples());

    Path missing = root.resolve("ImageSets/Segmentation/test.txt");
    problems = new VocDataset(root, "test").validate(21);
    assertEquals(1, problems.size());
    assertTrue(problems.get(0).startsWith(missing + ": split file not found"), problems.get(0));
    assertThrows(IllegalArgumentException.class, () -> new VocDataset(root, "../val"));
  }

  @Test
  void corruptImageFailsAtLoadSoTrainingCanSkipIt() throws IOException {
    Path image = root.resolve("JPEGImages/voc_val_0000.jpg");
    byte[] jpeg = Files.readAllBytes(image);
    Files.write(image, Arrays.copyOf(jpeg, jpeg.length / 2));
    VocDataset val = new VocDataset(root, "val");
    int loaded = 0;
    int skipped = 0;
    for (VocDataset.Sample s : val.samples()) {
      try {
        val.load(s, LabelSet.PASCAL_VOC);
        loaded++;
      } catch (DatasetException e) {
        assertOneLine(e.getMessage(), image);
        skipped++;
      }
    }
    assertEquals(3, loaded);
    assertEquals(1, skipped);
  }

  private static void assertOneLine(String message, Path file) {
    assertFalse(message.contains("\n"), message);
    assertTrue(message.startsWith(file.toString() + ": "), message);
  }
}
