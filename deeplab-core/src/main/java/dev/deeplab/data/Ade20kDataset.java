package dev.deeplab.data;

import dev.deeplab.image.ImageReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * One split of ADE20K in the MIT Scene Parsing benchmark layout, {@code ADEChallengeData2016}
 * (Zhou et al., "Scene Parsing through ADE20K Dataset", CVPR 2017), the layout the official
 * converter {@code research/deeplab/datasets/build_ade20k_data.py} (tensorflow/models) reads:
 *
 * <pre>
 * root/images/&lt;training|validation&gt;/&lt;name&gt;.jpg
 * root/annotations/&lt;training|validation&gt;/&lt;name&gt;.png   class ids 0..150
 * </pre>
 *
 * <p>Labels are used as they are: 150 classes 1..150 and 0 for "other" (unlabelled). The official
 * setup ({@code data_generator.py}) counts 151 classes with ignore label 0, so with {@link
 * dev.deeplab.model.LabelSet#ADE20K} unlabelled pixels carry no loss and are not scored.
 *
 * <p>The split names {@code train} and {@code val} (those of {@code data_generator.py}) stand for
 * the folders {@code training} and {@code validation}. Samples are listed in file-name order.
 * Instances are immutable and thread-safe.
 */
public final class Ade20kDataset implements SegmentationDataset {
  /** ADE20K's ignore label: 0, "other". */
  public static final int IGNORE_LABEL = 0;

  /**
   * A sample's files.
   *
   * @param id the file name without extension, e.g. {@code ADE_val_00000001}
   * @param image the photo
   * @param label the class-id PNG
   */
  public record Sample(String id, Path image, Path label) implements SegmentationDataset.Sample {
    /** The photo's path. */
    @Override
    public String location() {
      return image.toString();
    }
  }

  private final Path root;
  private final String folder;
  private final LabeledFiles files;

  /**
   * @param root the {@code ADEChallengeData2016} directory
   * @param split {@code training} or {@code validation} (or {@code train}, {@code val})
   */
  public Ade20kDataset(Path root, String split) {
    this(root, split, ImageReader.DEFAULT_MAX_PIXELS);
  }

  /** As {@link #Ade20kDataset(Path, String)} with a pixel limit checked from headers. */
  public Ade20kDataset(Path root, String split, long maxPixels) {
    Names.requirePlain(split);
    this.root = root;
    this.folder = switch (split) {
      case "train" -> "training";
      case "val" -> "validation";
      default -> split;
    };
    this.files = new LabeledFiles(maxPixels);
  }

  @Override
  public String description() {
    return "ADE20K split '" + folder + "' of " + root;
  }

  /**
   * The photos of {@code images/<split>/} (JPEG or PNG), in name order, with the label of the same
   * name in {@code annotations/<split>/}.
   *
   * @throws DatasetException if the folder is missing or holds no photo
   */
  @Override
  public List<Sample> samples() throws DatasetException {
    Path images = root.resolve("images").resolve(folder);
    Path labels = root.resolve("annotations").resolve(folder);
    List<Path> found;
    try (Stream<Path> list = Files.list(images)) {
      found = list.filter(p -> isPhoto(p.getFileName().toString())).filter(Files::isRegularFile)
          .sorted().toList();
    } catch (NoSuchFileException e) {
      throw new DatasetException(images + ": directory not found (expected images/" + folder
          + "/*.jpg under " + root + ")", e);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new DatasetException(images + ": cannot list (" + e.getMessage() + ")", e);
    }
    if (found.isEmpty()) {
      throw new DatasetException(images + ": no .jpg photos");
    }
    List<Sample> samples = new ArrayList<>();
    for (Path image : found) {
      String name = image.getFileName().toString();
      String id = name.substring(0, name.lastIndexOf('.'));
      samples.add(new Sample(id, image, labels.resolve(id + ".png")));
    }
    return samples;
  }

  private static boolean isPhoto(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".png");
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
    throw new IllegalArgumentException("not an ADE20K sample: " + sample.location());
  }
}
