package dev.deeplab.reliability;

import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.internal.image.LabelReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Run in a JVM with a small heap by {@link ImageBombTest}: reads every {@link ImageBombs} file
 * from disk and from memory with the default readers, prints one line {@code name: result} each,
 * then {@code peak heap: N} (the sum of the heap pools' peak usage).
 */
public final class BombChild {
  private BombChild() {}

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("deeplab-bombs");
    ImageReader photos = new ImageReader();
    LabelReader labels = new LabelReader();
    try {
      for (Map.Entry<String, byte[]> e : ImageBombs.photos().entrySet()) {
        Path f = Files.write(dir.resolve(e.getKey()), e.getValue());
        report(e.getKey(), () -> photos.read(f));
        report(e.getKey() + " (bytes)", () -> photos.read(e.getValue(), e.getKey()));
      }
      for (Map.Entry<String, byte[]> e : ImageBombs.labels().entrySet()) {
        Path f = Files.write(dir.resolve(e.getKey()), e.getValue());
        report(e.getKey(), () -> labels.read(f));
      }
    } finally {
      dev.deeplab.internal.io.AtomicFiles.deleteTreeQuietly(dir);
    }
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    System.out.println("peak heap: " + peak);
  }

  private interface Read {
    Object read() throws ImageFormatException;
  }

  private static void report(String name, Read read) {
    long t0 = System.nanoTime();
    String result;
    try {
      Object o = read.read();
      result = "READ " + o;
    } catch (ImageFormatException e) {
      result = "refused: " + e.getMessage();
    }
    System.out.printf("%s: %s [%d ms]%n", name, result, (System.nanoTime() - t0) / 1_000_000);
  }
}
