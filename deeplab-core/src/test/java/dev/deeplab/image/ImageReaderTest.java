package dev.deeplab.image;

import static dev.deeplab.image.TestImages.encode;
import static dev.deeplab.image.TestImages.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.image.ImageFormat;
import dev.deeplab.internal.image.ImageHeader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

public class ImageReaderTest {
  @TempDir Path dir;

  private final ImageReader reader = new ImageReader();

  @Test
  void rgbPngExact() throws IOException {
    RgbImage img = reader.read(write(dir, "rgb.png", encode(TestImages.rgbGradient(20, 10), "png")));
    assertEquals(20, img.width());
    assertEquals(10, img.height());
    assertEquals(20 * 10 * 3, img.rgb().length);
    assertEquals(0x000000C8, img.rgbAt(0, 0));
    assertEquals((190 << 16) | (90 << 8) | 200, img.rgbAt(19, 9));
  }

  @Test
  void greyscalePngIsReplicatedWithoutGammaChange() throws IOException {
    RgbImage img = reader.read(write(dir, "grey.png", encode(TestImages.grey(8, 5), "png")));
    for (int y = 0; y < 5; y++) {
      for (int x = 0; x < 8; x++) {
        int v = 17 * x + y;
        assertEquals(v << 16 | v << 8 | v, img.rgbAt(x, y), "at " + x + "," + y);
      }
    }
  }

  @Test
  void rgbaPngDropsAlpha() throws IOException {
    RgbImage img = reader.read(write(dir, "rgba.png", encode(TestImages.rgba(6, 2), "png")));
    assertEquals(0xFF0000, img.rgbAt(0, 0));
    assertEquals(0x0A141E, img.rgbAt(5, 1), "a transparent pixel keeps its stored colour");
  }

  @Test
  void sixteenBitGreyPngKeepsHighByte() throws IOException {
    RgbImage img = reader.read(write(dir, "grey16.png", encode(TestImages.grey16(8, 8), "png")));
    for (int y = 0; y < 8; y++) {
      for (int x = 0; x < 8; x++) {
        int v = x * 16 + y;
        assertEquals(v << 16 | v << 8 | v, img.rgbAt(x, y), "at " + x + "," + y);
      }
    }
  }

  @Test
  void sixteenBitRgbPngKeepsHighByte() throws IOException {
    RgbImage img = reader.read(write(dir, "rgb16.png", encode(TestImages.rgb16(5, 4), "png")));
    for (int y = 0; y < 4; y++) {
      for (int x = 0; x < 5; x++) {
        int s = x + y;
        assertEquals(s << 16 | (60 + s) << 8 | (120 + s), img.rgbAt(x, y), "at " + x + "," + y);
      }
    }
  }

  @Test
  void palettePngIsExpanded() throws IOException {
    RgbImage img = reader.read(write(dir, "pal.png", encode(TestImages.palette(7, 3), "png")));
    for (int y = 0; y < 3; y++) {
      for (int x = 0; x < 7; x++) {
        assertEquals(TestImages.PALETTE4[(x + y) % 4], img.rgbAt(x, y));
      }
    }
  }

  @Test
  void bmpAndGif() throws IOException {
    RgbImage bmp = reader.read(write(dir, "a.bmp", encode(TestImages.rgbGradient(9, 7), "bmp")));
    assertEquals((80 << 16) | (60 << 8) | 200, bmp.rgbAt(8, 6));
    // height 8: ImageIO's GIF writer interlaces, and garbles images under 4 rows
    RgbImage gif = reader.read(write(dir, "a.gif", encode(TestImages.palette(7, 8), "gif")));
    for (int y = 0; y < 8; y++) {
      for (int x = 0; x < 7; x++) {
        assertEquals(TestImages.PALETTE4[(x + y) % 4], gif.rgbAt(x, y), "at " + x + "," + y);
      }
    }
  }

  @Test
  void jpegApproximatelyRight() throws IOException {
    RgbImage img = reader.read(write(dir, "a.jpg", encode(TestImages.solid(32, 24, 0x3C78B4), "jpeg")));
    assertEquals(32, img.width());
    assertEquals(24, img.height());
    int p = img.rgbAt(16, 12);
    assertTrue(Math.abs((p >> 16) - 0x3C) <= 3 && Math.abs((p >> 8 & 0xFF) - 0x78) <= 3
        && Math.abs((p & 0xFF) - 0xB4) <= 3, Integer.toHexString(p));
  }

  @Test
  void jpegIccProfileIsIgnoredLikeTensorFlowsDecodeJpeg() throws IOException {
    byte[] plain = encode(TestImages.rgbGradient(40, 30), "jpeg");
    // the linear-RGB profile after SOI and the JFIF APP0 (2 + 2 + 16 bytes), in two segments
    byte[] profile = java.awt.color.ICC_Profile.getInstance(
        java.awt.color.ColorSpace.CS_LINEAR_RGB).getData();
    int half = profile.length / 2;
    java.io.ByteArrayOutputStream tagged = new java.io.ByteArrayOutputStream();
    tagged.write(plain, 0, 20);
    tagged.write(iccSegment(profile, 0, half, 1, 2));
    tagged.write(iccSegment(profile, half, profile.length, 2, 2));
    tagged.write(plain, 20, plain.length - 20);
    byte[] withProfile = tagged.toByteArray();
    // ImageIO alone converts through the profile (linear to sRGB brightens the mid-tones) ...
    java.awt.image.BufferedImage converted =
        javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(withProfile));
    assertFalse(Arrays.equals(RgbImage.of(converted).rgb(), reader.read(plain, "plain").rgb()));
    // ... ours reads the samples as stored, from memory and from a file
    byte[] expected = reader.read(plain, "plain").rgb();
    assertTrue(Arrays.equals(expected, reader.read(withProfile, "tagged").rgb()));
    assertTrue(Arrays.equals(expected, reader.read(write(dir, "tagged.jpg", withProfile)).rgb()));
  }

  /** An APP2 segment with part {@code seq} of {@code count} of an ICC profile (ICC.1, B.4). */
  private static byte[] iccSegment(byte[] profile, int from, int to, int seq, int count) {
    byte[] id = "ICC_PROFILE\0".getBytes(StandardCharsets.US_ASCII);
    int length = 2 + id.length + 2 + (to - from);
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(2 + length);
    b.put((byte) 0xFF).put((byte) 0xE2).putShort((short) length).put(id)
        .put((byte) seq).put((byte) count).put(profile, from, to - from);
    return b.array();
  }

  @Test
  void cmykJpegIsConvertedByImageIo() throws IOException {
    RgbImage img = reader.read(write(dir, "cmyk.jpg", TestImages.cmykJpeg(16, 8, 0)));
    assertEquals(16, img.width());
    assertEquals(8, img.height());
  }

  @Test
  void realPhotos() throws IOException {
    RgbImage owl = reader.read(TestImages.resource("/dev/deeplab/photos/owl.jpg"), "owl.jpg");
    assertEquals(512, owl.width());
    assertEquals(384, owl.height());
    RgbImage chelsea = reader.read(TestImages.resource("/dev/deeplab/photos/chelsea.png"), "chelsea.png");
    assertEquals(451, chelsea.width());
    assertEquals(300, chelsea.height());
  }

  @Test
  void contentDecidesNotTheExtension() throws IOException {
    RgbImage img = reader.read(write(dir, "really-a-png.jpg", encode(TestImages.rgbGradient(4, 3), "png")));
    assertEquals(4, img.width());
    ImageHeader header = ImageHeader.read(dir.resolve("really-a-png.jpg"), reader.maxPixels());
    assertEquals(new ImageHeader(ImageFormat.PNG, 4, 3), header);
  }

  @Test
  void zeroBytes() throws IOException {
    assertProblem(write(dir, "empty.jpg", new byte[0]), "empty file");
  }

  @Test
  void missingFileAndDirectory() {
    assertProblem(dir.resolve("nope.png"), "not found");
    assertProblem(dir, "directory");
  }

  @Test
  void randomBytesNamedJpg() throws IOException {
    byte[] junk = new byte[4096];
    new Random(7).nextBytes(junk);
    junk[0] = 0x12;
    assertProblem(write(dir, "photo.jpg", junk), "not an image");
    assertProblem(write(dir, "page.jpg", "<!DOCTYPE html><html>".getBytes(StandardCharsets.US_ASCII)),
        "not an image");
  }

  @Test
  void unsupportedFormatsAreNamed() throws IOException {
    byte[] webp = "RIFF\0\0\0\0WEBPVP8 ".getBytes(StandardCharsets.US_ASCII);
    assertProblem(write(dir, "x.jpg", webp), "unsupported image format WebP");
    byte[] tiff = {'I', 'I', 42, 0, 8, 0, 0, 0};
    assertProblem(write(dir, "y.png", tiff), "unsupported image format TIFF");
  }

  @Test
  void truncatedJpegIsAnErrorNotAGreyImage() throws IOException {
    byte[] jpeg = TestImages.resource("/dev/deeplab/photos/owl.jpg");
    for (double fraction : new double[] {0.05, 0.3, 0.6, 0.95}) {
      byte[] cut = Arrays.copyOf(jpeg, (int) (jpeg.length * fraction));
      assertProblem(write(dir, "cut.jpg", cut), "JPEG");
    }
  }

  @Test
  void jpegMissingOnlyItsEndMarkerIsComplete() throws IOException {
    byte[] jpeg = TestImages.resource("/dev/deeplab/photos/owl.jpg");
    RgbImage img = reader.read(Arrays.copyOf(jpeg, jpeg.length - 2), "no-eoi.jpg");
    assertEquals(512, img.width());
  }

  @Test
  void truncatedPng() throws IOException {
    byte[] png = TestImages.resource("/dev/deeplab/photos/chelsea.png");
    // (a file missing only its IEND chunk and checksums still holds every pixel, and reads)
    for (int length : new int[] {8, 30, png.length / 2, png.length - 40}) {
      assertProblem(write(dir, "cut.png", Arrays.copyOf(png, length)), "PNG");
    }
  }

  @Test
  void pixelLimitIsCheckedFromTheHeader() throws IOException {
    Path file = write(dir, "big.png", encode(TestImages.rgbGradient(25, 20), "png"));
    ImageFormatException e =
        assertThrows(ImageFormatException.class, () -> new ImageReader(499).read(file));
    assertOneLine(e, file);
    assertTrue(e.getMessage().contains("25x20 = 500 pixels"), e.getMessage());
    assertTrue(e.getMessage().contains("limit of 499"), e.getMessage());
    assertEquals(25, new ImageReader(500).read(file).width());
    assertThrows(ImageFormatException.class, () -> ImageHeader.read(file, 499));
  }

  @Test
  void defaultLimitIsOneHundredMegapixels() {
    assertEquals(100_000_000L, reader.maxPixels());
  }

  private void assertProblem(Path file, String expected) {
    ImageFormatException e = assertThrows(ImageFormatException.class, () -> reader.read(file));
    assertOneLine(e, file);
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  public static void assertOneLine(ImageFormatException e, Path file) {
    String m = e.getMessage();
    assertFalse(m.contains("\n") || m.contains("\r"), "multi-line message: " + m);
    assertTrue(m.startsWith(file.toString() + ": "), m);
    assertTrue(Files.exists(file) || m.contains("not found"), m);
  }
}
