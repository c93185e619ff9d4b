package dev.deeplab.data;

import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.LabelMap;
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
public final class VocDataset implements SegmentationDataset {
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
  public record Sample(String id, Path image, Path label) implements SegmentationDataset.Sample {
    /** The photo's path. */
    @Override
    public String location() {
      return image.toString();
    }
  }

  private final Path root;
  private final String split;
  private final LabeledFiles files;
  private final LabelReader labelReader;

  /**
   * @param root the dataset root (holding {@code JPEGImages}, {@code SegmentationClass}, {@code
   *     ImageSets})
   * @param split the split name, e.g. {@code train}, {@code val}, {@code trainval}
   */
  public VocDataset(Path root, String split) {
    this(root, split, ImageReader.DEFAULT_MAX_PIXELS);
  }

  /**
   * As {@link #VocDataset(Path, String)}, refusing images and labels of more than {@code
   * maxPixels} pixels from their headers, before decoding.
   */
  public VocDataset(Path root, String split, long maxPixels) {
    Names.requirePlain(split);
    this.root = root;
    this.split = split;
    this.files = new LabeledFiles(maxPixels);
    this.labelReader = new LabelReader(maxPixels);
  }

  @Override
  public String description() {
    return "VOC split '" + split + "' of " + root;
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
  @Override
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
    LabeledFiles.checkRange(numClasses, ignoreLabel);
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
        header = ImageHeader.read(s.image(), files.maxPixels());
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
      String size = LabeledFiles.sizeProblem(s.label().toString(),
          s.image().getFileName().toString(), header.width(), header.height(), label);
      if (size != null) {
        problems.add(size);
      }
    }
    String values = LabeledFiles.valueProblem(s.label().toString(), label, numClasses,
        ignoreLabel);
    if (values != null) {
      problems.add(values);
    }
  }

  /** {@link #load(SegmentationDataset.Sample, int, int)} with the VOC ignore label 255. */
  public LoadedSample load(SegmentationDataset.Sample sample, int numClasses) throws DatasetException {
    return load(sample, numClasses, VOC_IGNORE_LABEL);
  }

  /** {@link #load(SegmentationDataset.Sample, int, int)} with a label set's class count and ignore label. */
  public LoadedSample load(SegmentationDataset.Sample sample, LabelSet labels) throws DatasetException {
    return load(sample, labels.numClasses(), labels.ignoreLabel());
  }

  @Override
  public LoadedSample load(SegmentationDataset.Sample sample, int numClasses, int ignoreLabel)
      throws DatasetException {
    Sample s = own(sample);
    return files.load(s, s.image(), s.label(), l -> l, numClasses, ignoreLabel);
  }

  @Override
  public ImageSize imageSize(SegmentationDataset.Sample sample) throws DatasetException {
    return files.imageSize(own(sample).image());
  }

  private static Sample own(SegmentationDataset.Sample sample) {
    if (sample instanceof Sample s) {
      return s;
    }
    throw new IllegalArgumentException("not a VOC sample: " + sample.location());
  }
}
