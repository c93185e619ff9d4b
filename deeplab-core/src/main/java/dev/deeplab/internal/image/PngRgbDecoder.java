package dev.deeplab.internal.image;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes the PNGs photos usually are, 8-bit RGB or RGBA (colour types 2 and 6) without
 * interlacing, straight into interleaved RGB bytes: the rows are inflated one at a time and
 * unfiltered (the five filter types of the PNG specification, W3C second edition, section 9) in
 * place. Alpha is dropped and ancillary chunks (gamma, ICC profile, ...) ignored, as {@link
 * dev.deeplab.image.RgbImage#of} does with ImageIO's result, which this gives in a third to a half
 * of ImageIO's time.
 *
 * <p>Anything else, and any irregularity (truncated or corrupt data, an unknown critical chunk),
 * answers null, and {@link ImageDecoder} has ImageIO decode the file instead, with its messages.
 */
final class PngRgbDecoder {
  private static final int IHDR = 0x49484452;
  private static final int IDAT = 0x49444154;
  /** A palette: optional in RGB images (a suggestion for quantising), ignored. */
  private static final int PLTE = 0x504C5445;
  /** Signature (8), IHDR chunk (8 + 13 + CRC 4): the chunks after it start here. */
  private static final int IMAGE_DATA = 33;
  /** Bytes of compressed data read from the stream at once. */
  private static final int READ = 1 << 16;

  private final ImageInputStream in;
  private final Inflater inflater = new Inflater();
  private final byte[] input = new byte[READ];
  /** Bytes of the current IDAT chunk not yet read; -1 after the last IDAT. */
  private long idatLeft;
  private boolean seenIdat;

  private PngRgbDecoder(ImageInputStream in) {
    this.in = in;
  }

  /**
   * The pixels of a PNG of {@code width x height} (as its header says) as RGB bytes, or null if
   * it is not one this decodes. {@code head} holds the file's first 33 bytes or more (signature
   * and IHDR chunk); the stream is read from byte 33 on, where ImageIO leaves it after reading the
   * header, and left where it was.
   */
  static byte[] decode(ImageInputStream in, byte[] head, int headLength, int width, int height)
      throws IOException {
    long position = in.getStreamPosition();
    if (headLength < IMAGE_DATA || in.getFlushedPosition() > IMAGE_DATA) {
      return null;
    }
    PngRgbDecoder decoder = new PngRgbDecoder(in);
    try {
      return decoder.decode(ByteBuffer.wrap(head, 0, IMAGE_DATA), width, height);
    } catch (EOFException | DataFormatException e) {
      return null;
    } finally {
      decoder.inflater.end();
      in.seek(position);
    }
  }

  private byte[] decode(ByteBuffer head, int width, int height)
      throws IOException, DataFormatException {
    head.position(8);
    if (head.getInt() != 13 || head.getInt() != IHDR || head.getInt() != width
        || head.getInt() != height) {
      return null;
    }
    int depth = head.get() & 0xFF;
    int colorType = head.get() & 0xFF;
    int compression = head.get();
    int filter = head.get();
    int interlace = head.get();
    if (depth != 8 || colorType != 2 && colorType != 6 || compression != 0 || filter != 0
        || interlace != 0) {
      return null;
    }
    in.seek(IMAGE_DATA);
    if (!nextIdat()) {
      return null;
    }
    int bpp = colorType == 2 ? 3 : 4;
    int stride = width * bpp;
    byte[] row = new byte[1 + stride];
    byte[] above = new byte[1 + stride];
    byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
    int o = 0;
    for (int y = 0; y < height; y++) {
      if (!inflate(row)) {
        return null;
      }
      if (!unfilter(row, above, bpp)) {
        return null;
      }
      if (bpp == 3) {
        System.arraycopy(row, 1, rgb, o, stride);
        o += stride;
      } else {
        for (int i = 1; i < row.length; i += 4) {
          rgb[o++] = row[i];
          rgb[o++] = row[i + 1];
          rgb[o++] = row[i + 2];
        }
      }
      byte[] t = above;
      above = row;
      row = t;
    }
    return rgb;
  }

  /** Fills {@code row} from the zlib stream; false if it ends first. */
  private boolean inflate(byte[] row) throws IOException, DataFormatException {
    int filled = 0;
    while (filled < row.length) {
      int n = inflater.inflate(row, filled, row.length - filled);
      filled += n;
      if (n == 0 && (!inflater.needsInput() || !feed())) {
        return false; // the stream ended (or wants a dictionary) before the image did
      }
    }
    return true;
  }

  /** Hands the inflater the next compressed bytes of the IDAT chunks; false if there are none. */
  private boolean feed() throws IOException {
    while (idatLeft == 0) {
      in.skipBytes(4); // CRC
      if (!nextIdat()) {
        return false;
      }
    }
    if (idatLeft < 0) {
      return false;
    }
    int n = (int) Math.min(READ, idatLeft);
    in.readFully(input, 0, n);
    idatLeft -= n;
    inflater.setInput(input, 0, n);
    return true;
  }

  /**
   * Moves to the data of the next IDAT chunk, skipping ancillary chunks (and PLTE) before the
   * first; false (and {@code idatLeft} -1) at any other chunk: after the IDATs, or a critical
   * chunk this does not know, which sends the file to ImageIO.
   */
  private boolean nextIdat() throws IOException {
    while (true) {
      long length = in.readInt() & 0xFFFFFFFFL;
      int type = in.readInt();
      if (type == IDAT) {
        idatLeft = length;
        seenIdat = true;
        return true;
      }
      boolean ancillary = (type >>> 24 & 0x20) != 0;
      if (seenIdat || !ancillary && type != PLTE) {
        idatLeft = -1;
        return false;
      }
      in.seek(in.getStreamPosition() + length + 4);
    }
  }

  /** Undoes the row's filter in place; {@code above} is the previous row, unfiltered. */
  private static boolean unfilter(byte[] row, byte[] above, int bpp) {
    int n = row.length;
    switch (row[0]) {
      case 0 -> { }
      case 1 -> {
        for (int i = 1 + bpp; i < n; i++) {
          row[i] += row[i - bpp];
        }
      }
      case 2 -> {
        for (int i = 1; i < n; i++) {
          row[i] += above[i];
        }
      }
      case 3 -> {
        for (int i = 1; i < n; i++) {
          int left = i > bpp ? row[i - bpp] & 0xFF : 0;
          row[i] += (byte) ((left + (above[i] & 0xFF)) >>> 1);
        }
      }
      case 4 -> {
        for (int i = 1; i < n; i++) {
          int a = i > bpp ? row[i - bpp] & 0xFF : 0;
          int b = above[i] & 0xFF;
          int c = i > bpp ? above[i - bpp] & 0xFF : 0;
          int p = a + b - c;
          int pa = Math.abs(p - a);
          int pb = Math.abs(p - b);
          int pc = Math.abs(p - c);
          row[i] += (byte) (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        }
      }
      default -> {
        return false;
      }
    }
    return true;
  }
}
