package dev.deeplab.internal.serving;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.export.ModelExporter;
import dev.deeplab.image.PngChunks;
import dev.deeplab.image.RgbImage;
import dev.deeplab.image.TestImages;
import dev.deeplab.infer.TestModels;
import dev.deeplab.internal.io.TfRecords;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ServingOptions;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeSet;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.exceptions.TFInvalidArgumentException;

/**
 * The serving contract of our SavedModels, called as TF Serving calls them (a signature by name,
 * every output fetched): {@code serving_default} segments a batch of encoded images of different
 * sizes and formats into palette PNGs that agree with {@code predict_images}; it refuses images
 * whose headers declare more pixels than the limit, or that are not images, before decoding
 * (InvalidArgument: HTTP 400 in TF Serving).
 */
class ServingContractTest {
  @TempDir
  static Path tmp;

  private static ServedModel model;

  @BeforeAll
  static void load() throws Exception {
    model = new ServedModel(TestModels.small());
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void signaturesAreLeanAndNamedForTfServing() {
    assertEquals(new TreeSet<>(List.of("serving_default", "predict_images",
        "predict_probabilities")), new TreeSet<>(model.signatures().keySet()));
    model.signatures().values().forEach(s ->
        assertEquals("tensorflow/serving/predict", s.getMethodName()));
    var byDefault = model.signatures().get("serving_default");
    assertEquals(List.of("image_bytes"), List.copyOf(byDefault.getInputsMap().keySet()));
    assertEquals(List.of("semantic_png_bytes"), List.copyOf(byDefault.getOutputsMap().keySet()));
    assertEquals(List.of("semantic"),
        List.copyOf(model.signatures().get("predict_images").getOutputsMap().keySet()));
    assertEquals(21, model.signatures().get("predict_probabilities").getOutputsOrThrow(
        "probabilities").getTensorShape().getDim(3).getSize(), "static class count");
  }

  @Test
  void encodedBatchOfSizesAndFormatsGivesPalettePngsEqualToPredictImages() throws Exception {
    BufferedImage photo = ImageIO.read(new ByteArrayInputStream(
        TestModels.resource("/dev/deeplab/photos/chelsea.png")));
    List<BufferedImage> images = List.of(
        photo,                                   // 451x300: larger than the 97 crop
        photo.getSubimage(120, 40, 61, 47),      // smaller, odd
        photo.getSubimage(0, 0, 97, 97),         // exactly the crop
        photo.getSubimage(200, 100, 150, 40));   // one side larger
    List<String> formats = List.of("png", "bmp", "gif", "png");
    List<byte[]> encoded = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      encoded.add(TestImages.encode(rgb(images.get(i)), formats.get(i)));
    }
    List<byte[]> pngs = model.pngs(encoded);
    assertEquals(images.size(), pngs.size());
    int[] voc = LabelSet.PASCAL_VOC.palette();
    for (int i = 0; i < images.size(); i++) {
      // The pixels TF decodes: exact for PNG and BMP; GIF reduces colours, read back alike.
      RgbImage pixels = RgbImage.of(ImageIO.read(new ByteArrayInputStream(encoded.get(i))));
      int[] want = model.ids(pixels.rgb(), pixels.width(), pixels.height());
      checkChunks(pngs.get(i));
      BufferedImage mask = ImageIO.read(new ByteArrayInputStream(pngs.get(i)));
      assertEquals(pixels.width(), mask.getWidth(), formats.get(i));
      assertEquals(pixels.height(), mask.getHeight(), formats.get(i));
      assertTrue(mask.getColorModel() instanceof IndexColorModel, "a palette PNG");
      IndexColorModel cm = (IndexColorModel) mask.getColorModel();
      for (int c = 0; c < 256; c++) {
        assertEquals(voc[c], cm.getRGB(c) & 0xFFFFFF, "colour " + c);
      }
      int[] got = mask.getRaster().getSamples(0, 0, mask.getWidth(), mask.getHeight(), 0,
          (int[]) null);
      assertArrayEquals(want, got, "class ids of image " + i + " (" + formats.get(i) + ")");
      System.out.printf("serving_default image %d: %s %dx%d, %d bytes of mask PNG, classes %s%n",
          i, formats.get(i), pixels.width(), pixels.height(), pngs.get(i).length,
          new TreeSet<>(java.util.Arrays.stream(got).boxed().toList()));
    }
  }

  @Test
  void hostileHeadersAreRefusedBeforeDecoding() throws Exception {
    byte[] good = TestImages.encode(TestImages.rgbGradient(30, 20), "png");
    Map<String, byte[]> hostile = Map.of(
        "PNG 20000x20000", pngHeader(20000, 20000),
        "GIF 32767x32767", gifHeader(32767, 32767),
        "BMP 100000x80000", bmpHeader(100000, -80000),
        "JPEG 65500x65500", jpegHeader(65500, 65500),
        "text", "no image here".getBytes(StandardCharsets.US_ASCII));
    for (Map.Entry<String, byte[]> e : hostile.entrySet()) {
      TFInvalidArgumentException refused = assertThrows(TFInvalidArgumentException.class,
          () -> model.pngs(List.of(good, e.getValue())), e.getKey());
      String m = refused.getMessage();
      assertTrue(m.contains("every image must be a JPEG, PNG, GIF or BMP of at most "
          + ServingOptions.DEFAULT_MAX_PIXELS + " pixels"), e.getKey() + ": " + m);
      assertTrue(m.contains("[20 30 1]"), "the good image's header is listed: " + m);
      System.out.println(e.getKey() + " refused: " + m.lines().findFirst().orElse(""));
    }
    assertEquals(1, model.pngs(List.of(good)).size(), "the good image alone works");
  }

  @Test
  void pixelLimitIsExactAndRecordedInTheModel(@TempDir Path dir) throws Exception {
    Path limited = ModelExporter.reexport(TestModels.small(), dir.resolve("limited"),
        OptionalLong.empty(), ServingOptions.defaults().withMaxPixels(2500));
    assertEquals(2500, SavedModels.readInfo(limited).serving().maxPixels());
    try (ServedModel m = new ServedModel(limited)) {
      assertEquals(1, m.pngs(List.of(TestImages.encode(TestImages.rgbGradient(50, 50), "png")))
          .size(), "50x50 = 2500 pixels is allowed");
      TFInvalidArgumentException e = assertThrows(TFInvalidArgumentException.class, () -> m.pngs(List.of(
          TestImages.encode(TestImages.rgbGradient(51, 50), "png"))));
      assertTrue(e.getMessage().contains("at most 2500 pixels"), e.getMessage());
      assertTrue(e.getMessage().contains("[50 51 1]"), e.getMessage());
    }
  }

  @Test
  void warmupFileHoldsOnePredictRequestPerSignature() throws Exception {
    byte[] file = Files.readAllBytes(TestModels.small().resolve(WarmupRequests.FILE));
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    List<String> signatures = new ArrayList<>();
    while (b.hasRemaining()) {
      byte[] length = new byte[8];
      b.get(length);
      assertEquals(TfRecords.maskedCrc(length, 0, length.length), b.getInt(), "length CRC");
      byte[] data = new byte[(int) ByteBuffer.wrap(length).order(ByteOrder.LITTLE_ENDIAN)
          .getLong()];
      b.get(data);
      assertEquals(TfRecords.maskedCrc(data, 0, data.length), b.getInt(), "data CRC");
      String text = new String(data, StandardCharsets.ISO_8859_1);
      for (String s : List.of("serving_default", "predict_images", "predict_probabilities")) {
        if (text.contains(s)) {
          signatures.add(s);
        }
      }
    }
    assertEquals(List.of("serving_default", "predict_images", "predict_probabilities"),
        signatures);
  }

  /** Every chunk's CRC-32 is right, and the chunks are IHDR, PLTE, IDAT..., IEND. */
  private static void checkChunks(byte[] png) {
    List<String> types = new ArrayList<>();
    for (PngChunks.Chunk c : PngChunks.read(png)) {
      if (types.isEmpty() || !types.get(types.size() - 1).equals(c.type())) {
        types.add(c.type());
      }
    }
    assertEquals(List.of("IHDR", "PLTE", "IDAT", "IEND"), types);
    assertEquals(3, png[25], "colour type: palette");
  }

  private static BufferedImage rgb(BufferedImage image) {
    BufferedImage out = new BufferedImage(image.getWidth(), image.getHeight(),
        BufferedImage.TYPE_INT_RGB);
    out.getGraphics().drawImage(image, 0, 0, null);
    return out;
  }

  /** A PNG whose IHDR declares {@code width x height} and whose data is a little zlib stream. */
  static byte[] pngHeader(int width, int height) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height)
        .put(new byte[] {8, 2, 0, 0, 0}).array());
    Deflater d = new Deflater();
    d.setInput(new byte[1 << 16]);
    d.finish();
    byte[] z = new byte[1 << 16];
    chunk(out, "IDAT", java.util.Arrays.copyOf(z, d.deflate(z)));
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data)
      throws IOException {
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    out.write(ByteBuffer.allocate(4).putInt(data.length).array());
    out.write(t);
    out.write(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }

  /** A GIF header with a {@code width x height} logical screen. */
  static byte[] gifHeader(int width, int height) {
    return ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN)
        .put("GIF89a".getBytes(StandardCharsets.US_ASCII)).putShort((short) width)
        .putShort((short) height).array();
  }

  /** A BMP header with a {@code width x height} DIB header (negative height: top-down). */
  static byte[] bmpHeader(int width, int height) {
    return ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN)
        .put("BM".getBytes(StandardCharsets.US_ASCII)).putInt(64).putInt(0).putInt(54)
        .putInt(40).putInt(width).putInt(height).putShort((short) 1).putShort((short) 24)
        .array();
  }

  /** A real small JPEG whose baseline frame header (SOF0) is patched to declare another size. */
  static byte[] jpegHeader(int width, int height) {
    byte[] jpeg = TestImages.encode(TestImages.rgbGradient(16, 16), "jpg");
    for (int i = 2; i + 8 < jpeg.length; i++) {
      if ((jpeg[i] & 0xFF) == 0xFF && (jpeg[i + 1] & 0xFF) == 0xC0) {
        ByteBuffer.wrap(jpeg, i + 5, 4).putShort((short) height).putShort((short) width);
        return jpeg;
      }
    }
    throw new IllegalStateException("no SOF0 marker in the test JPEG");
  }
}
