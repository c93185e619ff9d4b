package dev.deeplab.internal.serving;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.imageio.ImageIO;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.op.io.DecodeRaw;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint16;

/**
 * Reads the size of an encoded image from its header inside the graph, without decoding it, for
 * the four formats TensorFlow's {@code DecodeImage} reads: PNG (IHDR width and height,
 * big-endian), GIF (logical screen width and height, little-endian), BMP (DIB header width and
 * height, little-endian int32, negative height meaning top-down, as TensorFlow's BMP decoder reads
 * them) and JPEG ({@code ExtractJpegShape}, which parses the frame header only). A small
 * compressed file can declare billions of pixels; the serving graph refuses those before any
 * pixel buffer is allocated.
 */
final class ImageHeaders {
  private ImageHeaders() {}

  /** Bytes read at fixed offsets lie within the first 26; the input is padded to be that long. */
  private static final int PADDING = 32;

  /**
   * {@code [height, width, recognised]} (int64) of one encoded image (a string scalar):
   * recognised is 1 for a PNG, GIF, BMP or JPEG signature, else 0 with height and width 0.
   */
  static Operand<TInt64> dims(Ops tf, Operand<TString> encoded) {
    Operand<TString> b = tf.strings.join(List.of(encoded, bytes(tf, new byte[PADDING])));
    Operand<TBool> png = tf.math.logicalAnd(
        starts(tf, b, 0, new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}),
        starts(tf, b, 12, ascii("IHDR")));
    Operand<TBool> gif = starts(tf, b, 0, ascii("GIF8"));
    Operand<TBool> bmp = starts(tf, b, 0, ascii("BM"));
    Operand<TBool> jpeg = starts(tf, b, 0, new byte[] {(byte) 0xff, (byte) 0xd8, (byte) 0xff});

    // ExtractJpegShape fails on anything but a JPEG: give it a valid one in the other cases.
    Operand<TInt64> jpegShape = tf.image.extractJpegShape(
        tf.select(jpeg, encoded, bytes(tf, TINY_JPEG)), TInt64.class);
    Operand<TInt64> jh = element(tf, jpegShape, 0);
    Operand<TInt64> jw = element(tf, jpegShape, 1);
    Operand<TInt64> pngW = read(tf, b, 16, TInt32.class, false);
    Operand<TInt64> pngH = read(tf, b, 20, TInt32.class, false);
    Operand<TInt64> gifW = read(tf, b, 6, TUint16.class, true);
    Operand<TInt64> gifH = read(tf, b, 8, TUint16.class, true);
    Operand<TInt64> bmpW = read(tf, b, 18, TInt32.class, true);
    Operand<TInt64> bmpH = tf.math.abs(read(tf, b, 22, TInt32.class, true));

    Operand<TInt64> zero = tf.constant(0L);
    Operand<TInt64> h = tf.select(png, pngH, tf.select(gif, gifH, tf.select(bmp, bmpH,
        tf.select(jpeg, jh, zero))));
    Operand<TInt64> w = tf.select(png, pngW, tf.select(gif, gifW, tf.select(bmp, bmpW,
        tf.select(jpeg, jw, zero))));
    Operand<TBool> known = tf.math.logicalOr(tf.math.logicalOr(png, gif),
        tf.math.logicalOr(bmp, jpeg));
    return tf.stack(List.of(h, w, tf.dtypes.cast(known, TInt64.class)));
  }

  private static Operand<TBool> starts(Ops tf, Operand<TString> b, int offset, byte[] magic) {
    return tf.math.equal(tf.strings.substr(b, tf.constant(offset), tf.constant(magic.length)),
        bytes(tf, magic));
  }

  /** The integer of type {@code type} at {@code offset}, as int64. */
  private static <T extends org.tensorflow.types.family.TNumber> Operand<TInt64> read(Ops tf,
      Operand<TString> b, int offset, Class<T> type, boolean littleEndian) {
    int size = type == TUint16.class ? 2 : 4;
    Operand<T> v = tf.io.decodeRaw(tf.strings.substr(b, tf.constant(offset), tf.constant(size)),
        type, DecodeRaw.littleEndian(littleEndian));
    return element(tf, tf.dtypes.cast(v, TInt64.class), 0);
  }

  private static Operand<TInt64> element(Ops tf, Operand<TInt64> v, int i) {
    return tf.gather(v, tf.constant(i), tf.constant(0));
  }

  /** A string constant holding exactly these bytes. */
  static Operand<TString> bytes(Ops tf, byte[] value) {
    try (TString t = TString.tensorOfBytes(NdArrays.scalarOfObject(value))) {
      return tf.constantOf(t);
    }
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** A valid 1x1 JPEG. */
  private static final byte[] TINY_JPEG = tinyJpeg();

  private static byte[] tinyJpeg() {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ImageIO.write(new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB), "jpg", out);
      return out.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
