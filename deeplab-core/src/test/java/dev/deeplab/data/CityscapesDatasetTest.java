package dev.deeplab.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.LabelMap;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.model.LabelSet;
import dev.deeplab.testing.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Cityscapes layout and the label-id table of cityscapesScripts labels.py. */
class CityscapesDatasetTest {
  @TempDir Path tmp;

  private static final Path ROOT = TestData.datasets("cityscapes");

  /**
   * labels.py, copied by hand: {label id, train id} for ids -1..33 (255 = not evaluated), and
   * whether the class is evaluated ({@code ignoreInEval == False}).
   */
  private static final int[][] TABLE = {
      {0, 255}, {1, 255}, {2, 255}, {3, 255}, {4, 255}, {5, 255}, {6, 255}, {7, 0}, {8, 1},
      {9, 255}, {10, 255}, {11, 2}, {12, 3}, {13, 4}, {14, 255}, {15, 255}, {16, 255}, {17, 5},
      {18, 255}, {19, 6}, {20, 7}, {21, 8}, {22, 9}, {23, 10}, {24, 11}, {25, 12}, {26, 13},
      {27, 14}, {28, 15}, {29, 255}, {30, 255}, {31, 16}, {32, 17}, {33, 18}, {-1, 255}};

  @Test
  void trainIdsFollowTheOfficialTable() {
    for (int[] row : TABLE) {
      assertEquals(row[1], CityscapesDataset.trainId(row[0]), "label id " + row[0]);
    }
    assertThrows(IllegalArgumentException.class, () -> CityscapesDataset.trainId(34));
    assertThrows(IllegalArgumentException.class, () -> CityscapesDataset.labelId(19));
  }

  @Test
  void labelIdsRoundTripForEveryEvaluatedClass() {
    int evaluated = 0;
    for (int[] row : TABLE) {
      if (row[1] != 255) {
        assertEquals(row[0], CityscapesDataset.labelId(CityscapesDataset.trainId(row[0])));
        evaluated++;
      }
    }
    assertEquals(19, evaluated);
    // and as images: every evaluated label id in one map
    byte[] ids = new byte[19];
    int k = 0;
    for (int[] row : TABLE) {
      if (row[1] != 255) {
        ids[k++] = (byte) row[0];
      }
    }
    LabelMap labelIds = new LabelMap(19, 1, ids);
    LabelMap back = CityscapesDataset.toLabelIds(CityscapesDataset.toTrainIds(labelIds));
    assertArrayEquals(ids, back.ids());
  }

  @Test
  void listsCitiesInPathOrderPreferringTrainIdFiles() throws Exception {
    List<CityscapesDataset.Sample> train = new CityscapesDataset(ROOT, "train").samples();
    assertEquals(List.of("aachen_000000_000019", "aachen_000001_000019", "bremen_000000_000019"),
        train.stream().map(CityscapesDataset.Sample::id).toList());
    assertEquals(List.of(false, true, false),
        train.stream().map(CityscapesDataset.Sample::labelIds).toList());
    assertTrue(train.get(0).label().getFileName().toString().endsWith("_gtFine_labelTrainIds.png"));
    assertTrue(train.get(1).label().getFileName().toString().endsWith("_gtFine_labelIds.png"));
  }

  /** The Java mapping of each labelIds PNG equals the labelTrainIds PNG Python wrote. */
  @Test
  void labelIdFilesMapToThePythonWrittenTrainIds() throws Exception {
    LabelReader reader = new LabelReader();
    int compared = 0;
    for (String split : List.of("train", "val")) {
      for (CityscapesDataset.Sample s : new CityscapesDataset(ROOT, split).samples()) {
        if (s.labelIds()) {
          continue;
        }
        Path labelIds = s.label().resolveSibling(s.id() + "_gtFine_labelIds.png");
        LabelMap raw = reader.read(labelIds);
        LabelMap expected = reader.read(s.label());
        assertArrayEquals(expected.ids(), CityscapesDataset.toTrainIds(raw).ids(), s.id());
        long ignored = raw.histogram()[0] + raw.histogram()[1] + raw.histogram()[9];
        assertTrue(ignored > 0, "the fixture has void ids");
        compared++;
      }
    }
    assertEquals(3, compared);
  }

  @Test
  void loadsTrainIdsFromEitherFile() throws Exception {
    CityscapesDataset train = new CityscapesDataset(ROOT, "train");
    for (CityscapesDataset.Sample s : train.samples()) {
      SegmentationDataset.LoadedSample l = train.load(s, LabelSet.CITYSCAPES.numClasses(),
          LabelSet.CITYSCAPES.ignoreLabel());
      assertEquals(128, l.image().width());
      assertEquals(64, l.image().height());
      long[] h = l.label().histogram();
      for (int v = 19; v < 255; v++) {
        assertEquals(0, h[v], s.id() + " value " + v);
      }
      assertTrue(h[10] > 0 && h[2] > 0 && h[0] > 0, "sky, building and road present");
      assertTrue(h[255] > 0, "void pixels ignored");
    }
    // the license plate (-1 stored as 255) of aachen_000001 is ignored
    SegmentationDataset.LoadedSample plate = train.load(train.samples().get(1), 19, 255);
    assertEquals(255, plate.label().ids()[62 * 128 + 127] & 0xFF);
  }

  @Test
  void badLabelIdIsOneLineNamingTheFile() throws Exception {
    Path root = tmp.resolve("cs");
    Path img = root.resolve("leftImg8bit/val/x/x_1_2_leftImg8bit.png");
    Files.createDirectories(img.getParent());
    Files.copy(ROOT.resolve("leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png"),
        img);
    Path label = root.resolve("gtFine/val/x/x_1_2_gtFine_labelIds.png");
    Files.createDirectories(label.getParent());
    byte[] ids = new byte[128 * 64];
    ids[5] = 40;
    dev.deeplab.image.MaskWriter.writeMask(label, new LabelMap(128, 64, ids),
        LabelSet.CITYSCAPES.palette());
    CityscapesDataset ds = new CityscapesDataset(root, "val");
    DatasetException e = assertThrows(DatasetException.class,
        () -> ds.load(ds.samples().get(0), 19, 255));
    assertFalse(e.getMessage().contains("\n"));
    assertTrue(e.getMessage().startsWith(label.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("value 40 at (5,0) is not a Cityscapes label id"),
        e.getMessage());
  }

  @Test
  void missingSplitIsOneLine() {
    DatasetException e = assertThrows(DatasetException.class,
        () -> new CityscapesDataset(ROOT, "test").samples());
    assertTrue(e.getMessage().contains("leftImg8bit/<split>") || e.getMessage().contains("not found"),
        e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }
}
