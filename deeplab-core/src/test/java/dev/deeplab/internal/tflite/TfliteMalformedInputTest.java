package dev.deeplab.internal.tflite;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Malformed input must raise {@link TfliteFormatException} with a one-line message, never an
 * unchecked exception: empty, short, foreign and random files, truncations, out-of-range offsets,
 * other graphs, and a bounded fuzz over bit flips and truncations of the real files.
 */
class TfliteMalformedInputTest {

  private static byte[] dm05;
  private static byte[] dm10;

  @BeforeAll
  static void load() throws Exception {
    dm05 = BundledDeepLabModel.MOBILENET_V2_DM05.readBytes();
    dm10 = BundledDeepLabModel.MOBILENET_V2_DM10.readBytes();
  }

  /**
   * Parses and imports {@code bytes}: returns null if that succeeds, the exception if it is a
   * well-formed {@link TfliteFormatException}, and fails the test on anything else.
   */
  private static TfliteFormatException attempt(byte[] bytes, String what) {
    try {
      TfliteDeepLabImporter.importBytes(bytes);
      return null;
    } catch (TfliteFormatException e) {
      String m = e.getMessage();
      assertNotNull(m, what);
      assertFalse(m.isBlank(), what);
      assertFalse(m.contains("\n") || m.contains("\r"), what + ": multi-line message " + m);
      assertNull(e.getCause(), what + ": an unchecked exception was caught and wrapped: " + m);
      return e;
    } catch (Throwable t) {
      fail(what + ": " + t, t);
      return null;
    }
  }

  private static String failure(byte[] bytes, String what) {
    TfliteFormatException e = attempt(bytes, what);
    assertNotNull(e, what + " was accepted");
    return e.getMessage();
  }

  @Test
  void emptyFile() {
    assertEquals("not a TFLite file: the file is empty (0 bytes)", failure(new byte[0], "empty"));
  }

  @Test
  void tooShortFiles() {
    for (int n = 1; n < 8; n++) {
      assertTrue(failure(Arrays.copyOf(dm05, n), n + " bytes").contains("too short"));
    }
  }

  @Test
  void wrongIdentifier() {
    byte[] b = dm05.clone();
    System.arraycopy(new byte[] {'P', 'K', 3, 4}, 0, b, 4, 4);
    assertEquals(
        "not a TFLite file: file identifier is 'PK\\x03\\x04', expected 'TFL3'",
        failure(b, "zip magic"));
    String text = failure("just some text, not a model".getBytes(StandardCharsets.UTF_8), "text");
    assertTrue(text.startsWith("not a TFLite file"), text);
  }

  @Test
  void randomBytes() {
    Random r = new Random(42);
    for (int size : new int[] {8, 12, 64, 1000, 100_000}) {
      for (boolean withId : new boolean[] {false, true}) {
        byte[] b = new byte[size];
        r.nextBytes(b);
        if (withId) {
          System.arraycopy("TFL3".getBytes(StandardCharsets.US_ASCII), 0, b, 4, 4);
        }
        failure(b, "random " + size + (withId ? " with TFL3" : ""));
      }
    }
  }

  @Test
  void truncatedFiles() {
    for (byte[] file : new byte[][] {dm05, dm10}) {
      for (int cut : new int[] {8, 16, 100, 1000, file.length / 2}) {
        String m = failure(Arrays.copyOf(file, cut), "cut at " + cut);
        assertTrue(m.startsWith("truncated or corrupt TFLite file"), m);
      }
    }
  }

  @Test
  void bufferLengthOutOfRange() throws Exception {
    TfliteModel m = TfliteModel.parse(dm05);
    TfliteBuffer largest =
        m.buffers().stream().max((a, b) -> Integer.compare(a.length(), b.length())).orElseThrow();
    byte[] b = dm05.clone();
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(largest.offset() - 4, 0x7FFF_FFF0);
    String msg = failure(b, "huge buffer length");
    assertTrue(msg.contains("buffer " + largest.index()) && msg.contains("outside"), msg);
  }

  @Test
  void enormousAndNegativeShapesAreRejected() throws Exception {
    TfliteTensor weights = TfliteModel.parse(dm05).mainSubGraph().tensors().stream()
        .filter(t -> t.name().endsWith("weights_quant/FakeQuantWithMinMaxVars")
            && t.shape().length == 4).findFirst().orElseThrow();
    // the tensor's shape vector: its length, then the dimensions (little-endian int32)
    ByteBuffer want = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putInt(4);
    for (int d : weights.shape()) {
      want.putInt(d);
    }
    int at = indexOf(dm05, want.array());
    assertTrue(at > 0, "shape vector of " + weights + " not found");
    for (int[] dims : new int[][] {{weights.shape()[0], 65535, 65535, 65535},
        {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE},
        {weights.shape()[0], -1, weights.shape()[2], weights.shape()[3]}}) {
      byte[] b = dm05.clone();
      ByteBuffer patch = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < 4; i++) {
        patch.putInt(at + 4 + 4 * i, dims[i]);
      }
      String msg = failure(b, "shape " + Arrays.toString(dims));
      System.out.println(Arrays.toString(dims) + ": " + msg);
      assertTrue(msg.contains(Arrays.toString(dims).replace(" ", ""))
          || msg.contains("negative dimension -1"), msg);
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void anotherGraphIsRejected() {
    String msg = failure(TfliteModelTest.TinyModel.build(), "tiny model");
    assertTrue(msg.startsWith("not the DeepLabv3 MobileNetV2 TFLite graph: "), msg);
  }

  @Test
  void renamedLayerIsRejected() {
    byte[] b = replaceAll(dm05, "aspp0/", "aspp7/");
    String msg = failure(b, "aspp0 renamed");
    assertEquals("not the DeepLabv3 MobileNetV2 TFLite graph: no conv layer 'aspp0'", msg);
  }

  /** Each flip either still imports or raises a one-line TfliteFormatException. */
  @Test
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  void fuzzBitFlips() throws Exception {
    int rejected = fuzzFlips(dm05, 600, 100, 7) + fuzzFlips(dm10, 100, 20, 8);
    assertTrue(rejected > 300, "too few flips detected: " + rejected);
  }

  @Test
  @Timeout(value = 240, unit = TimeUnit.SECONDS)
  void fuzzTruncations() {
    Random r = new Random(9);
    for (byte[] file : new byte[][] {dm05, dm10}) {
      for (int i = 0; i < (file == dm05 ? 100 : 30); i++) {
        int cut = r.nextInt(file.length);
        attempt(Arrays.copyOf(file, cut), "truncated to " + cut);
      }
      for (int cut = file.length - 16; cut < file.length; cut++) {
        attempt(Arrays.copyOf(file, cut), "truncated to " + cut);
      }
    }
  }

  /**
   * Flips 1–3 random bits per case, {@code structural} times in bytes outside the constant buffers
   * (tables, vtables, offsets, names, shapes, quantisation) and {@code anywhere} times anywhere.
   * Returns how many cases were rejected.
   */
  private static int fuzzFlips(byte[] file, int structural, int anywhere, long seed)
      throws Exception {
    TfliteModel m = TfliteModel.parse(file);
    boolean[] isData = new boolean[file.length];
    for (TfliteBuffer b : m.buffers()) {
      Arrays.fill(isData, b.offset(), b.offset() + b.length(), true);
    }
    Random r = new Random(seed);
    int rejected = 0;
    for (int i = 0; i < structural + anywhere; i++) {
      byte[] b = file.clone();
      StringBuilder what = new StringBuilder("flipped");
      int flips = 1 + r.nextInt(3);
      for (int f = 0; f < flips; f++) {
        int pos;
        do {
          pos = r.nextInt(file.length);
        } while (i < structural && isData[pos]);
        int bit = r.nextInt(8);
        b[pos] ^= (byte) (1 << bit);
        what.append(" byte ").append(pos).append(" bit ").append(bit);
      }
      if (attempt(b, what.toString()) != null) {
        rejected++;
      }
    }
    return rejected;
  }

  private static byte[] replaceAll(byte[] file, String from, String to) {
    byte[] f = from.getBytes(StandardCharsets.US_ASCII);
    byte[] t = to.getBytes(StandardCharsets.US_ASCII);
    byte[] b = file.clone();
    int count = 0;
    outer:
    for (int i = 0; i + f.length <= b.length; i++) {
      for (int j = 0; j < f.length; j++) {
        if (b[i + j] != f[j]) {
          continue outer;
        }
      }
      System.arraycopy(t, 0, b, i, t.length);
      count++;
    }
    assertTrue(count > 0, "no occurrence of " + from);
    return b;
  }
}
