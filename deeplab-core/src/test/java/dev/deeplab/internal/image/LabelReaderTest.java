package dev.deeplab.internal.image;

import static dev.deeplab.image.TestImages.encode;
import static dev.deeplab.image.TestImages.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReaderTest;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.TestImages;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelReaderTest {
  @TempDir Path dir;

  private final LabelReader reader = new LabelReader();

  @Test
  void vocPaletteLabelGivesIndicesNotColours() throws IOException {
    LabelMap label = reader.read(
        TestImages.resource("/voc-mini/SegmentationClass/voc_val_0000.png"), "voc_val_0000.png");
    assertEquals(513, label.width());
    assertEquals(513, label.height());
    long[] histogram = label.histogram();
    assertTrue(histogram[0] > 0, "has background");
    assertTrue(histogram[255] > 0, "has the void boundary");
    for (int v = 21; v < 255; v++) {
      assertEquals(0, histogram[v], "value " + v);
    }
  }

  @Test
  void greyscaleLabel() throws IOException {
    LabelMap label = reader.read(write(dir, "grey.png", encode(TestImages.grey(8, 5), "png")));
    assertEquals(17 * 3 + 4, label.get(3, 4));
  }

  @Test
  void sixteenBitGreyWithSmallValues() throws IOException {
    java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(3, 2,
        java.awt.image.BufferedImage.TYPE_USHORT_GRAY);
    img.getRaster().setSample(2, 1, 0, 19);
    assertEquals(19, reader.read(write(dir, "l16.png", encode(img, "png"))).get(2, 1));
    img.getRaster().setSample(0, 0, 0, 300);
    ImageFormatException e = assertThrows(ImageFormatException.class,
        () -> reader.read(write(dir, "l16big.png", encode(img, "png"))));
    assertTrue(e.getMessage().contains("300"), e.getMessage());
  }

  @Test
  void paletteIndicesSurviveAPaletteWithRepeatedColours() throws IOException {
    // two indices share a colour: only the raster sample can tell them apart
    byte[] r = {0, 0, 0};
    byte[] g = {0, 0, 0};
    byte[] b = {0, 0, 0};
    java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(2, 1,
        java.awt.image.BufferedImage.TYPE_BYTE_INDEXED, new java.awt.image.IndexColorModel(8, 3, r, g, b));
    img.getRaster().setSample(1, 0, 0, 2);
    LabelMap label = reader.read(write(dir, "same.png", encode(img, "png")));
    assertEquals(0, label.get(0, 0));
    assertEquals(2, label.get(1, 0));
  }

  @Test
  void rgbAndJpegLabelsAreRefused() throws IOException {
    Path rgb = write(dir, "rgb.png", encode(TestImages.rgbGradient(4, 4), "png"));
    ImageFormatException e = assertThrows(ImageFormatException.class, () -> reader.read(rgb));
    ImageReaderTest.assertOneLine(e, rgb);
    assertTrue(e.getMessage().contains("palette-indexed or greyscale"), e.getMessage());
    Path jpg = write(dir, "label.png", encode(TestImages.solid(4, 4, 0), "jpeg"));
    e = assertThrows(ImageFormatException.class, () -> reader.read(jpg));
    ImageReaderTest.assertOneLine(e, jpg);
    assertTrue(e.getMessage().contains("must be PNG"), e.getMessage());
  }

  @Test
  void emptyAndLimit() throws IOException {
    Path empty = write(dir, "e.png", new byte[0]);
    ImageReaderTest.assertOneLine(assertThrows(ImageFormatException.class, () -> reader.read(empty)), empty);
    Path file = write(dir, "g.png", encode(TestImages.grey(8, 5), "png"));
    ImageFormatException e = assertThrows(ImageFormatException.class, () -> new LabelReader(39).read(file));
    assertTrue(e.getMessage().contains("limit of 39"), e.getMessage());
  }
}
