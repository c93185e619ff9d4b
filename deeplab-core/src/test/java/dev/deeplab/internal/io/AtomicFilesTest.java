package dev.deeplab.internal.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
  @TempDir Path dir;

  @Test
  void writesAndReplaces() throws IOException {
    Path target = dir.resolve("a.bin");
    AtomicFiles.write(target, new byte[] {1, 2, 3});
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(target));
    AtomicFiles.write(target, out -> out.write("hello".getBytes(StandardCharsets.UTF_8)));
    assertEquals("hello", Files.readString(target));
    assertEquals(List.of("a.bin"), names());
  }

  @Test
  void failureKeepsTheOldContentAndRemovesTheTempFile() throws IOException {
    Path target = dir.resolve("a.txt");
    Files.writeString(target, "old");
    IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(target, out -> {
      out.write("half of the new".getBytes(StandardCharsets.UTF_8));
      throw new IOException("disk full");
    }));
    assertEquals("disk full", e.getMessage());
    assertEquals("old", Files.readString(target));
    assertEquals(List.of("a.txt"), names());

    assertThrows(IllegalStateException.class, () -> AtomicFiles.write(dir.resolve("b.txt"), out -> {
      out.write(1);
      throw new IllegalStateException("bug");
    }));
    assertEquals(List.of("a.txt"), names());
  }

  @Test
  void unsyncedWritesAreAllOrNothingToo() throws IOException {
    Path target = dir.resolve("mask.png");
    AtomicFiles.writeUnsynced(target, out -> out.write(new byte[] {4, 5}));
    assertArrayEquals(new byte[] {4, 5}, Files.readAllBytes(target));
    IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeUnsynced(target,
        out -> {
          out.write(new byte[] {9, 9, 9});
          throw new IOException("encoder failed");
        }));
    assertEquals("encoder failed", e.getMessage());
    assertArrayEquals(new byte[] {4, 5}, Files.readAllBytes(target));
    assertEquals(List.of("mask.png"), names());
    assertThrows(IOException.class,
        () -> AtomicFiles.writeUnsynced(dir.resolve("x/y.png"), out -> out.write(1)));
  }

  @Test
  void missingDirectoryIsAnError() {
    assertThrows(IOException.class, () -> AtomicFiles.write(dir.resolve("x/y.bin"), new byte[1]));
  }

  private List<String> names() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }
}
