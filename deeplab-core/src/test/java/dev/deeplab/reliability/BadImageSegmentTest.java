package dev.deeplab.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.infer.TestModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real bad and unusual image files through the library's segment path ({@link ImageReader} then
 * {@link Segmenter#segment}): every pixel layout and degenerate size gives a segmentation of the
 * image's own size; every unreadable file gives one {@link ImageFormatException} with a one-line
 * message naming the file, never another exception.
 */
class BadImageSegmentTest {
  private static Segmenter segmenter;
  private static RgbImage crop;

  @TempDir
  Path dir;

  @BeforeAll
  static void load() throws Exception {
    segmenter = Segmenter.load(TestModels.small());
    crop = BadImages.photoCrop("pets.jpg", 120, 90);
  }

  @AfterAll
  static void close() {
    segmenter.close();
  }

  @Test
  void everyReadableLayoutAndSizeIsSegmented() throws Exception {
    ImageReader reader = new ImageReader();
    int[] reference = null;
    for (Map.Entry<String, byte[]> f : BadImages.readable(crop).entrySet()) {
      Path file = Files.write(dir.resolve(f.getKey()), f.getValue());
      RgbImage image = reader.read(file);
      Segmentation s = segmenter.segment(image.rgb(), image.width(), image.height());
      assertEquals((long) image.width() * image.height(), s.classIds().length, f.getKey());
      assertTrue(Arrays.stream(s.classIds()).allMatch(c -> c >= 0 && c < 21), f.getKey());
      System.out.printf("%-16s %4dx%-4d classes %s%n", f.getKey(), image.width(), image.height(),
          Arrays.toString(Arrays.stream(s.classIds()).distinct().sorted().toArray()));
      if (f.getKey().equals("rgb.png")) {
        reference = s.classIds();
      }
      if (f.getKey().equals("png-named.jpg") || f.getKey().equals("rgb16.png")) {
        // The same pixels as rgb.png (16-bit keeps the high byte): the same classes.
        assertTrue(Arrays.equals(reference, s.classIds()), f.getKey());
      }
    }
  }

  @Test
  void everyUnreadableFileIsOneLineNamingIt() throws Exception {
    ImageReader reader = new ImageReader();
    Map<String, byte[]> bad = BadImages.unreadable(crop);
    for (Map.Entry<String, byte[]> f : bad.entrySet()) {
      Path file = Files.write(dir.resolve(f.getKey()), f.getValue());
      ImageFormatException e = assertThrows(ImageFormatException.class, () -> reader.read(file),
          f.getKey());
      assertOneLineAbout(file, e);
      System.out.println(e.getMessage());
    }
    Path missing = dir.resolve("missing.jpg");
    assertOneLineAbout(missing,
        assertThrows(ImageFormatException.class, () -> reader.read(missing)));
    Path directory = Files.createDirectory(dir.resolve("folder.jpg"));
    assertOneLineAbout(directory,
        assertThrows(ImageFormatException.class, () -> reader.read(directory)));
  }

  @Test
  void aLargeFileTakesTheLargeImagePath() throws Exception {
    // 4000 x 3360 (13 MP, a phone photo): read, then resized in Java before TensorFlow; the
    // class ids equal those of the direct path (TensorFlow resizing the whole image) up to
    // near-ties flipped by rounding the resized pixels to 8 bits.
    RgbImage big = TestModels.upscale(TestModels.photo("pets.jpg"), 4000, 3360);
    Path file = Files.write(dir.resolve("phone.bmp"),
        BadImages.encode(BadImages.rgb(big), "bmp"));
    RgbImage image = new ImageReader().read(file);
    int[] large = segmenter.segment(image.rgb(), image.width(), image.height()).classIds();
    int[] direct;
    try (Segmenter whole = Segmenter.builder().model(TestModels.small()).threads(0).maxSide(4000).build()) {
      direct = whole.segment(image.rgb(), image.width(), image.height()).classIds();
    }
    assertEquals(4000 * 3360, large.length);
    long same = 0;
    for (int i = 0; i < large.length; i++) {
      same += large[i] == direct[i] ? 1 : 0;
    }
    double agreement = same / (double) large.length;
    System.out.printf("4000x3360 file: large path vs direct path agree on %.5f of pixels%n",
        agreement);
    assertTrue(agreement >= 0.99, "agreement " + agreement);
  }

  static void assertOneLineAbout(Path file, ImageFormatException e) {
    String m = e.getMessage();
    assertFalse(m.contains("\n") || m.contains("\r"), m);
    assertTrue(m.startsWith(file + ": ") && m.length() > file.toString().length() + 3, m);
  }
}
