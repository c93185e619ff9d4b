package dev.deeplab.internal.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * A file's size, CRC-32 and CRC-32C: a 64-bit content check from two checksums the JVM computes
 * with CPU intrinsics, about 100 times faster than SHA-256 of the bytes under the launcher's C1
 * compiler (70-100 ms for the pretrained model's 8.6 MB at every start). Cache names are hashed
 * from it.
 */
public record FileChecksum(long size, long crc32, long crc32c) {

  /** Reads {@code file} once. */
  public static FileChecksum of(Path file) throws IOException {
    CRC32 crc = new CRC32();
    CRC32C crcc = new CRC32C();
    byte[] buffer = new byte[1 << 16];
    long size = 0;
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buffer)) > 0; ) {
        crc.update(buffer, 0, n);
        crcc.update(buffer, 0, n);
        size += n;
      }
    }
    return new FileChecksum(size, crc.getValue(), crcc.getValue());
  }

  /** The size, CRC-32 and CRC-32C as 24 big-endian bytes. */
  public byte[] bytes() {
    return ByteBuffer.allocate(24).putLong(size).putLong(crc32).putLong(crc32c).array();
  }
}
