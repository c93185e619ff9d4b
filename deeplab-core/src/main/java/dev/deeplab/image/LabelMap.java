package dev.deeplab.image;

/**
 * A per-pixel class-id map (a semantic segmentation label or prediction): {@code width * height}
 * unsigned 8-bit ids, rows top to bottom. Ids 0..255 cover PASCAL VOC (0..20, 255 = void),
 * Cityscapes train ids (0..18, 255) and ADE20K (0..150).
 *
 * <p>The byte array is shared, not copied: {@link #ids()} returns the backing array.
 *
 * <p>The id array is shared, not copied ({@link #ids()}): treat it as read-only, and instances are
 * then safe to share between threads.
 */
public final class LabelMap {
  private final int width;
  private final int height;
  private final byte[] ids;

  /**
   * @param width width in pixels, at least 1
   * @param height height in pixels, at least 1
   * @param ids {@code width * height} unsigned class ids, row-major; kept, not copied
   */
  public LabelMap(int width, int height, byte[] ids) {
    if (width <= 0 || height <= 0) {
      throw new IllegalArgumentException("label size must be positive, got " + width + "x" + height);
    }
    if (ids.length != (long) width * height) {
      throw new IllegalArgumentException(
          width + "x" + height + " label map needs " + ((long) width * height) + " ids, got " + ids.length);
    }
    this.width = width;
    this.height = height;
    this.ids = ids;
  }

  /**
   * A label map from {@code int} class ids (e.g. an arg-max prediction).
   *
   * @throws IllegalArgumentException if an id is outside 0..255
   */
  public static LabelMap ofInts(int width, int height, int[] ids) {
    if (ids.length != (long) width * height) {
      throw new IllegalArgumentException(
          width + "x" + height + " label map needs " + ((long) width * height) + " ids, got " + ids.length);
    }
    byte[] b = new byte[ids.length];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] > 255) {
        throw new IllegalArgumentException(
            "class id " + ids[i] + " at (" + (i % width) + "," + (i / width) + ") is outside 0..255");
      }
      b[i] = (byte) ids[i];
    }
    return new LabelMap(width, height, b);
  }

  /** Width in pixels. */
  public int width() {
    return width;
  }

  /** Height in pixels. */
  public int height() {
    return height;
  }

  /** The backing array of unsigned ids: use {@code ids()[i] & 0xFF}. */
  public byte[] ids() {
    return ids;
  }

  /** The class id at column {@code x}, row {@code y}. */
  public int get(int x, int y) {
    if (x < 0 || y < 0 || x >= width || y >= height) {
      throw new IndexOutOfBoundsException("(" + x + "," + y + ") outside " + width + "x" + height);
    }
    return ids[y * width + x] & 0xFF;
  }

  /** The class ids as a new {@code int[]}, row-major (the form {@code ConfusionMatrix} takes). */
  public int[] toIntArray() {
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = ids[i] & 0xFF;
    }
    return out;
  }

  /** How many pixels carry each id 0..255. */
  public long[] histogram() {
    long[] h = new long[256];
    for (byte b : ids) {
      h[b & 0xFF]++;
    }
    return h;
  }
}
