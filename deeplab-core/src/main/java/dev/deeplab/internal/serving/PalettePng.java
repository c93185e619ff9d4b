package dev.deeplab.internal.serving;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.CRC32;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;

/**
 * Palette PNGs of class ids built inside the graph, so that a served mask opens as a coloured
 * image and still holds one class id per pixel (the layout of PASCAL VOC's label files and of our
 * {@code MaskWriter}).
 *
 * <p>TensorFlow's {@code EncodePng} writes only grey or RGB images. A grey 8-bit PNG and a palette
 * 8-bit PNG have the same image data: only the IHDR colour type differs (0 versus 3) and a PLTE
 * chunk is added. So the graph encodes the ids as grey, copies the signature, patches the colour
 * type, inserts a constant PLTE chunk after IHDR and keeps the IDAT and IEND chunks as they are
 * ({@code EncodePng} writes nothing else). The IHDR CRC-32 changes with the colour type; CRC-32 is
 * affine over GF(2), so for messages of equal length {@code crc(a ^ d) = crc(a) ^ crc(d) ^ crc(0)}:
 * the new CRC is the old one XOR a constant computed here, whatever the width and height.
 */
final class PalettePng {
  private PalettePng() {}

  /** Offset of the IHDR colour-type byte: signature 8, length 4, type 4, width 4, height 4, depth 1. */
  private static final int COLOR_TYPE = 25;
  /** Offset of the IHDR CRC, and of the first chunk after IHDR. */
  private static final int IHDR_CRC = 29;
  private static final int AFTER_IHDR = 33;

  /**
   * A palette PNG of {@code ids} ({@code [height, width, 1]} uint8), colours {@code palette}
   * (256 entries, {@code 0xRRGGBB}).
   */
  static Operand<TString> encode(Ops tf, Operand<TUint8> ids, int[] palette) {
    Operand<TString> grey = tf.image.encodePng(ids);
    Operand<TUint8> crc = tf.io.decodeRaw(
        tf.strings.substr(grey, tf.constant(IHDR_CRC), tf.constant(4)), TUint8.class);
    Operand<TUint8> patched = tf.bitwise.bitwiseXor(crc, tf.constant(crcDelta()));
    Operand<TString> crcBytes;
    try (TString table = TString.tensorOfBytes(byteStrings())) {
      crcBytes = tf.strings.reduceJoin(tf.gather(tf.constantOf(table),
          tf.dtypes.cast(patched, TInt32.class), tf.constant(0)), tf.constant(0));
    }
    Operand<TInt32> rest = tf.math.sub(tf.strings.stringLength(grey), tf.constant(AFTER_IHDR));
    return tf.strings.join(List.of(
        tf.strings.substr(grey, tf.constant(0), tf.constant(COLOR_TYPE)),
        ImageHeaders.bytes(tf, new byte[] {3}),
        tf.strings.substr(grey, tf.constant(COLOR_TYPE + 1), tf.constant(IHDR_CRC - COLOR_TYPE - 1)),
        crcBytes,
        ImageHeaders.bytes(tf, plteChunk(palette)),
        tf.strings.substr(grey, tf.constant(AFTER_IHDR), rest)));
  }

  /**
   * What to XOR into the IHDR CRC (big-endian bytes) when the colour type goes from 0 to 3:
   * {@code crc(d) ^ crc(0)} over the 17 bytes "IHDR" + 13 data bytes, {@code d} all zero but 3 at
   * the colour type.
   */
  static byte[] crcDelta() {
    byte[] zero = new byte[17];
    byte[] delta = new byte[17];
    delta[4 + 9] = 3;
    long x = crc(delta) ^ crc(zero);
    return ByteBuffer.allocate(4).putInt((int) x).array();
  }

  /** The PLTE chunk: length, type, 256 RGB triples, CRC. */
  static byte[] plteChunk(int[] palette) {
    byte[] data = new byte[256 * 3];
    for (int i = 0; i < 256; i++) {
      int c = i < palette.length ? palette[i] : 0;
      data[3 * i] = (byte) (c >> 16);
      data[3 * i + 1] = (byte) (c >> 8);
      data[3 * i + 2] = (byte) c;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] type = "PLTE".getBytes(StandardCharsets.US_ASCII);
    out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    out.writeBytes(type);
    out.writeBytes(data);
    byte[] typed = new byte[4 + data.length];
    System.arraycopy(type, 0, typed, 0, 4);
    System.arraycopy(data, 0, typed, 4, data.length);
    out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc(typed)).array());
    return out.toByteArray();
  }

  private static long crc(byte[] b) {
    CRC32 c = new CRC32();
    c.update(b);
    return c.getValue();
  }

  /** The 256 one-byte strings, to turn uint8 values back into bytes with a gather. */
  private static org.tensorflow.ndarray.NdArray<byte[]> byteStrings() {
    byte[][] all = new byte[256][];
    for (int i = 0; i < 256; i++) {
      all[i] = new byte[] {(byte) i};
    }
    return NdArrays.vectorOfObjects(all);
  }
}
