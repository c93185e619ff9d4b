package dev.deeplab.reliability;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.DeflaterOutputStream;

/**
 * Declared-size bombs: small valid files (made in memory by ImageIO) whose headers are patched to
 * declare huge images, the way an attacker makes them (a 60000x60000 PNG in a few kB, a
 * 32767x32767 GIF, ...), plus files whose side data inflates or allocates without bound (a PNG
 * text chunk that inflates to 256 MB, a BMP whose pixel offset makes ImageIO read a 2 GB palette).
 * Each would take gigabytes if a decoder believed it.
 */
public final class ImageBombs {
  /** What the compressed PNG chunks inflate to: 4 times the heap of {@link BombChild}'s JVM. */
  static final long INFLATED = 256L << 20;

  private ImageBombs() {}

  /** A 16x16 image, encoded by ImageIO; palette-indexed for {@code gif} and palette PNGs. */
  static byte[] small(String format, boolean indexed) {
    BufferedImage image;
    if (indexed) {
      byte[] v = new byte[4];
      for (int i = 0; i < 4; i++) {
        v[i] = (byte) (i * 80);
      }
      image = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_INDEXED,
          new IndexColorModel(8, 4, v, v, v));
    } else {
      image = new BufferedImage(16, 16, BufferedImage.TYPE_3BYTE_BGR);
    }
    for (int y = 0; y < 16; y++) {
      for (int x = 0; x < 16; x++) {
        image.getRaster().setSample(x, y, 0, indexed ? (x + y) % 4 : x * 16);
      }
    }
    return BadImages.encode(image, format);
  }

  /** A PNG (RGB, or palette for labels) whose IHDR declares {@code w x h}, CRC fixed. */
  public static byte[] png(int w, int h, boolean palette) {
    byte[] png = small("png", palette);
    ByteBuffer.wrap(png, 16, 8).putInt(w).putInt(h);
    return fixCrc(png, 8);
  }

  /**
   * A real deflate bomb: an RGB PNG declaring {@code w x h} whose IDAT is {@code zeroBytes} zero
   * bytes compressed (about 1/1000 of that), so the data is there but would inflate enormously.
   */
  public static byte[] pngDeflateBomb(int w, int h, long zeroBytes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(Arrays.copyOf(png(w, h, false), 33)); // signature and IHDR
    out.writeBytes(chunk("IDAT", deflatedZeros(zeroBytes)));
    out.writeBytes(chunk("IEND", new byte[0]));
    return out.toByteArray();
  }

  /**
   * A 16x16 PNG (RGB or palette) with a {@code zTXt} text chunk (or an {@code iCCP} profile) that
   * inflates to {@code inflated} bytes, before its IDAT.
   */
  public static byte[] pngCompressedChunkBomb(String type, long inflated, boolean palette) {
    byte[] png = small("png", palette);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.writeBytes("Comment".getBytes(StandardCharsets.US_ASCII));
    body.write(0); // keyword terminator
    body.write(0); // compression method: deflate
    body.writeBytes(deflatedZeros(inflated));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(png, 0, 33);
    out.writeBytes(chunk(type, body.toByteArray()));
    out.write(png, 33, png.length - 33);
    return out.toByteArray();
  }

  /** A GIF whose logical screen and first image both declare {@code w x h}. */
  public static byte[] gif(int w, int h) {
    byte[] gif = small("gif", true);
    ByteBuffer b = ByteBuffer.wrap(gif).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.putShort(6, (short) w).putShort(8, (short) h);
    int descriptor = imageDescriptor(gif);
    b.putShort(descriptor + 5, (short) w).putShort(descriptor + 7, (short) h);
    return gif;
  }

  /** A 24-bit BMP whose info header declares {@code w x h} (negative h: top-down). */
  public static byte[] bmp(int w, int h) {
    byte[] bmp = small("bmp", false);
    ByteBuffer.wrap(bmp).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(18, w).putInt(22, h);
    return bmp;
  }

  /**
   * A 16x16 8-bit palette BMP whose pixel-data offset is {@code offset}: ImageIO sizes the palette
   * it reads from the gap between the headers and that offset.
   */
  public static byte[] bmpPaletteOffset(int offset) {
    byte[] bmp = small("bmp", true);
    ByteBuffer.wrap(bmp).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(10, offset);
    return bmp;
  }

  /** A baseline JPEG whose SOF0 declares {@code w x h} (at most 65535 each). */
  public static byte[] jpeg(int w, int h) {
    byte[] jpg = small("jpg", false);
    int sof = 2;
    while (!((jpg[sof] & 0xFF) == 0xFF && (jpg[sof + 1] & 0xFF) == 0xC0)) {
      sof += 2 + ((jpg[sof + 2] & 0xFF) << 8 | (jpg[sof + 3] & 0xFF));
    }
    ByteBuffer.wrap(jpg).putShort(sof + 5, (short) h).putShort(sof + 7, (short) w);
    return jpg;
  }

  /** Every photo bomb by name (file name with its format's extension). */
  public static Map<String, byte[]> photos() {
    Map<String, byte[]> m = new LinkedHashMap<>();
    m.put("png_60000x60000.png", png(60000, 60000, false));
    m.put("png_deflate_60000x60000.png", pngDeflateBomb(60000, 60000, 8 << 20));
    m.put("png_10000x10000_at_the_limit.png", png(10000, 10000, false));
    m.put("png_ztxt_256m.png", pngCompressedChunkBomb("zTXt", INFLATED, false));
    m.put("png_iccp_256m.png", pngCompressedChunkBomb("iCCP", INFLATED, false));
    m.put("gif_32767x32767.gif", gif(32767, 32767));
    m.put("gif_10000x10000_at_the_limit.gif", gif(10000, 10000));
    m.put("bmp_60000x60000.bmp", bmp(60000, 60000));
    m.put("bmp_top_down_60000x60000.bmp", bmp(60000, -60000));
    m.put("bmp_10000x10000_at_the_limit.bmp", bmp(10000, 10000));
    m.put("bmp_palette_offset_2g.bmp", bmpPaletteOffset(0x7FFFFFF0));
    m.put("jpeg_65500x65500.jpg", jpeg(65500, 65500));
    m.put("jpeg_10000x10000_at_the_limit.jpg", jpeg(10000, 10000));
    return m;
  }

  /** Label bombs: palette and greyscale label PNGs declaring huge sizes. */
  public static Map<String, byte[]> labels() {
    Map<String, byte[]> m = new LinkedHashMap<>();
    m.put("label_60000x60000.png", png(60000, 60000, true));
    m.put("label_10000x10000_at_the_limit.png", png(10000, 10000, true));
    m.put("label_ztxt_256m.png", pngCompressedChunkBomb("zTXt", INFLATED, true));
    return m;
  }

  /** The offset of a GIF's first image descriptor (after the colour table and extensions). */
  private static int imageDescriptor(byte[] gif) {
    int p = 13;
    if ((gif[10] & 0x80) != 0) {
      p += 3 << (1 + (gif[10] & 7));
    }
    while ((gif[p] & 0xFF) == 0x21) { // extension: label, then sub-blocks up to a zero length
      p += 2;
      while (gif[p] != 0) {
        p += 1 + (gif[p] & 0xFF);
      }
      p++;
    }
    if ((gif[p] & 0xFF) != 0x2C) {
      throw new IllegalStateException("no image descriptor at " + p);
    }
    return p;
  }

  /** A zlib stream of {@code n} zero bytes, compressed without holding them. */
  private static byte[] deflatedZeros(long n) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] zeros = new byte[1 << 16];
    try (DeflaterOutputStream z = new DeflaterOutputStream(out, new Deflater(9))) {
      for (long left = n; left > 0; left -= zeros.length) {
        z.write(zeros, 0, (int) Math.min(zeros.length, left));
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static byte[] chunk(String type, byte[] data) {
    ByteBuffer b = ByteBuffer.allocate(12 + data.length);
    b.putInt(data.length).put(type.getBytes(StandardCharsets.US_ASCII)).put(data);
    CRC32 crc = new CRC32();
    crc.update(b.array(), 4, 4 + data.length);
    b.putInt((int) crc.getValue());
    return b.array();
  }

  /** Recomputes the CRC of the chunk at {@code offset}. */
  private static byte[] fixCrc(byte[] png, int offset) {
    int len = ByteBuffer.wrap(png, offset, 4).getInt();
    CRC32 crc = new CRC32();
    crc.update(png, offset + 4, 4 + len);
    ByteBuffer.wrap(png, offset + 8 + len, 4).putInt((int) crc.getValue());
    return png;
  }
}
