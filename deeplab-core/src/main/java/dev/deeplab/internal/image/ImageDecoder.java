package dev.deeplab.internal.image;

import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * The shared decoding steps of {@link ImageReader} and {@link LabelReader}: recognise the format
 * from the content, read the header, enforce the pixel limit before any pixel is decoded, decode,
 * and turn every failure (including ImageIO's silent half-decodes of truncated JPEGs) into an
 * {@link ImageFormatException} with a one-line message.
 */
public final class ImageDecoder implements AutoCloseable {
  private final String name;
  private final ImageInputStream in;
  private final ImageFormat format;
  private final javax.imageio.ImageReader reader;
  private final List<String> warnings = new ArrayList<>();
  private final int width;
  private final int height;
  /** The file's first bytes (signature, and a PNG's IHDR). */
  private final byte[] head;
  private final int headLength;

  private ImageDecoder(String name, ImageInputStream in, long size, long maxPixels)
      throws ImageFormatException {
    this.name = name;
    this.head = new byte[Math.max(ImageFormat.SIGNATURE_BYTES, EncodedSizeBound.HEAD_BYTES)];
    this.headLength = readHead(name, in, head);
    this.format = sniff(name, head, headLength);
    this.in = format == ImageFormat.JPEG ? withoutIccProfile(name, in) : in;
    Iterator<javax.imageio.ImageReader> readers =
        ImageIO.getImageReadersByFormatName(format.imageIoName());
    if (!readers.hasNext()) {
      throw new ImageFormatException(name,
          "no ImageIO decoder for " + format.displayName() + " in this JVM");
    }
    this.reader = readers.next();
    reader.setInput(this.in, true, true);
    reader.addIIOReadWarningListener((source, message) -> warnings.add(message));
    try {
      this.width = reader.getWidth(0);
      this.height = reader.getHeight(0);
    } catch (IOException | RuntimeException e) {
      reader.dispose();
      throw new ImageFormatException(name,
          "corrupt or truncated " + format.displayName() + " header (" + describe(e) + ")", e);
    }
    if (width <= 0 || height <= 0) {
      reader.dispose();
      throw new ImageFormatException(name,
          "corrupt " + format.displayName() + " header (size " + width + "x" + height + ")");
    }
    long pixels = (long) width * height;
    if (pixels > maxPixels) {
      reader.dispose();
      throw new ImageFormatException(name, String.format(Locale.ROOT,
          "image is %dx%d = %d pixels, over the pixel limit of %d (%.1f megapixels)",
          width, height, pixels, maxPixels, maxPixels / 1e6));
    }
    if (pixels * 4 > Integer.MAX_VALUE - 64) {
      reader.dispose();
      throw new ImageFormatException(name,
          "image is " + width + "x" + height + ", too large to hold in one Java array");
    }
    long least = EncodedSizeBound.minimumBytes(format, head, headLength, width, height);
    if (size < least) {
      reader.dispose();
      throw new ImageFormatException(name, String.format(Locale.ROOT,
          "%s header declares %dx%d pixels, which need at least %d bytes, but the file has %d:"
              + " a declared-size bomb or a truncated file, not decoded",
          format.displayName(), width, height, least, size));
    }
  }

  /** Opens a file: checks it exists, is a regular non-empty file, and reads its header. */
  public static ImageDecoder open(Path file, long maxPixels) throws ImageFormatException {
    String name = file.toString();
    if (Files.isDirectory(file)) {
      throw new ImageFormatException(name, "is a directory, not an image file");
    }
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      throw new ImageFormatException(name, "file not found", e);
    } catch (IOException e) {
      throw new ImageFormatException(name, "cannot read file (" + describe(e) + ")", e);
    }
    if (size == 0) {
      throw new ImageFormatException(name, "empty file (0 bytes)");
    }
    ImageInputStream in;
    try {
      in = new FileImageInputStream(file.toFile());
    } catch (IOException | SecurityException e) {
      throw new ImageFormatException(name, "cannot read file (" + describe(e) + ")", e);
    }
    return open(name, in, size, maxPixels);
  }

  /** Opens bytes held in memory; {@code name} is used in messages. */
  public static ImageDecoder open(byte[] data, String name, long maxPixels) throws ImageFormatException {
    if (data.length == 0) {
      throw new ImageFormatException(name, "empty data (0 bytes)");
    }
    return open(name, new MemoryCacheImageInputStream(new ByteArrayInputStream(data)), data.length,
        maxPixels);
  }

  private static ImageDecoder open(String name, ImageInputStream in, long size, long maxPixels)
      throws ImageFormatException {
    try {
      return new ImageDecoder(name, in, size, maxPixels);
    } catch (ImageFormatException | RuntimeException e) {
      closeQuietly(in);
      throw e;
    }
  }

  /** A JPEG stream without the ICC profile that ImageIO would apply ({@link JpegIccSegments}). */
  private static ImageInputStream withoutIccProfile(String name, ImageInputStream in)
      throws ImageFormatException {
    try {
      long[][] profile = JpegIccSegments.find(in);
      return profile.length == 0 ? in : new ExcisedImageInputStream(in, profile);
    } catch (IOException e) {
      throw new ImageFormatException(name, "cannot read file (" + describe(e) + ")", e);
    }
  }

  /** Reads the first bytes into {@code head} and rewinds; returns how many there were. */
  private static int readHead(String name, ImageInputStream in, byte[] head)
      throws ImageFormatException {
    int n = 0;
    try {
      in.mark();
      while (n < head.length) {
        int r = in.read(head, n, head.length - n);
        if (r < 0) {
          break;
        }
        n += r;
      }
      in.reset();
    } catch (IOException e) {
      throw new ImageFormatException(name, "cannot read file (" + describe(e) + ")", e);
    }
    if (n == 0) {
      throw new ImageFormatException(name, "empty file (0 bytes)");
    }
    return n;
  }

  private static ImageFormat sniff(String name, byte[] head, int n) throws ImageFormatException {
    ImageFormat format = ImageFormat.detect(head, Math.min(n, ImageFormat.SIGNATURE_BYTES));
    String supported = ImageFormat.supported().stream()
        .map(ImageFormat::displayName).collect(Collectors.joining(", "));
    if (format == null) {
      return failUnknown(name, head, n, supported);
    }
    if (!format.isSupported()) {
      throw new ImageFormatException(name,
          "unsupported image format " + format.displayName() + " (supported: " + supported + ")");
    }
    return format;
  }

  private static ImageFormat failUnknown(String name, byte[] head, int n, String supported)
      throws ImageFormatException {
    String hex = HexFormat.ofDelimiter(" ").formatHex(head, 0, Math.min(n, 8));
    throw new ImageFormatException(name,
        "not an image: content matches no known image signature (first bytes " + hex
            + "; supported: " + supported + ")");
  }

  ImageFormat format() {
    return format;
  }

  public ImageHeader header() {
    return new ImageHeader(format, width, height);
  }

  /**
   * Decodes the first image to RGB as {@link RgbImage#of} converts it: 8-bit RGB and RGBA PNGs
   * without interlacing by {@link PngRgbDecoder}, everything else by ImageIO ({@link #decode}).
   */
  public RgbImage decodeRgb() throws ImageFormatException {
    if (format == ImageFormat.PNG) {
      byte[] rgb;
      try {
        rgb = PngRgbDecoder.decode(in, head, headLength, width, height);
      } catch (IOException e) {
        rgb = null; // ImageIO reads it again and reports what is wrong
      }
      if (rgb != null) {
        return new RgbImage(width, height, rgb);
      }
    }
    return RgbImage.of(decode());
  }

  /** Decodes the first image, failing on errors and on warnings that mean lost data. */
  public BufferedImage decode() throws ImageFormatException {
    BufferedImage image;
    try {
      image = reader.read(0);
    } catch (IOException | RuntimeException e) {
      throw new ImageFormatException(name, classify(e), e);
    }
    for (String w : warnings) {
      if (isDataLoss(w)) {
        throw new ImageFormatException(name,
            "truncated or corrupt " + format.displayName() + " data (" + w + ")");
      }
    }
    if (image == null || image.getWidth() != width || image.getHeight() != height) {
      throw new ImageFormatException(name, "corrupt " + format.displayName()
          + " data (decoded size differs from the header's " + width + "x" + height + ")");
    }
    return image;
  }

  /**
   * Whether an ImageIO warning means pixels were lost. The JPEG decoder (libjpeg) reports a cut
   * or damaged entropy-coded segment as "Corrupt JPEG data: premature end of data segment", "bad
   * Huffman code" or "found marker ... instead of RST", and fills the rest of the image with grey;
   * those are errors, as is "Invalid SOS parameters", which a file cut inside its scan header
   * gives (with no pixel data at all). Harmless warnings are accepted: a file lacking only its final EOI marker
   * ("Missing EOI marker" alone: every pixel is there), extraneous bytes between segments (which
   * common cameras write), an invalid embedded colour profile (profiles are ignored anyway).
   */
  static boolean isDataLoss(String warning) {
    String w = warning.toLowerCase(Locale.ROOT);
    if (w.contains("extraneous bytes")) {
      return false;
    }
    return w.contains("corrupt jpeg data") || w.contains("premature end") || w.contains("huffman")
        || w.contains("inconsistent progression") || w.contains("invalid sos");
  }

  private String classify(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof EOFException) {
        return "truncated " + format.displayName() + " data (unexpected end of file)";
      }
    }
    if (e instanceof IIOException || !(e instanceof IOException)) {
      return "corrupt " + format.displayName() + " data (" + describe(e) + ")";
    }
    return "cannot read file (" + describe(e) + ")";
  }

  /** A short one-line description of an exception and its causes. */
  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null && sb.length() < 300; t = t.getCause()) {
      String msg = t.getMessage();
      String part = msg == null || msg.isBlank() ? t.getClass().getSimpleName()
          : (t instanceof IOException ? msg : t.getClass().getSimpleName() + ": " + msg);
      if (sb.indexOf(part) >= 0) {
        continue;
      }
      if (sb.length() > 0) {
        sb.append(": ");
      }
      sb.append(part);
    }
    return ImageFormatException.oneLine(sb.toString());
  }

  @Override
  public void close() {
    reader.dispose();
    closeQuietly(in);
  }

  private static void closeQuietly(ImageInputStream in) {
    try {
      in.close();
    } catch (IOException ignored) {
      // nothing was written; nothing to lose
    }
  }
}
