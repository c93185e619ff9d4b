package dev.deeplab.model;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
 * <p>Custom label sets come from a label file ({@link #read}) or are given in code; a model whose
 * classes nobody named gets {@link #unnamed} names, never those of a built-in set with the same
 * class count.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class LabelSet {

  /** PASCAL VOC 2012 segmentation: 21 classes (background + 20 objects), ignore label 255. */
  public static final LabelSet PASCAL_VOC = new LabelSet("pascal_voc", List.of(
      "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair",
      "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
      "train", "tvmonitor"), 255, vocColormap(256));

  /** Cityscapes: the 19 train-id classes, ignore label 255. */
  public static final LabelSet CITYSCAPES = new LabelSet("cityscapes", List.of(
      "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
      "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train",
      "motorcycle", "bicycle"), 255, padded(new int[] {
          0x804080, 0xF423E8, 0x464646, 0x66669C, 0xBE9999, 0x999999, 0xFAAA1E, 0xDCDC00,
          0x6B8E23, 0x98FB98, 0x4682B4, 0xDC143C, 0xFF0000, 0x00008E, 0x000046, 0x003C64,
          0x005064, 0x0000E6, 0x770B20}));

  /** ADE20K (SceneParsing 150): "other" at 0 plus 150 classes, ignore label 0. */
  public static final LabelSet ADE20K = new LabelSet("ade20k", Ade20k.NAMES, 0,
      padded(Ade20k.COLORS));

  private static final List<LabelSet> BUILT_IN = List.of(PASCAL_VOC, CITYSCAPES, ADE20K);

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
  public LabelSet(String name, List<String> classNames, int ignoreLabel, int[] palette) {
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

  /** The name of {@link #unnamed} label sets. */
  public static final String UNNAMED = "unnamed";

  /** The largest label file {@link #read} accepts (256 classes need far less). */
  private static final long MAX_FILE_BYTES = 1 << 20;

  private static final Pattern COLOR = Pattern.compile("^(.*?)\\s+#([0-9a-fA-F]{6})$");

  /**
   * Classes known only by number: {@code class_0, class_1, ...}, ignore label 255, the VOC colour
   * map; named {@value #UNNAMED}.
   */
  public static LabelSet unnamed(int numClasses) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < numClasses; i++) {
      names.add("class_" + i);
    }
    return new LabelSet(UNNAMED, names, 255, null);
  }

  /**
   * A built-in label set by name ({@link #byName}), or else a label file ({@link #read}).
   *
   * @throws IllegalArgumentException if it is neither, or the file is not a valid label file
   */
  public static LabelSet of(String nameOrFile) {
    Path file = Path.of(nameOrFile);
    if (Files.isRegularFile(file)) {
      try {
        return read(file);
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read label file " + file + ": "
            + e.getMessage(), e);
      }
    }
    try {
      return byName(nameOrFile);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--labels " + nameOrFile + ": no such file, and not a "
          + "built-in label set (pascal_voc, cityscapes, ade20k)");
    }
  }

  /**
   * Reads a label file: UTF-8 text, one class per line in class-id order, the class name
   * optionally followed by whitespace and a colour {@code #RRGGBB}, e.g. {@code traffic light
   * #FAAA1E}. Lines that are empty or start with {@code #} are skipped. Classes without a colour
   * take the VOC colour map's; the ignore label is 255. The set is named after the file (without
   * extension).
   *
   * @throws IllegalArgumentException if the file has no class, more than 256, a duplicate name,
   *     or is not UTF-8 text
   * @throws IOException if it cannot be read
   */
  public static LabelSet read(Path file) throws IOException {
    if (Files.size(file) > MAX_FILE_BYTES) {
      throw new IllegalArgumentException(file + " is not a label file (over 1 MB)");
    }
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (MalformedInputException e) {
      throw new IllegalArgumentException(file + " is not a UTF-8 label file");
    }
    List<String> names = new ArrayList<>();
    List<Integer> colors = new ArrayList<>();
    for (String raw : lines) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      Matcher m = COLOR.matcher(line);
      if (m.matches()) {
        names.add(m.group(1).strip());
        colors.add(Integer.parseInt(m.group(2), 16));
      } else {
        names.add(line);
        colors.add(null);
      }
    }
    if (names.isEmpty()) {
      throw new IllegalArgumentException(file + " names no class (one class name per line)");
    }
    if (names.size() > 256) {
      throw new IllegalArgumentException(file + " names " + names.size()
          + " classes; at most 256 fit 8-bit masks");
    }
    for (int i = 0; i < names.size(); i++) {
      for (int j = 0; j < i; j++) {
        if (normalise(names.get(i)).equals(normalise(names.get(j)))) {
          throw new IllegalArgumentException(file + ": class " + i + " '" + names.get(i)
              + "' repeats class " + j);
        }
      }
    }
    int[] palette = vocColormap(256);
    for (int i = 0; i < colors.size(); i++) {
      if (colors.get(i) != null) {
        palette[i] = colors.get(i);
      }
    }
    String fileName = file.getFileName().toString();
    int dot = fileName.lastIndexOf('.');
    return new LabelSet(dot > 0 ? fileName.substring(0, dot) : fileName, names, 255, palette);
  }

  /** The label file text of this set ({@link #read} reads it back): names with colours. */
  public String toLabelFile() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < classNames.size(); i++) {
      sb.append(classNames.get(i)).append(String.format(Locale.ROOT, " #%06X%n", palette[i]));
    }
    return sb.toString();
  }

  /** The built-in label sets: PASCAL VOC, Cityscapes, ADE20K. */
  public static List<LabelSet> builtIn() {
    return BUILT_IN;
  }

  /**
   * A built-in label set by name, case-insensitive: {@code pascal_voc} (also {@code pascal},
   * {@code voc}, {@code pascal_voc_seg}), {@code cityscapes}, {@code ade20k} (also {@code ade}).
   *
   * @throws IllegalArgumentException naming the known sets if {@code name} is none of them
   */
  public static LabelSet byName(String name) {
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
  public boolean equals(Object o) {
    return o instanceof LabelSet l && name.equals(l.name) && classNames.equals(l.classNames)
        && ignoreLabel == l.ignoreLabel && Arrays.equals(palette, l.palette);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(name, classNames, ignoreLabel, Arrays.hashCode(palette));
  }

  @Override
  public String toString() {
    return name + " (" + numClasses() + " classes, ignore " + ignoreLabel + ")";
  }
}
