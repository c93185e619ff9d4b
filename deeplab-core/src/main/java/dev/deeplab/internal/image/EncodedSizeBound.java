package dev.deeplab.internal.image;

/**
 * The fewest bytes in which a format can encode an image of a declared size: a file smaller than
 * that cannot hold the pixels its header declares (a "declared-size bomb", whose decoder would
 * allocate the whole pixel buffer and then fail, or fill it with nothing), so it is refused from
 * the header, before anything is allocated.
 *
 * <p>The bounds come from each coding's best possible compression, so no real file is refused:
 *
 * <ul>
 *   <li>PNG: the filtered scanlines, {@code height * (1 + ceil(width * channels * depth / 8))}
 *       bytes (ISO 15948 §7.2), are deflated, and deflate compresses at most 1032:1 (a 258-byte
 *       match per 2 bits at best, RFC 1951);
 *   <li>GIF: an LZW code of {@code L} bits stands for at most {@code 2^L} pixels, so at most 4096
 *       pixels per 12 bits (GIF89a appendix F);
 *   <li>JPEG: every 8x8 block of the full-resolution component carries its DC coefficient as a
 *       Huffman code of at least one bit, and that component has at least {@code width * height /
 *       256} blocks (sampling factors are at most 4, ITU-T T.81 §A.1.1);
 *   <li>BMP without compression ({@code BI_RGB}, {@code BI_BITFIELDS}): rows of {@code ceil(width
 *       * bits / 32) * 4} bytes are stored as they are. Run-length-coded BMPs can end the bitmap
 *       early, so only the pixel limit bounds them.
 * </ul>
 */
final class EncodedSizeBound {
  /** The bytes {@link #minimumBytes} reads from the start of the file. */
  static final int HEAD_BYTES = 34;

  private EncodedSizeBound() {}

  /**
   * The smallest file size that can encode a {@code width x height} image whose file starts
   * with {@code head} ({@code n} valid bytes), or 0 when the header says too little to tell.
   */
  static long minimumBytes(ImageFormat format, byte[] head, int n, int width, int height) {
    long pixels = (long) width * height;
    return switch (format) {
      case PNG -> n < 26 ? 0 : pngScanlineBytes(head, width, height) / 1032;
      case GIF -> pixels * 12 / 4096 / 8;
      case JPEG -> pixels / 256 / 8;
      case BMP -> n < 34 ? 0 : bmpPixelBytes(head, width, height);
      default -> 0;
    };
  }

  private static long pngScanlineBytes(byte[] head, int width, int height) {
    int depth = head[24] & 0xFF;
    int channels = switch (head[25]) {
      case 2 -> 3; // RGB
      case 4 -> 2; // grey + alpha
      case 6 -> 4; // RGBA
      default -> 1; // grey, palette
    };
    return height * (1 + ((long) width * channels * depth + 7) / 8);
  }

  private static long bmpPixelBytes(byte[] head, int width, int height) {
    int infoSize = (head[14] & 0xFF) | (head[15] & 0xFF) << 8;
    if (infoSize < 40) {
      return 0; // OS/2 core header: no compression field
    }
    int bits = (head[28] & 0xFF) | (head[29] & 0xFF) << 8;
    int compression = (head[30] & 0xFF) | (head[31] & 0xFF) << 8 | (head[32] & 0xFF) << 16
        | (head[33] & 0xFF) << 24;
    boolean uncompressed = compression == 0 || compression == 3 || compression == 6;
    if (!uncompressed) {
      return 0;
    }
    return (long) height * (((long) width * bits + 31) / 32 * 4);
  }
}
