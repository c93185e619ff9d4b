package dev.deeplab.internal.image;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.stream.ImageInputStream;

/**
 * Finds a JPEG's embedded ICC profile: the {@code APP2} segments that start with {@code
 * "ICC_PROFILE\0"} (ICC.1:2010, annex B.4), among the marker segments before the first scan (ITU-T
 * T.81, annex B). {@link ImageDecoder} leaves them out of what ImageIO reads: TensorFlow's {@code
 * decode_jpeg}, which the official DeepLab input pipeline uses, ignores the profile, while ImageIO
 * converts the pixels through it, which costs most of the decoding time of a camera photo (an
 * sRGB profile: 8 of 10 ms for {@code owl.jpg}, for the same pixels). CMYK and YCCK JPEGs (four
 * components) keep theirs: ImageIO needs it to read them at all.
 */
final class JpegIccSegments {
  private static final byte[] ICC_ID = "ICC_PROFILE\0".getBytes(StandardCharsets.US_ASCII);
  private static final int SOS = 0xDA;
  private static final int EOI = 0xD9;
  private static final int APP2 = 0xE2;
  /** Segments looked at before giving up: a real header has a few dozen. */
  private static final int MAX_SEGMENTS = 1000;

  private JpegIccSegments() {}

  /**
   * The {@code {start, end}} byte ranges of the ICC profile segments (marker included), or none
   * if there are none, the image has four components, or the header is not the plain sequence of
   * segments this expects (ImageIO then reads the file as it is). Leaves {@code in} at 0.
   */
  static long[][] find(ImageInputStream in) throws IOException {
    List<long[]> ranges = new ArrayList<>();
    int components = 0;
    try {
      in.seek(0);
      if (in.read() != 0xFF || in.read() != 0xD8) {
        return new long[0][];
      }
      for (int segment = 0; segment < MAX_SEGMENTS; segment++) {
        long start = in.getStreamPosition();
        if (in.read() != 0xFF) {
          return new long[0][];
        }
        int marker = in.read();
        while (marker == 0xFF) { // fill bytes
          marker = in.read();
        }
        if (marker < 0 || marker == SOS || marker == EOI) {
          break;
        }
        if (marker == 0x01 || marker >= 0xD0 && marker <= 0xD7) { // TEM, RSTn: no length
          continue;
        }
        int length = in.readUnsignedShort();
        if (length < 2) {
          return new long[0][];
        }
        long end = in.getStreamPosition() + length - 2;
        if (marker == APP2 && length - 2 >= ICC_ID.length) {
          byte[] id = new byte[ICC_ID.length];
          in.readFully(id);
          if (Arrays.equals(id, ICC_ID)) {
            ranges.add(new long[] {start, end});
          }
        } else if (isStartOfFrame(marker) && length >= 8) {
          in.skipBytes(5); // precision, height, width
          components = in.readUnsignedByte();
        }
        in.seek(end);
      }
    } catch (java.io.EOFException e) {
      return new long[0][];
    } finally {
      in.seek(0);
    }
    return components == 4 ? new long[0][] : ranges.toArray(new long[0][]);
  }

  /** SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC). */
  private static boolean isStartOfFrame(int marker) {
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8
        && marker != 0xCC;
  }
}
