package dev.deeplab.internal.image;

import dev.deeplab.image.ImageReader;
import java.util.EnumSet;
import java.util.Set;

/**
 * Image container formats recognised from a file's first bytes ("magic numbers"), never from its
 * name. Only {@link #isSupported() supported} formats are decoded; the others are recognised so
 * that the error can name them.
 *
 * <p>Signatures: JPEG {@code FF D8 FF} (ITU-T T.81 / JFIF), PNG {@code 89 'PNG' 0D 0A 1A 0A} (ISO
 * 15948 §5.2), BMP {@code 'BM'}, GIF {@code 'GIF87a'/'GIF89a'}; TIFF {@code 'II*\0'/'MM\0*'}, WebP
 * {@code 'RIFF'....'WEBP'}, HEIF/AVIF {@code ....'ftyp'}, JPEG 2000 {@code 00 00 00 0C 'jP  '},
 * Photoshop {@code '8BPS'}.
 */
public enum ImageFormat {
  /** JPEG / JFIF / Exif. */
  JPEG("JPEG", "jpeg", true),
  /** Portable Network Graphics. */
  PNG("PNG", "png", true),
  /** Windows bitmap. */
  BMP("BMP", "bmp", true),
  /** Graphics Interchange Format (first frame only). */
  GIF("GIF", "gif", true),
  /** TIFF (not supported). */
  TIFF("TIFF", null, false),
  /** WebP (not supported). */
  WEBP("WebP", null, false),
  /** HEIF / HEIC / AVIF (not supported). */
  HEIF("HEIF/AVIF", null, false),
  /** JPEG 2000 (not supported). */
  JPEG2000("JPEG 2000", null, false),
  /** Adobe Photoshop document (not supported). */
  PSD("Photoshop PSD", null, false);

  /** How many leading bytes {@link #detect} looks at, at most. */
  public static final int SIGNATURE_BYTES = 16;

  private final String displayName;
  private final String imageIoName;
  private final boolean supported;

  ImageFormat(String displayName, String imageIoName, boolean supported) {
    this.displayName = displayName;
    this.imageIoName = imageIoName;
    this.supported = supported;
  }

  /** A human-readable name, e.g. {@code "WebP"}. */
  public String displayName() {
    return displayName;
  }

  /** Whether {@link ImageReader} decodes this format. */
  public boolean isSupported() {
    return supported;
  }

  /** The ImageIO format name of the decoder, or {@code null} for unsupported formats. */
  String imageIoName() {
    return imageIoName;
  }

  /** The formats that {@link ImageReader} decodes. */
  public static Set<ImageFormat> supported() {
    return EnumSet.of(JPEG, PNG, BMP, GIF);
  }

  /**
   * Recognises a format from the first bytes of a file.
   *
   * @param head the first bytes of the file
   * @param length how many bytes of {@code head} are valid
   * @return the format, or {@code null} if the bytes match no known signature
   */
  public static ImageFormat detect(byte[] head, int length) {
    if (startsWith(head, length, 0, 0xFF, 0xD8, 0xFF)) {
      return JPEG;
    }
    if (startsWith(head, length, 0, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
      return PNG;
    }
    if (startsWith(head, length, 0, 'G', 'I', 'F', '8') && length >= 6
        && (head[4] == '7' || head[4] == '9') && head[5] == 'a') {
      return GIF;
    }
    if (startsWith(head, length, 0, 'B', 'M') && length >= 14) {
      return BMP;
    }
    if (startsWith(head, length, 0, 'I', 'I', 42, 0) || startsWith(head, length, 0, 'M', 'M', 0, 42)) {
      return TIFF;
    }
    if (startsWith(head, length, 0, 'R', 'I', 'F', 'F') && startsWith(head, length, 8, 'W', 'E', 'B', 'P')) {
      return WEBP;
    }
    if (startsWith(head, length, 4, 'f', 't', 'y', 'p')) {
      return HEIF;
    }
    if (startsWith(head, length, 0, 0, 0, 0, 0x0C, 'j', 'P', ' ', ' ')
        || startsWith(head, length, 0, 0xFF, 0x4F, 0xFF, 0x51)) {
      return JPEG2000;
    }
    if (startsWith(head, length, 0, '8', 'B', 'P', 'S')) {
      return PSD;
    }
    return null;
  }

  private static boolean startsWith(byte[] head, int length, int offset, int... signature) {
    if (length < offset + signature.length) {
      return false;
    }
    for (int i = 0; i < signature.length; i++) {
      if ((head[offset + i] & 0xFF) != signature[i]) {
        return false;
      }
    }
    return true;
  }
}
