package dev.deeplab.data;

import dev.deeplab.image.ImageReader;
import dev.deeplab.image.LabelMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * One split of Cityscapes (Cordts et al., "The Cityscapes Dataset for Semantic Urban Scene
 * Understanding", CVPR 2016) in its own layout, with the fine annotations:
 *
 * <pre>
 * root/leftImg8bit/&lt;split&gt;/&lt;city&gt;/&lt;name&gt;_leftImg8bit.png
 * root/gtFine/&lt;split&gt;/&lt;city&gt;/&lt;name&gt;_gtFine_labelTrainIds.png   (preferred when present)
 * root/gtFine/&lt;split&gt;/&lt;city&gt;/&lt;name&gt;_gtFine_labelIds.png        (otherwise)
 * </pre>
 *
 * <p>The official DeepLab converter ({@code research/deeplab/datasets/build_cityscapes_data.py} in
 * tensorflow/models) reads the {@code labelTrainIds} PNGs that cityscapesScripts' {@code
 * createTrainIdLabelImgs.py} makes. Without them, the {@code labelIds} PNGs shipped with the
 * dataset are mapped here with the same table ({@code cityscapesscripts/helpers/labels.py} in
 * mcordts/cityscapesScripts): the 19 evaluated classes become train ids 0..18 and every other
 * label id (void classes 0..6, parking, rail track, guard rail, bridge, tunnel, polegroup,
 * caravan, trailer, and license plate -1, stored as 255) becomes the ignore label 255. {@link
 * #toLabelIds} maps predictions back to label ids for the Cityscapes evaluation server.
 *
 * <p>Samples are listed in path order. Instances are immutable and thread-safe.
 */
public final class CityscapesDataset implements SegmentationDataset {
  /** The ignore label of Cityscapes train ids. */
  public static final int IGNORE_LABEL = 255;

  private static final String IMAGE_SUFFIX = "_leftImg8bit.png";
  private static final String TRAIN_IDS_SUFFIX = "_gtFine_labelTrainIds.png";
  private static final String LABEL_IDS_SUFFIX = "_gtFine_labelIds.png";

  /**
   * The label id of each train id 0..18 (labels.py, the evaluated classes in table order: road,
   * sidewalk, building, wall, fence, pole, traffic light, traffic sign, vegetation, terrain, sky,
   * person, rider, car, truck, bus, train, motorcycle, bicycle).
   */
  private static final int[] LABEL_ID_OF_TRAIN_ID =
      {7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33};

  /** The largest label id of labels.py. */
  private static final int MAX_LABEL_ID = 33;

  /** The train id of each label id 0..255; -1 for values that are no Cityscapes label id. */
  private static final int[] TRAIN_ID_OF_LABEL_ID = new int[256];

  static {
    Arrays.fill(TRAIN_ID_OF_LABEL_ID, -1);
    Arrays.fill(TRAIN_ID_OF_LABEL_ID, 0, MAX_LABEL_ID + 1, IGNORE_LABEL);
    TRAIN_ID_OF_LABEL_ID[255] = IGNORE_LABEL; // license plate, id -1 as an unsigned byte
    for (int t = 0; t < LABEL_ID_OF_TRAIN_ID.length; t++) {
      TRAIN_ID_OF_LABEL_ID[LABEL_ID_OF_TRAIN_ID[t]] = t;
    }
  }

  /**
   * A sample's files.
   *
   * @param id the image name without {@code _leftImg8bit.png}, e.g. {@code
   *     frankfurt_000000_000294}
   * @param image the photo
   * @param label the label PNG: {@code labelTrainIds} when present, else {@code labelIds}
   * @param labelIds whether {@code label} holds label ids (mapped to train ids on load)
   */
  public record Sample(String id, Path image, Path label, boolean labelIds)
      implements SegmentationDataset.Sample {
    /** The photo's path. */
    @Override
    public String location() {
      return image.toString();
    }
  }

  private final Path root;
  private final String split;
  private final LabeledFiles files;

  /**
   * @param root the dataset root (holding {@code leftImg8bit} and {@code gtFine})
   * @param split {@code train}, {@code val} or {@code test}
   */
  public CityscapesDataset(Path root, String split) {
    this(root, split, ImageReader.DEFAULT_MAX_PIXELS);
  }

  /** As {@link #CityscapesDataset(Path, String)} with a pixel limit checked from headers. */
  public CityscapesDataset(Path root, String split, long maxPixels) {
    Names.requirePlain(split);
    this.root = root;
    this.split = split;
    this.files = new LabeledFiles(maxPixels);
  }

  @Override
  public String description() {
    return "Cityscapes split '" + split + "' of " + root;
  }

  /**
   * The photos under {@code leftImg8bit/<split>/<city>/}, in path order, with their labels.
   *
   * @throws DatasetException if the directory is missing or holds no {@code *_leftImg8bit.png}
   */
  @Override
  public List<Sample> samples() throws DatasetException {
    Path images = root.resolve("leftImg8bit").resolve(split);
    Path labels = root.resolve("gtFine").resolve(split);
    List<Path> found;
    try (Stream<Path> walk = Files.walk(images, 2)) {
      found = walk.filter(p -> p.getFileName().toString().endsWith(IMAGE_SUFFIX))
          .filter(Files::isRegularFile).sorted().toList();
    } catch (NoSuchFileException e) {
      throw new DatasetException(images + ": directory not found (expected leftImg8bit/" + split
          + "/<city>/*" + IMAGE_SUFFIX + " under " + root + ")", e);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new DatasetException(images + ": cannot list (" + e.getMessage() + ")", e);
    }
    if (found.isEmpty()) {
      throw new DatasetException(images + ": no *" + IMAGE_SUFFIX + " files in city folders");
    }
    List<Sample> samples = new ArrayList<>();
    for (Path image : found) {
      String name = image.getFileName().toString();
      String id = name.substring(0, name.length() - IMAGE_SUFFIX.length());
      Path dir = labels.resolve(images.relativize(image.getParent()));
      Path trainIds = dir.resolve(id + TRAIN_IDS_SUFFIX);
      boolean haveTrainIds = Files.isRegularFile(trainIds);
      samples.add(new Sample(id, image, haveTrainIds ? trainIds : dir.resolve(id + LABEL_IDS_SUFFIX),
          !haveTrainIds));
    }
    return samples;
  }

  @Override
  public LoadedSample load(SegmentationDataset.Sample sample, int numClasses, int ignoreLabel)
      throws DatasetException {
    Sample s = own(sample);
    return files.load(s, s.image(), s.label(),
        s.labelIds() ? CityscapesDataset::toTrainIds : l -> l, numClasses, ignoreLabel);
  }

  @Override
  public ImageSize imageSize(SegmentationDataset.Sample sample) throws DatasetException {
    return files.imageSize(own(sample).image());
  }

  private static Sample own(SegmentationDataset.Sample sample) {
    if (sample instanceof Sample s) {
      return s;
    }
    throw new IllegalArgumentException("not a Cityscapes sample: " + sample.location());
  }

  /** The train id (0..18, or 255 for ignored classes) of a Cityscapes label id (-1..33). */
  public static int trainId(int labelId) {
    int v = labelId == -1 ? 255 : labelId;
    if (v < 0 || v > 255 || TRAIN_ID_OF_LABEL_ID[v] < 0) {
      throw new IllegalArgumentException(labelId + " is not a Cityscapes label id (-1..33)");
    }
    return TRAIN_ID_OF_LABEL_ID[v];
  }

  /** The label id (7..33) of an evaluated class's train id (0..18). */
  public static int labelId(int trainId) {
    if (trainId < 0 || trainId >= LABEL_ID_OF_TRAIN_ID.length) {
      throw new IllegalArgumentException(trainId + " is not a Cityscapes train id (0..18)");
    }
    return LABEL_ID_OF_TRAIN_ID[trainId];
  }

  /**
   * A {@code labelIds} map as train ids, as {@code createTrainIdLabelImgs.py} writes them.
   *
   * @throws IllegalArgumentException naming the first value that is no Cityscapes label id
   */
  public static LabelMap toTrainIds(LabelMap labelIds) {
    byte[] in = labelIds.ids();
    byte[] out = new byte[in.length];
    for (int i = 0; i < in.length; i++) {
      int t = TRAIN_ID_OF_LABEL_ID[in[i] & 0xFF];
      if (t < 0) {
        throw new IllegalArgumentException("value " + (in[i] & 0xFF) + " at ("
            + i % labelIds.width() + "," + i / labelIds.width()
            + ") is not a Cityscapes label id (0..33, or 255 for -1)");
      }
      out[i] = (byte) t;
    }
    return new LabelMap(labelIds.width(), labelIds.height(), out);
  }

  /**
   * Predicted train ids (0..18) as label ids, for the Cityscapes evaluation server, which expects
   * {@code <name>*.png} files of label ids (cityscapesScripts {@code evalPixelLevelSemanticLabeling.py}).
   *
   * @throws IllegalArgumentException naming the first value that is not a train id 0..18
   */
  public static LabelMap toLabelIds(LabelMap trainIds) {
    byte[] in = trainIds.ids();
    byte[] out = new byte[in.length];
    for (int i = 0; i < in.length; i++) {
      int t = in[i] & 0xFF;
      if (t >= LABEL_ID_OF_TRAIN_ID.length) {
        throw new IllegalArgumentException("value " + t + " at (" + i % trainIds.width() + ","
            + i / trainIds.width() + ") is not a Cityscapes train id (0..18)");
      }
      out[i] = (byte) LABEL_ID_OF_TRAIN_ID[t];
    }
    return new LabelMap(trainIds.width(), trainIds.height(), out);
  }
}
