package dev.deeplab.data;

import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.image.ImageHeader;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.model.LabelSet;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One split of a dataset in the PASCAL VOC 2012 segmentation layout (Everingham et al., "The
 * PASCAL Visual Object Classes Challenge", IJCV 2010; the layout the official DeepLab converter
 * {@code research/deeplab/datasets/build_voc2012_data.py} reads):
 *
 * <pre>
 * root/JPEGImages/&lt;id&gt;.jpg               the photo
 * root/SegmentationClass/&lt;id&gt;.png        palette PNG of class ids (255 = void)
 * root/ImageSets/Segmentation/&lt;split&gt;.txt one id per line
 * </pre>
 *
 * <p>When {@code <id>.jpg} is absent, {@code <id>.jpeg} and {@code <id>.png} are tried, so
 * custom datasets in this layout may hold PNG photos (the content decides the format anyway).
 *
 * <p>{@link #validate} lists every problem without stopping at the first; {@link #load} throws a
 * {@link DatasetException} with a one-line message for a bad sample, so a training loop can count
 * and skip it. Instances are immutable and thread-safe.
 */
public final class VocDataset {
  /** The standard VOC ignore ("void") label. */
  public static final int VOC_IGNORE_LABEL = 255;

  private static final String[] IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png"};

  /**
   * A sample's files.
   *
   * @param id the id from the split file
   * @param image the photo ({@code JPEGImages/<id>.jpg}; may not exist)
   * @param label the class-id PNG ({@code SegmentationClass/<id>.png}; may not exist)
   */
  public record Sample(String id, Path image, Path label) {}

  /**
   * A decoded sample whose label matches its image in size and holds only valid values.
   *
   * @param sample the files it came from
   * @param image the photo
   * @param label the class ids, same size as {@code image}
   */
  public record LoadedSample(Sample sample, RgbImage image, LabelMap label) {}

  private final Path root;
  private final String split;
  private final ImageReader imageReader;
  private final LabelReader labelReader;

  /**
   * @param root the dataset root (holding {@code JPEGImages}, {@code SegmentationClass}, {@code
   *     ImageSets})
   * @param split the split name, e.g. {@code train}, {@code val}, {@code trainval}
   */
  public VocDataset(Path root, String split) {
    this(root, split, new ImageReader(), new LabelReader());
  }

  /**
   * As {@link #VocDataset(Path, String)}, refusing images and labels of more than {@code
   * maxPixels} pixels from their headers, before decoding.
   */
  public VocDataset(Path root, String split, long maxPixels) {
    this(root, split, new ImageReader(maxPixels), new LabelReader(maxPixels));
  }

  VocDataset(Path root, String split, ImageReader imageReader, LabelReader labelReader) {
    if (split.isBlank() || split.contains("/") || split.contains("\\") || split.contains("..")) {
      throw new IllegalArgumentException("split must be a plain name such as 'train', got '" + split + "'");
    }
    this.root = root;
    this.split = split;
    this.imageReader = imageReader;
    this.labelReader = labelReader;
  }

  /** The dataset root. */
  public Path root() {
    return root;
  }

  /** The split name. */
  public String split() {
    return split;
  }

  /** {@code root/ImageSets/Segmentation/<split>.txt}. */
  public Path splitFile() {
    return root.resolve("ImageSets").resolve("Segmentation").resolve(split + ".txt");
  }

  /**
   * The samples listed in the split file, in file order. Only the split file is read; the images
   * and labels may not exist (see {@link #validate}).
   *
   * @throws DatasetException if the split file is missing, unreadable, empty, or lists an id that
   *     is not a plain file name
   */
  public List<Sample> samples() throws DatasetException {
    Path file = splitFile();
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new DatasetException(file + ": split file not found (expected ImageSets/Segmentation/"
          + split + ".txt under " + root + ")", e);
    } catch (IOException e) {
      throw new DatasetException(file + ": cannot read split file (" + e + ")", e);
    }
    List<Sample> samples = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String id = line.split("\\s+")[0];
      if (id.contains("/") || id.contains("\\") || id.equals("..") || id.equals(".")) {
        throw new DatasetException(file + ": line " + (i + 1) + ": '" + id + "' is not a plain sample id");
      }
      samples.add(sampleFor(id));
    }
    if (samples.isEmpty()) {
      throw new DatasetException(file + ": split is empty (no sample ids)");
    }
    return samples;
  }

  private Sample sampleFor(String id) {
    Path images = root.resolve("JPEGImages");
    Path image = images.resolve(id + IMAGE_EXTENSIONS[0]);
    for (String ext : IMAGE_EXTENSIONS) {
      Path candidate = images.resolve(id + ext);
      if (Files.isRegularFile(candidate)) {
        image = candidate;
        break;
      }
    }
    return new Sample(id, image, root.resolve("SegmentationClass").resolve(id + ".png"));
  }

  /** {@link #validate(int, int)} with the VOC ignore label 255. */
  public List<String> validate(int numClasses) {
    return validate(numClasses, VOC_IGNORE_LABEL);
  }

  /** {@link #validate(int, int)} with a label set's class count and ignore label. */
  public List<String> validate(LabelSet labels) {
    return validate(labels.numClasses(), labels.ignoreLabel());
  }

  /**
   * Checks the whole split and lists every problem found, one line each, naming the file: missing
   * or empty split file, duplicate ids, missing or unreadable image or label, label size different
   * from the image size, label values outside {@code [0, numClasses)} other than {@code
   * ignoreLabel}. Images are checked from their headers only (format and size); corrupt pixel data
   * in a photo shows up when the sample is {@link #load loaded}.
   *
   * @return the problems; empty when the split is clean
   */
  public List<String> validate(int numClasses, int ignoreLabel) {
    checkRange(numClasses, ignoreLabel);
    List<String> problems = new ArrayList<>();
    List<Sample> samples;
    try {
      samples = samples();
    } catch (DatasetException e) {
      problems.add(e.getMessage());
      return problems;
    }
    Set<String> seen = new HashSet<>();
    for (Sample s : samples) {
      if (!seen.add(s.id())) {
        problems.add(splitFile() + ": sample id '" + s.id() + "' is listed more than once");
        continue;
      }
      validateSample(s, numClasses, ignoreLabel, problems);
    }
    return problems;
  }

  private void validateSample(Sample s, int numClasses, int ignoreLabel, List<String> problems) {
    ImageHeader header = null;
    if (!Files.exists(s.image())) {
      problems.add(s.image() + ": image not found (sample " + s.id() + ")");
    } else {
      try {
        header = ImageHeader.read(s.image(), imageReader.maxPixels());
      } catch (ImageFormatException e) {
        problems.add(e.getMessage());
      }
    }
    if (!Files.exists(s.label())) {
      problems.add(s.label() + ": label not found (sample " + s.id() + ")");
      return;
    }
    LabelMap label;
    try {
      label = labelReader.read(s.label());
    } catch (ImageFormatException e) {
      problems.add(e.getMessage());
      return;
    }
    if (header != null) {
      String size = checkSize(s, header.width(), header.height(), label);
      if (size != null) {
        problems.add(size);
      }
    }
    String values = checkValues(s, label, numClasses, ignoreLabel);
    if (values != null) {
      problems.add(values);
    }
  }

  /** {@link #load(Sample, int, int)} with the VOC ignore label 255. */
  public LoadedSample load(Sample sample, int numClasses) throws DatasetException {
    return load(sample, numClasses, VOC_IGNORE_LABEL);
  }

  /** {@link #load(Sample, int, int)} with a label set's class count and ignore label. */
  public LoadedSample load(Sample sample, LabelSet labels) throws DatasetException {
    return load(sample, labels.numClasses(), labels.ignoreLabel());
  }

  /**
   * Decodes a sample and checks it: label the same size as the image, label values in {@code [0,
   * numClasses)} or equal to {@code ignoreLabel}.
   *
   * @throws DatasetException with a one-line message naming the offending file
   */
  public LoadedSample load(Sample sample, int numClasses, int ignoreLabel) throws DatasetException {
    checkRange(numClasses, ignoreLabel);
    if (!Files.exists(sample.image())) {
      throw new DatasetException(sample.image() + ": image not found (sample " + sample.id() + ")");
    }
    if (!Files.exists(sample.label())) {
      throw new DatasetException(sample.label() + ": label not found (sample " + sample.id() + ")");
    }
    RgbImage image;
    LabelMap label;
    try {
      image = imageReader.read(sample.image());
      label = labelReader.read(sample.label());
    } catch (ImageFormatException e) {
      throw new DatasetException(e.getMessage(), e);
    }
    String problem = checkSize(sample, image.width(), image.height(), label);
    if (problem == null) {
      problem = checkValues(sample, label, numClasses, ignoreLabel);
    }
    if (problem != null) {
      throw new DatasetException(problem);
    }
    return new LoadedSample(sample, image, label);
  }

  private static void checkRange(int numClasses, int ignoreLabel) {
    if (numClasses < 1 || numClasses > 256) {
      throw new IllegalArgumentException("numClasses must be 1..256, got " + numClasses);
    }
    if (ignoreLabel < 0 || ignoreLabel > 255) {
      throw new IllegalArgumentException("ignoreLabel must be 0..255, got " + ignoreLabel);
    }
  }

  private static String checkSize(Sample s, int width, int height, LabelMap label) {
    if (label.width() == width && label.height() == height) {
      return null;
    }
    return s.label() + ": label is " + label.width() + "x" + label.height() + " but image "
        + s.image().getFileName() + " is " + width + "x" + height;
  }

  /** Describes out-of-range label values, or returns {@code null} if all are valid. */
  static String checkValues(Sample s, LabelMap label, int numClasses, int ignoreLabel) {
    long[] histogram = label.histogram();
    StringBuilder bad = new StringBuilder();
    int badValues = 0;
    for (int v = numClasses; v < histogram.length; v++) {
      if (histogram[v] == 0 || v == ignoreLabel) {
        continue;
      }
      if (badValues < 5) {
        bad.append(badValues == 0 ? "" : ", ").append(v).append(" (").append(histogram[v]).append(" px)");
      }
      badValues++;
    }
    if (badValues == 0) {
      return null;
    }
    if (badValues > 5) {
      bad.append(", and ").append(badValues - 5).append(" more");
    }
    return s.label() + ": label values " + bad + " outside 0.." + (numClasses - 1)
        + " and not the ignore label " + ignoreLabel;
  }
}
