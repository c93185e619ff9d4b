package dev.deeplab.data;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The label set of a segmentation dataset: class names, the ignore label, and the colour palette
 * used for masks and overlays. The built-in sets follow the official DeepLab code in
 * tensorflow/models ({@code research/deeplab/datasets/data_generator.py} for class counts and
 * ignore labels, {@code research/deeplab/utils/get_dataset_colormap.py} for colours):
 *
 * <ul>
 *   <li>{@link #PASCAL_VOC} — PASCAL VOC 2012 (Everingham et al., IJCV 2010): 21 classes,
 *       ignore 255 (the "void" boundary), the VOC development kit's bit-interleaved colour map.
 *   <li>{@link #CITYSCAPES} — Cityscapes (Cordts et al., CVPR 2016): the 19 evaluation ("train
 *       id") classes with their official colours from {@code cityscapesScripts labels.py}, ignore
 *       255.
 *   <li>{@link #ADE20K} — ADE20K / MIT SceneParsing (Zhou et al., CVPR 2017): id 0 "other"
 *       (unlabelled) then the 150 classes of {@code objectInfo150}; ignore label 0, as in the
 *       official DeepLab setup, which counts 151 classes; colours from DeepLab's ADE20K colour map.
 * </ul>
 *
 * <p>Palettes always have 256 entries (ids 0..255) so that any 8-bit mask, including the ignore
 * label, has a colour: VOC's entry 255 is (224,224,192) as in its ground-truth PNGs; entries past
 * a dataset's classes are black for Cityscapes and ADE20K.
 *
 * <p>Instances are immutable.
 */
public final class DatasetInfo {

  /** PASCAL VOC 2012 segmentation: 21 classes (background + 20 objects), ignore label 255. */
  public static final DatasetInfo PASCAL_VOC = new DatasetInfo("pascal_voc", List.of(
      "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
      "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
      "train", "tvmonitor"), 255, vocColormap(256));

  /** Cityscapes: the 19 train-id classes, ignore label 255. */
  public static final DatasetInfo CITYSCAPES = new DatasetInfo("cityscapes", List.of(
      "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
      "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
      "motorcycle", "bicycle"), 255, padded(new int[] {
          0x804080, 0xF423E8, 0x464646, 0x66669C, 0xBE9999, 0x999999, 0xFAAA1E, 0xDCDC00,
          0x6B8E23, 0x98FB98, 0x4682B4, 0xDC143C, 0xFF0000, 0x00008E, 0x000046, 0x003C64,
          0x005064, 0x0000E6, 0x770B20}));

  /** ADE20K (SceneParsing 150): "other" at 0 plus 150 classes, ignore label 0. */
  public static final DatasetInfo ADE20K = new DatasetInfo("ade20k", Ade20k.NAMES, 0,
      padded(Ade20k.COLORS));

  private static final List<DatasetInfo> BUILT_IN = List.of(PASCAL_VOC, CITYSCAPES, ADE20K);

  private final String name;
  private final List<String> classNames;
  private final int ignoreLabel;
  private final int[] palette;

  /**
   * A label set, e.g. for a custom dataset.
   *
   * @param name a short identifier such as {@code "pascal_voc"}
   * @param classNames the class names, indexed by class id; 1 to 256 of them
   * @param ignoreLabel the label value excluded from training loss and evaluation (0..255)
   * @param palette colours as {@code 0xRRGGBB} indexed by id; at least one per class, padded with
   *     the VOC colour map up to 256 entries; {@code null} for the VOC colour map
   */
  public DatasetInfo(String name, List<String> classNames, int ignoreLabel, int[] palette) {
    if (classNames.isEmpty() || classNames.size() > 256) {
      throw new IllegalArgumentException("a label set needs 1..256 classes, got " + classNames.size());
    }
    if (ignoreLabel < 0 || ignoreLabel > 255) {
      throw new IllegalArgumentException("ignore label must be 0..255, got " + ignoreLabel);
    }
    int[] full = vocColormap(256);
    if (palette != null) {
      if (palette.length < classNames.size()) {
        throw new IllegalArgumentException(
            "palette has " + palette.length + " colours for " + classNames.size() + " classes");
      }
      System.arraycopy(palette, 0, full, 0, Math.min(palette.length, 256));
    }
    this.name = name;
    this.classNames = List.copyOf(classNames);
    this.ignoreLabel = ignoreLabel;
    this.palette = full;
  }

  /** The built-in label sets: PASCAL VOC, Cityscapes, ADE20K. */
  public static List<DatasetInfo> builtIn() {
    return BUILT_IN;
  }

  /**
   * A built-in label set by name, case-insensitive: {@code pascal_voc} (also {@code pascal},
   * {@code voc}, {@code pascal_voc_seg}), {@code cityscapes}, {@code ade20k} (also {@code ade}).
   *
   * @throws IllegalArgumentException naming the known sets if {@code name} is none of them
   */
  public static DatasetInfo byName(String name) {
    String n = name.strip().toLowerCase(Locale.ROOT).replace('-', '_');
    switch (n) {
      case "pascal_voc", "pascal", "voc", "pascal_voc_seg", "pascal_voc2012":
        return PASCAL_VOC;
      case "cityscapes":
        return CITYSCAPES;
      case "ade20k", "ade", "ade20k_150", "scene_parsing":
        return ADE20K;
      default:
        throw new IllegalArgumentException(
            "unknown dataset '" + name + "'; known: pascal_voc, cityscapes, ade20k");
    }
  }

  /** The built-in label set with this many classes (21, 19 or 151), if any. */
  public static Optional<DatasetInfo> byNumClasses(int numClasses) {
    return BUILT_IN.stream().filter(d -> d.numClasses() == numClasses).findFirst();
  }

  /**
   * The PASCAL VOC colour map: the bits of the class id are spread over R, G and B, most
   * significant bit first (as in the VOC development kit's {@code labelcolormap.m} and DeepLab's
   * {@code create_pascal_label_colormap}). Class 15 (person) is (192,128,128).
   *
   * @param n how many entries
   * @return colours as {@code 0xRRGGBB}
   */
  public static int[] vocColormap(int n) {
    int[] map = new int[n];
    for (int id = 0; id < n; id++) {
      int r = 0;
      int g = 0;
      int b = 0;
      int c = id;
      for (int shift = 7; shift >= 0; shift--) {
        r |= (c & 1) << shift;
        g |= ((c >> 1) & 1) << shift;
        b |= ((c >> 2) & 1) << shift;
        c >>= 3;
      }
      map[id] = r << 16 | g << 8 | b;
    }
    return map;
  }

  private static int[] padded(int[] colors) {
    return Arrays.copyOf(colors, 256);
  }

  /** The short identifier, e.g. {@code "pascal_voc"}. */
  public String name() {
    return name;
  }

  /** How many classes the model predicts (21, 19, 151 for the built-in sets). */
  public int numClasses() {
    return classNames.size();
  }

  /** The label value excluded from loss and evaluation. */
  public int ignoreLabel() {
    return ignoreLabel;
  }

  /** The class names, indexed by class id. */
  public List<String> classNames() {
    return classNames;
  }

  /** The name of a class id; {@code "ignore"} for the ignore label past the classes. */
  public String className(int id) {
    if (id >= 0 && id < classNames.size()) {
      return classNames.get(id);
    }
    if (id == ignoreLabel) {
      return "ignore";
    }
    throw new IllegalArgumentException("class id " + id + " is outside 0.." + (numClasses() - 1)
        + " of " + name);
  }

  /**
   * The id of a class name (case-insensitive, spaces and underscores alike).
   *
   * @throws IllegalArgumentException if no class has that name
   */
  public int classId(String className) {
    String key = normalise(className);
    for (int i = 0; i < classNames.size(); i++) {
      if (normalise(classNames.get(i)).equals(key)) {
        return i;
      }
    }
    throw new IllegalArgumentException("no class '" + className + "' in " + name);
  }

  private static String normalise(String s) {
    return s.strip().toLowerCase(Locale.ROOT).replace('_', ' ');
  }

  /** The 256-entry palette as {@code 0xRRGGBB} (a copy). */
  public int[] palette() {
    return palette.clone();
  }

  /** The colour of an id 0..255 as {@code 0xRRGGBB}. */
  public int color(int id) {
    if (id < 0 || id > 255) {
      throw new IllegalArgumentException("id " + id + " is outside 0..255");
    }
    return palette[id];
  }

  /** Whether a label value is valid: a class id or the ignore label. */
  public boolean isValidLabel(int value) {
    return (value >= 0 && value < numClasses()) || value == ignoreLabel;
  }

  @Override
  public String toString() {
    return name + " (" + numClasses() + " classes, ignore " + ignoreLabel + ")";
  }
}
