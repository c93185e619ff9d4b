package dev.deeplab.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.model.LabelSet;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MaskWriterTest {
  @TempDir Path dir;

  private static LabelMap sampleMask() {
    int w = 6;
    int h = 4;
    int[] ids = new int[w * h];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = new int[] {0, 15, 1, 20, 255, 7}[i % w];
    }
    return LabelMap.ofInts(w, h, ids);
  }

  @Test
  void paletteRoundTrip() throws IOException {
    LabelMap mask = sampleMask();
    Path out = dir.resolve("mask.png");
    MaskWriter.writeMask(out, mask, LabelSet.PASCAL_VOC.palette());

    BufferedImage png = ImageIO.read(out.toFile());
    assertEquals(BufferedImage.TYPE_BYTE_INDEXED, png.getType());
    assertEquals(0xC08080, png.getRGB(1, 0) & 0xFFFFFF, "VOC person (15) is (192,128,128)");
    assertEquals(0xE0E0C0, png.getRGB(4, 0) & 0xFFFFFF, "VOC void (255) is (224,224,192)");

    LabelMap back = new LabelReader().read(out);
    assertEquals(mask.width(), back.width());
    assertEquals(mask.height(), back.height());
    assertArrayEquals(mask.ids(), back.ids());
    assertNoTempFiles();
  }

  @Test
  void encodeMaskMatchesTheFile() throws IOException {
    byte[] bytes = MaskWriter.encodeMask(sampleMask(), LabelSet.CITYSCAPES.palette());
    assertArrayEquals(sampleMask().ids(), new LabelReader().read(bytes, "mem").ids());
  }

  @Test
  void overlayBlendsAllButBackground() throws IOException {
    byte[] rgb = new byte[2 * 1 * 3];
    java.util.Arrays.fill(rgb, (byte) 100);
    RgbImage photo = new RgbImage(2, 1, rgb);
    LabelMap mask = LabelMap.ofInts(2, 1, new int[] {0, 15});
    RgbImage blended = MaskWriter.overlay(photo, mask, LabelSet.PASCAL_VOC.palette(), 0.5);
    assertEquals(0x646464, blended.rgbAt(0, 0), "background left as it is");
    // (100 + 192) / 2 = 146, (100 + 128) / 2 = 114
    assertEquals(146 << 16 | 114 << 8 | 114, blended.rgbAt(1, 0));

    Path out = dir.resolve("overlay.png");
    MaskWriter.writeOverlay(out, photo, mask, LabelSet.PASCAL_VOC.palette());
    RgbImage read = new ImageReader().read(out);
    assertEquals(blended.rgbAt(1, 0), read.rgbAt(1, 0));
    assertNoTempFiles();
  }

  @Test
  void overlayOfEveryClassAndPhotoValueFollowsTheFormula() {
    // ids 0..255 (past the 21-colour palette: black) over random photo values, alpha 0.3
    int w = 256;
    int h = 40;
    byte[] rgb = new byte[w * h * 3];
    new java.util.Random(5).nextBytes(rgb);
    byte[] ids = new byte[w * h];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = (byte) (i % w);
    }
    int[] palette = LabelSet.PASCAL_VOC.palette();
    int[] colours = java.util.Arrays.copyOf(palette, 21);
    RgbImage out = MaskWriter.overlay(new RgbImage(w, h, rgb), new LabelMap(w, h, ids),
        colours, 0.3);
    for (int i = 0; i < ids.length; i++) {
      int id = ids[i] & 0xFF;
      int colour = id < 21 ? palette[id] : 0;
      for (int c = 0; c < 3; c++) {
        int p = rgb[3 * i + c] & 0xFF;
        int k = colour >> (16 - 8 * c) & 0xFF;
        int expected = id == 0 ? p : (int) Math.floor(0.7 * p + 0.3 * k + 0.5);
        assertEquals(expected, out.rgb()[3 * i + c] & 0xFF, "pixel " + i + " channel " + c);
      }
    }
  }

  @Test
  void overlaySizeMismatch() {
    RgbImage photo = new RgbImage(2, 2, new byte[12]);
    assertThrows(IllegalArgumentException.class,
        () -> MaskWriter.overlay(photo, sampleMask(), new int[] {0}, 0.5));
  }

  @Test
  void failedWriteLeavesTheOldFileAndNoTemp() throws IOException {
    Path out = dir.resolve("mask.png");
    Files.writeString(out, "old");
    LabelMap mask = sampleMask();
    assertThrows(IllegalArgumentException.class,
        () -> MaskWriter.writeMask(out, mask, new int[300]));
    assertEquals("old", Files.readString(out));
    Path missingDir = dir.resolve("no/such/dir/mask.png");
    assertThrows(IOException.class, () -> MaskWriter.writeMask(missingDir, mask, new int[] {0}));
    assertNoTempFiles();
  }

  private void assertNoTempFiles() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(0, files.filter(p -> p.getFileName().toString().endsWith(".tmp")).count());
    }
  }
}
