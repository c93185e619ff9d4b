package dev.deeplab.internal.image;

import java.io.IOException;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageInputStreamImpl;

/**
 * An image input stream that reads another with some byte ranges cut out, without copying it: a
 * JPEG without its ICC profile segments ({@link JpegIccSegments}). Closing it closes the source.
 */
final class ExcisedImageInputStream extends ImageInputStreamImpl {
  private final ImageInputStream source;
  private final long[] starts;
  private final long[] ends;
  private final long removed;

  /**
   * @param source the stream to read
   * @param ranges {@code {start, end}} byte ranges of the source to leave out (end exclusive),
   *     ascending and not overlapping
   */
  ExcisedImageInputStream(ImageInputStream source, long[][] ranges) {
    this.source = source;
    this.starts = new long[ranges.length];
    this.ends = new long[ranges.length];
    long total = 0;
    for (int i = 0; i < ranges.length; i++) {
      starts[i] = ranges[i][0];
      ends[i] = ranges[i][1];
      if (ends[i] < starts[i] || i > 0 && starts[i] < ends[i - 1]) {
        throw new IllegalArgumentException("ranges must ascend without overlapping");
      }
      total += ends[i] - starts[i];
    }
    this.removed = total;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    checkClosed();
    bitOffset = 0;
    // the source position of streamPos, and how far it may read before the next cut
    long at = streamPos;
    long limit = Long.MAX_VALUE;
    for (int i = 0; i < starts.length; i++) {
      if (at >= starts[i]) {
        at += ends[i] - starts[i];
      } else {
        limit = starts[i];
        break;
      }
    }
    source.seek(at);
    int n = source.read(b, off, (int) Math.min(len, limit - at));
    if (n > 0) {
      streamPos += n;
    }
    return n;
  }

  @Override
  public long length() {
    try {
      long length = source.length();
      return length < 0 ? -1 : length - removed;
    } catch (IOException e) {
      return -1;
    }
  }

  @Override
  public void close() throws IOException {
    super.close();
    source.close();
  }
}
