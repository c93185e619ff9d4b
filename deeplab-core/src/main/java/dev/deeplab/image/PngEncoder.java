package dev.deeplab.image;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Encodes 8-bit PNG images straight from byte arrays, for {@link MaskWriter}: palette-indexed
 * (colour type 3) and RGB (colour type 2), not interlaced, as the PNG specification (W3C, second
 * edition, 2003) defines them: signature, {@code IHDR}, {@code PLTE} for palettes, the filtered
 * rows zlib-compressed across {@code IDAT} chunks, {@code IEND}; each chunk with its CRC-32.
 *
 * <p>Chosen for speed, as {@code segment} writes two PNGs per photo next to the network
 * (BENCHMARKS.md §7): masks (large areas of one id) with the Up filter and zlib's fastest level,
 * whose matches take the runs; RGB images (photos) with the Sub filter and Huffman coding only
 * ({@link Deflater#HUFFMAN_ONLY}), since string matches find little in photos: 3× faster than the
 * JDK's PNG writer, and its files are no larger.
 *
 * <p>Stateless and thread-safe.
 */
final class PngEncoder {
  private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  private static final int COLOR_RGB = 2;
  private static final int COLOR_INDEXED = 3;
  private static final int FILTER_SUB = 1;
  private static final int FILTER_UP = 2;
  /** Bytes of filtered rows handed to the compressor at once. */
  private static final int BLOCK = 1 << 16;
  /** Largest IDAT chunk written. */
  private static final int CHUNK = 1 << 16;

  private PngEncoder() {}

  /**
   * Writes a palette-indexed 8-bit PNG: pixel values {@code ids}, palette {@code 0xRRGGBB}
   * colours (at most 256; the PLTE chunk holds 256 entries, those past {@code palette} black).
   */
  static void writeIndexed(OutputStream out, int width, int height, byte[] ids, int[] palette)
      throws IOException {
    if (palette.length > 256) {
      throw new IllegalArgumentException(
          "an 8-bit palette has at most 256 colours, got " + palette.length);
    }
    checkSize(width, height, ids.length, 1);
    byte[] plte = new byte[256 * 3];
    for (int i = 0; i < palette.length; i++) {
      plte[3 * i] = (byte) (palette[i] >> 16);
      plte[3 * i + 1] = (byte) (palette[i] >> 8);
      plte[3 * i + 2] = (byte) palette[i];
    }
    out.write(SIGNATURE);
    writeChunk(out, "IHDR", header(width, height, COLOR_INDEXED));
    writeChunk(out, "PLTE", plte);
    writeImage(out, ids, width, height, 1, FILTER_UP, Deflater.BEST_SPEED,
        Deflater.DEFAULT_STRATEGY);
    writeChunk(out, "IEND", new byte[0]);
  }

  /** Writes an 8-bit RGB PNG of {@code rgb}: interleaved R, G, B bytes, row-major. */
  static void writeRgb(OutputStream out, int width, int height, byte[] rgb) throws IOException {
    checkSize(width, height, rgb.length, 3);
    out.write(SIGNATURE);
    writeChunk(out, "IHDR", header(width, height, COLOR_RGB));
    writeImage(out, rgb, width, height, 3, FILTER_SUB, Deflater.BEST_SPEED,
        Deflater.HUFFMAN_ONLY);
    writeChunk(out, "IEND", new byte[0]);
  }

  private static void checkSize(int width, int height, int length, int bytesPerPixel) {
    if (width <= 0 || height <= 0 || (long) width * height * bytesPerPixel != length) {
      throw new IllegalArgumentException(width + "x" + height + " image with " + bytesPerPixel
          + " bytes per pixel needs " + (long) width * height * bytesPerPixel + " bytes, got "
          + length);
    }
  }

  private static byte[] header(int width, int height, int colorType) {
    byte[] h = new byte[13];
    putInt(h, 0, width);
    putInt(h, 4, height);
    h[8] = 8; // bit depth
    h[9] = (byte) colorType;
    // compression 0 (zlib), filter method 0 (adaptive, five types), interlace 0 (none)
    return h;
  }

  /** Filters the rows with one filter type and writes them, compressed, as IDAT chunks. */
  private static void writeImage(OutputStream out, byte[] pixels, int width, int height, int bpp,
      int filter, int level, int strategy) throws IOException {
    int stride = width * bpp;
    int rowsPerBlock = Math.max(1, BLOCK / (stride + 1));
    byte[] block = new byte[Math.min(rowsPerBlock, height) * (stride + 1)];
    byte[] chunk = new byte[CHUNK];
    int filled = 0;
    Deflater deflater = new Deflater(level);
    try {
      deflater.setStrategy(strategy);
      for (int y0 = 0; y0 < height; y0 += rowsPerBlock) {
        int rows = Math.min(rowsPerBlock, height - y0);
        for (int r = 0; r < rows; r++) {
          filterRow(pixels, (y0 + r) * stride, stride, bpp, filter, block, r * (stride + 1));
        }
        deflater.setInput(block, 0, rows * (stride + 1));
        boolean last = y0 + rows == height;
        if (last) {
          deflater.finish();
        }
        // whole chunks out, until the compressor wants more input (or, at the end, is done)
        while (last ? !deflater.finished() : !deflater.needsInput()) {
          filled += deflater.deflate(chunk, filled, CHUNK - filled);
          if (filled == CHUNK) {
            writeChunk(out, "IDAT", chunk, filled);
            filled = 0;
          }
        }
      }
      writeChunk(out, "IDAT", chunk, filled);
    } finally {
      deflater.end();
    }
  }

  /**
   * One row with its filter-type byte: Sub, {@code x - left}, or Up, {@code x - above}, modulo
   * 256 (the first row's Up is the row itself, the row above being zeros).
   */
  private static void filterRow(byte[] pixels, int start, int stride, int bpp, int filter,
      byte[] out, int at) {
    out[at++] = (byte) filter;
    if (filter == FILTER_UP && start >= stride) {
      for (int i = 0; i < stride; i++) {
        out[at + i] = (byte) (pixels[start + i] - pixels[start + i - stride]);
      }
    } else if (filter == FILTER_SUB) {
      System.arraycopy(pixels, start, out, at, Math.min(bpp, stride));
      for (int i = bpp; i < stride; i++) {
        out[at + i] = (byte) (pixels[start + i] - pixels[start + i - bpp]);
      }
    } else {
      System.arraycopy(pixels, start, out, at, stride);
    }
  }

  private static void writeChunk(OutputStream out, String type, byte[] data) throws IOException {
    writeChunk(out, type, data, data.length);
  }

  /** Length, type, data and the CRC-32 of type and data. */
  private static void writeChunk(OutputStream out, String type, byte[] data, int length)
      throws IOException {
    byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
    byte[] word = new byte[4];
    putInt(word, 0, length);
    out.write(word);
    out.write(typeBytes);
    out.write(data, 0, length);
    CRC32 crc = new CRC32();
    crc.update(typeBytes);
    crc.update(data, 0, length);
    putInt(word, 0, (int) crc.getValue());
    out.write(word);
  }

  private static void putInt(byte[] b, int at, int value) {
    b[at] = (byte) (value >>> 24);
    b[at + 1] = (byte) (value >>> 16);
    b[at + 2] = (byte) (value >>> 8);
    b[at + 3] = (byte) value;
  }
}
