package dev.deeplab.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.data.DatasetException;
import dev.deeplab.data.VocDataset;
import dev.deeplab.model.LabelSet;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Declared-size bombs ({@link ImageBombs}) are refused from their headers with a one-line error,
 * before any pixel buffer exists: checked in a JVM whose whole heap (64 MB) is smaller than any
 * of their pixel buffers or inflated chunks, and through the dataset reader.
 */
class ImageBombTest {
  private static final long HEAP = 64L << 20;

  @TempDir Path dir;

  /** The reason each bomb is refused (a fragment of the message), or READ for a harmless one. */
  private static Map<String, String> expected() {
    Map<String, String> m = new LinkedHashMap<>();
    String limit = "over the pixel limit of 100000000";
    String bomb = "a declared-size bomb or a truncated file, not decoded";
    m.put("png_60000x60000.png", limit);
    m.put("png_deflate_60000x60000.png", limit);
    m.put("png_10000x10000_at_the_limit.png",
        "PNG header declares 10000x10000 pixels, which need at least 290707 bytes");
    // ancillary chunks are never inflated: the 16x16 image decodes
    m.put("png_ztxt_256m.png", "READ");
    m.put("png_iccp_256m.png", "READ");
    m.put("gif_32767x32767.gif", "image is 32767x32767 = 1073676289 pixels, " + limit);
    m.put("gif_10000x10000_at_the_limit.gif", bomb);
    // ImageIO's BMP reader checks the declared rows against the stream itself
    m.put("bmp_60000x60000.bmp", "Invalid width/height for BI_RGB image data");
    m.put("bmp_top_down_60000x60000.bmp", "Invalid width/height for BI_RGB image data");
    m.put("bmp_10000x10000_at_the_limit.bmp", "Invalid width/height for BI_RGB image data");
    m.put("bmp_palette_offset_2g.bmp", "corrupt or truncated BMP header");
    m.put("jpeg_65500x65500.jpg", "image is 65500x65500 = 4290250000 pixels, " + limit);
    m.put("jpeg_10000x10000_at_the_limit.jpg",
        "JPEG header declares 10000x10000 pixels, which need at least 48828 bytes");
    m.put("label_60000x60000.png", limit);
    m.put("label_10000x10000_at_the_limit.png", bomb);
    m.put("label_ztxt_256m.png", "READ");
    return m;
  }

  @Test
  void everyBombIsRefusedInA64MegabyteHeap() throws Exception {
    Process p = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx" + (HEAP >> 20) + "m", "-XX:+ExitOnOutOfMemoryError",
        "-cp", System.getProperty("java.class.path"), BombChild.class.getName())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child still running");
    System.out.print(out);
    assertEquals(0, p.exitValue(), "the child died (out of memory?):\n" + out);
    List<String> lines = List.of(out.split("\\R"));
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, String> e : expected().entrySet()) {
      List<String> about = lines.stream().filter(l -> l.startsWith(e.getKey() + ":")
          || l.startsWith(e.getKey() + " (bytes):")).toList();
      if (about.isEmpty()) {
        problems.add(e.getKey() + ": not reported");
      }
      for (String l : about) {
        boolean ok = e.getValue().equals("READ") ? l.contains(": READ ")
            : l.contains(": refused: ") && l.contains(e.getValue());
        if (!ok) {
          problems.add(l + "  (expected " + e.getValue() + ")");
        }
      }
    }
    assertEquals(List.of(), problems);
    long peak = Long.parseLong(lines.stream().filter(l -> l.startsWith("peak heap: "))
        .findFirst().orElseThrow().substring("peak heap: ".length()));
    System.out.printf("peak heap while refusing %d bombs: %.1f MB%n", expected().size(),
        peak / 1e6);
    assertTrue(peak < HEAP, "peak " + peak);
  }

  @Test
  void datasetReadersRefuseBombPhotosAndLabels() throws Exception {
    Path root = dir.resolve("voc");
    Files.createDirectories(root.resolve("JPEGImages"));
    Files.createDirectories(root.resolve("SegmentationClass"));
    Files.createDirectories(root.resolve("ImageSets/Segmentation"));
    Files.write(root.resolve("JPEGImages/photo_bomb.jpg"), ImageBombs.jpeg(65500, 65500));
    Files.write(root.resolve("SegmentationClass/photo_bomb.png"), ImageBombs.small("png", true));
    Files.write(root.resolve("JPEGImages/label_bomb.jpg"), ImageBombs.small("jpg", false));
    Files.write(root.resolve("SegmentationClass/label_bomb.png"),
        ImageBombs.png(10000, 10000, true));
    Files.writeString(root.resolve("ImageSets/Segmentation/val.txt"), "photo_bomb\nlabel_bomb\n");
    VocDataset voc = new VocDataset(root, "val");
    List<VocDataset.Sample> samples = voc.samples();

    DatasetException photo = assertThrows(DatasetException.class,
        () -> voc.load(samples.get(0), LabelSet.PASCAL_VOC));
    System.out.println(photo.getMessage());
    assertOneLine(photo.getMessage(), "photo_bomb.jpg", "over the pixel limit");
    DatasetException label = assertThrows(DatasetException.class,
        () -> voc.load(samples.get(1), LabelSet.PASCAL_VOC));
    System.out.println(label.getMessage());
    assertOneLine(label.getMessage(), "label_bomb.png", "declared-size bomb");
    List<String> problems = voc.validate(LabelSet.PASCAL_VOC);
    System.out.println(problems);
    assertEquals(2, problems.size(), problems.toString());
    assertOneLine(problems.get(0), "photo_bomb.jpg", "over the pixel limit");
    assertOneLine(problems.get(1), "label_bomb.png", "declared-size bomb");
  }

  private static void assertOneLine(String message, String file, String reason) {
    assertTrue(!message.contains("\n") && message.contains(file) && message.contains(reason),
        message);
  }
}
