package dev.deeplab.internal.io;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * All-or-nothing file writes: the content goes to a temporary file in the target's directory
 * ({@code .<name>.<random>.tmp}), is flushed to disk ({@code fsync}), and is then renamed over the
 * target with {@link StandardCopyOption#ATOMIC_MOVE}. Readers see either the old file or the whole
 * new one, never a half-written file; on any failure the temporary file is deleted and the target
 * is left untouched. This is the classic write-temp-fsync-rename recipe (POSIX {@code rename(2)}
 * replaces the target atomically).
 *
 * <p>{@link #writeUnsynced} skips the two {@code fsync}s (of the file, and of the directory after
 * the rename): what it writes is still whole or absent to readers and to a killed process, but a
 * crash of the machine may lose it. For outputs a rerun recreates, such as {@code segment}'s masks
 * and overlays: the {@code fsync}s took 4.5 ms of a 5.3 ms mask write here (BENCHMARKS.md §9c),
 * more than encoding the PNG.
 *
 * <p>The parent directory must exist. On file systems without atomic rename the move falls back
 * to a plain replacing move.
 */
public final class AtomicFiles {

  /** Writes content to a stream; the stream is closed by {@link AtomicFiles}, not by the callback. */
  @FunctionalInterface
  public interface StreamWriter {
    /**
     * @param out the stream to the temporary file; buffered
     * @throws IOException to abandon the write (the target is left as it was)
     */
    void writeTo(OutputStream out) throws IOException;
  }

  private AtomicFiles() {}

  /** Atomically replaces (or creates) {@code target} with {@code bytes}. */
  public static void write(Path target, byte[] bytes) throws IOException {
    write(target, out -> out.write(bytes));
  }

  /**
   * Atomically replaces (or creates) {@code target} with whatever {@code writer} writes.
   *
   * @throws IOException from the writer or the file system; the target is then unchanged and the
   *     temporary file removed
   */
  public static void write(Path target, StreamWriter writer) throws IOException {
    write(target, writer, true);
  }

  /**
   * As {@link #write(Path, StreamWriter)}, without forcing the file or its directory to disk (see
   * the class comment).
   */
  public static void writeUnsynced(Path target, StreamWriter writer) throws IOException {
    write(target, writer, false);
  }

  private static void write(Path target, StreamWriter writer, boolean sync) throws IOException {
    Path absolute = target.toAbsolutePath();
    Path dir = absolute.getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      throw new IOException(target + ": directory " + dir + " does not exist");
    }
    if (Files.isDirectory(absolute)) {
      throw new IOException(target + ": is a directory");
    }
    Path tmp = null;
    boolean moved = false;
    try {
      FileChannel channel = null;
      for (int attempt = 0; channel == null; attempt++) {
        tmp = dir.resolve("." + absolute.getFileName() + "."
            + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + ".tmp");
        try {
          channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException e) {
          if (attempt >= 10) {
            throw e;
          }
        }
      }
      try (FileChannel ch = channel;
          OutputStream out = new BufferedOutputStream(nonClosing(Channels.newOutputStream(ch)), 1 << 16)) {
        writer.writeTo(out);
        out.flush();
        if (sync) {
          ch.force(true);
        }
      }
      move(tmp, absolute);
      moved = true;
      if (sync) {
        syncDirectory(dir);
      }
    } finally {
      if (!moved && tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: the original failure matters more
        }
      }
    }
  }

  private static void move(Path tmp, Path target) throws IOException {
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Makes the rename durable where the platform allows (Linux, macOS); ignored elsewhere. */
  private static void syncDirectory(Path dir) {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    } catch (IOException | RuntimeException ignored) {
      // Windows cannot open directories; the data itself is already synced
    }
  }

  /** Lets the channel be forced after the stream is flushed, closing it only once. */
  private static OutputStream nonClosing(OutputStream out) {
    return new FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
      }

      @Override
      public void close() throws IOException {
        flush();
      }
    };
  }

  /** Deletes a directory tree if it exists, ignoring failures (for temporary directories). */
  public static void deleteTreeQuietly(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (java.util.stream.Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          // best effort: a temporary directory
        }
      });
    } catch (IOException | java.io.UncheckedIOException e) {
      // best effort: a temporary directory
    }
  }
}
