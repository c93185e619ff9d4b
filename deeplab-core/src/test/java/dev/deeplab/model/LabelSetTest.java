package dev.deeplab.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelSetTest {

  @Test
  void pascalVoc() {
    LabelSet voc = LabelSet.PASCAL_VOC;
    assertEquals(21, voc.numClasses());
    assertEquals(255, voc.ignoreLabel());
    assertEquals("background", voc.className(0));
    assertEquals("person", voc.className(15));
    assertEquals("tvmonitor", voc.className(20));
    assertEquals(0x000000, voc.color(0));
    assertEquals(0x800000, voc.color(1));
    assertEquals(0x008000, voc.color(2));
    assertEquals(0xC08080, voc.color(15), "person is (192,128,128)");
    assertEquals(0xE0E0C0, voc.color(255), "void is (224,224,192)");
    assertEquals(256, voc.palette().length);
    assertEquals(15, voc.classId("Person"));
  }

  @Test
  void cityscapes() {
    LabelSet cs = LabelSet.CITYSCAPES;
    assertEquals(19, cs.numClasses());
    assertEquals(255, cs.ignoreLabel());
    assertEquals("road", cs.className(0));
    assertEquals(0x804080, cs.color(0), "road is (128,64,128)");
    assertEquals("bicycle", cs.className(18));
    assertEquals(0x770B20, cs.color(18), "bicycle is (119,11,32)");
    assertEquals(6, cs.classId("traffic_light"));
  }

  @Test
  void ade20k() {
    LabelSet ade = LabelSet.ADE20K;
    assertEquals(151, ade.numClasses());
    assertEquals(0, ade.ignoreLabel());
    assertEquals("other", ade.className(0));
    assertEquals("wall", ade.className(1));
    assertEquals("flag", ade.className(150));
    assertEquals(151, new HashSet<>(ade.classNames()).size(), "names are unique");
    assertEquals(0x787878, ade.color(1), "wall is (120,120,120)");
    assertEquals(0x5C00FF, ade.color(150), "flag is (92,0,255)");
  }

  @Test
  void lookups() {
    assertSame(LabelSet.PASCAL_VOC, LabelSet.byName("pascal_voc"));
    assertSame(LabelSet.PASCAL_VOC, LabelSet.byName("PASCAL-VOC"));
    assertSame(LabelSet.CITYSCAPES, LabelSet.byName("cityscapes"));
    assertSame(LabelSet.ADE20K, LabelSet.byName("ade20k"));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> LabelSet.byName("coco"));
    assertTrue(e.getMessage().contains("pascal_voc, cityscapes, ade20k"), e.getMessage());
  }

  @Test
  void customLabelSetUsesVocColoursByDefault() {
    LabelSet custom = new LabelSet("mine", List.of("bg", "thing"), 255, null);
    assertEquals(LabelSet.PASCAL_VOC.color(1), custom.color(1));
    assertTrue(custom.isValidLabel(255));
    assertTrue(!custom.isValidLabel(2));
  }

  @Test
  void labelFileGivesNamesColoursAndRoundTrips(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("defects.txt"), """
        # background first
        ok
        hairline scratch #FF8000

        dent   #00ff00
        """);
    LabelSet labels = LabelSet.read(file);
    assertEquals("defects", labels.name());
    assertEquals(List.of("ok", "hairline scratch", "dent"), labels.classNames());
    assertEquals(LabelSet.vocColormap(1)[0], labels.color(0), "no colour: the VOC colour map");
    assertEquals(0xFF8000, labels.color(1));
    assertEquals(0x00FF00, labels.color(2));
    assertEquals(255, labels.ignoreLabel());
    Path again = Files.writeString(dir.resolve("defects.labels"), labels.toLabelFile());
    assertEquals(labels, LabelSet.read(again));
    assertEquals(labels, LabelSet.of(file.toString()));
    assertSame(LabelSet.CITYSCAPES, LabelSet.of("cityscapes"));
  }

  @Test
  void badLabelFilesAreRefusedWithTheReason(@TempDir Path dir) throws IOException {
    Path empty = Files.writeString(dir.resolve("empty.txt"), "# nothing\n\n");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LabelSet.read(empty))
        .getMessage().contains("names no class"));
    Path twice = Files.writeString(dir.resolve("twice.txt"), "cat\ndog\nCat\n");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LabelSet.read(twice))
        .getMessage().contains("class 2 'Cat' repeats class 0"));
    Path many = Files.writeString(dir.resolve("many.txt"), String.join("\n",
        java.util.stream.IntStream.range(0, 257).mapToObj(i -> "c" + i).toList()));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LabelSet.read(many))
        .getMessage().contains("257 classes"));
    Path binary = Files.write(dir.resolve("binary.txt"), new byte[] {(byte) 0xC3, 0x28});
    assertTrue(assertThrows(IllegalArgumentException.class, () -> LabelSet.read(binary))
        .getMessage().contains("not a UTF-8 label file"));
    IllegalArgumentException neither = assertThrows(IllegalArgumentException.class,
        () -> LabelSet.of(dir.resolve("missing.txt").toString()));
    assertTrue(neither.getMessage().contains("no such file, and not a built-in label set"));
  }

  @Test
  void unnamedClassesAreNumbered() {
    LabelSet u = LabelSet.unnamed(21);
    assertEquals("unnamed", u.name());
    assertEquals("class_12", u.className(12));
    assertEquals(255, u.ignoreLabel());
  }
}
