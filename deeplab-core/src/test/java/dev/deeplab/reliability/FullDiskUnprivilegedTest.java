package dev.deeplab.reliability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.image.LabelMap;
import dev.deeplab.image.MaskWriter;
import dev.deeplab.internal.io.AtomicFiles;
import dev.deeplab.internal.serving.SavedModels;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.testing.FullDiskFileSystem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The full-disk behaviour of {@link FullDiskTest} without root: the same writers on a {@link
 * FullDiskFileSystem}, which fails with ENOSPC after a given number of bytes, so every run checks
 * that a full disk gives a one-line error and leaves no half-written output (masks, atomic
 * files, SavedModel versions). {@link FullDiskTest} covers TensorFlow's own (native) writers on a
 * real tmpfs where it may mount one.
 */
class FullDiskUnprivilegedTest {
  @TempDir Path tmp;

  private static List<String> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static void assertEnospc(IOException e, String prefix) {
    String m = e.getMessage();
    assertTrue(m != null && !m.contains("\n"), "not a one-line message: " + m);
    assertTrue(m.startsWith(prefix), m);
    assertTrue(m.endsWith(FullDiskFileSystem.ENOSPC), m);
  }

  private static byte[] noise(int n) {
    byte[] b = new byte[n];
    new Random(15).nextBytes(b);
    return b;
  }

  @Test
  void atomicWriteOnAFullDiskKeepsTheOldFile() throws IOException {
    Path real = tmp.resolve("weights.bin");
    Files.write(real, new byte[] {1, 2, 3});
    FullDiskFileSystem disk = new FullDiskFileSystem(100_000);
    Path target = disk.path(real);

    IOException e = assertThrows(IOException.class,
        () -> AtomicFiles.write(target, noise(1 << 20)));
    assertEnospc(e, FullDiskFileSystem.ENOSPC);
    assertEquals(100_000, disk.written(), "the disk filled up");
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(real));
    assertEquals(List.of("weights.bin"), list(tmp), "no temporary file left");

    // the same write with room succeeds through the same file system
    byte[] content = noise(50_000);
    AtomicFiles.write(new FullDiskFileSystem(60_000).path(real), content);
    assertArrayEquals(content, Files.readAllBytes(real));
    assertEquals(List.of("weights.bin"), list(tmp));
  }

  @Test
  void maskOnAFullDiskLeavesNoPng() throws IOException {
    byte[] ids = new byte[256 * 256];
    Random r = new Random(3);
    for (int i = 0; i < ids.length; i++) {
      ids[i] = (byte) r.nextInt(21);
    }
    LabelMap mask = new LabelMap(256, 256, ids);
    int[] palette = LabelSet.PASCAL_VOC.palette();
    for (long room : new long[] {0, 1, 1000, 20_000}) {
      FullDiskFileSystem disk = new FullDiskFileSystem(room);
      IOException e = assertThrows(IOException.class,
          () -> MaskWriter.writeMask(disk.path(tmp.resolve("pets_mask.png")), mask, palette));
      assertEnospc(e, FullDiskFileSystem.ENOSPC);
      assertEquals(room, disk.written());
      assertEquals(List.of(), list(tmp), "left behind with " + room + " bytes free");
    }
    FullDiskFileSystem roomy = new FullDiskFileSystem(1 << 20);
    MaskWriter.writeMask(roomy.path(tmp.resolve("pets_mask.png")), mask, palette);
    assertEquals(List.of("pets_mask.png"), list(tmp));
    assertEquals(roomy.written(), Files.size(tmp.resolve("pets_mask.png")));
  }

  @Test
  void savedModelVersionOnAFullDiskLeavesNoVersion() throws IOException {
    ModelInfo info = new ModelInfo(TrainingChild.tinyModel(),
        LabelSet.unnamed(TrainingChild.tinyModel().numClasses()), "full-disk test");
    Path realBase = tmp.resolve("model");
    byte[] graph = noise(100_000);
    // out of room in the graph, then in the assets written after it
    for (long room : new long[] {10_000, graph.length + 10}) {
      FullDiskFileSystem disk = new FullDiskFileSystem(room);
      Path base = disk.path(realBase);
      IOException e = assertThrows(IOException.class, () -> SavedModels.writeVersion(base,
          OptionalLong.of(7), info, dir -> Files.write(dir.resolve("saved_model.pb"), graph)));
      assertEnospc(e, "cannot write " + realBase.resolve("7") + ": ");
      assertEquals(room, disk.written());
      assertEquals(List.of(), list(realBase), "left behind with " + room + " bytes free");
      assertEquals(OptionalLong.empty(), SavedModels.latestVersion(realBase));
    }
    Path v = SavedModels.writeVersion(new FullDiskFileSystem(1 << 20).path(realBase),
        OptionalLong.empty(), info, dir -> Files.write(dir.resolve("saved_model.pb"), graph));
    assertEquals(realBase.resolve("1").toString(), v.toString());
    assertEquals(List.of("1"), list(realBase));
    assertArrayEquals(graph, Files.readAllBytes(realBase.resolve("1/saved_model.pb")));
  }
}
