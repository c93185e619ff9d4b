package dev.deeplab.data;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.deeplab.image.ImageFormatException;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.image.ImageDecoder;
import dev.deeplab.internal.image.ImageHeader;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.internal.io.TfRecords;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;

/**
 * A split stored as TFRecord shards of {@code tf.train.Example}s in the schema of the official
 * converters ({@code research/deeplab/datasets/build_data.py} in tensorflow/models, used by {@code
 * build_voc2012_data.py}, {@code build_cityscapes_data.py} and {@code build_ade20k_data.py}):
 *
 * <pre>
 * image/encoded                     bytes   the photo (JPEG or PNG)
 * image/filename                    bytes   its file name (the sample id here)
 * image/format                      bytes   jpeg or png
 * image/height, image/width         int64   its size
 * image/channels                    int64   3
 * image/segmentation/class/encoded  bytes   the label PNG, training class ids
 * image/segmentation/class/format   bytes   png
 * </pre>
 *
 * <p>The shards are the files matching a glob in one directory, e.g. {@code
 * data/tfrecord/train-*.tfrecord}, read in name order. Listing reads every record once, checking
 * the framing and both CRC-32Cs ({@link TfRecords}), the Example and the photo's header (declared
 * size, pixel limit) without decoding pixels. A broken length header stops the listing (the rest of
 * the shard cannot be found); any other problem of a record is reported, in one line naming the
 * shard and record index, when that sample is {@link #load loaded}, so that bad records can be
 * skipped.
 *
 * <p>Immutable and thread-safe; the listing is made once and kept (a few dozen bytes per record).
 */
public final class TfRecordDataset implements SegmentationDataset {
  private static final String ENCODED = "image/encoded";
  private static final String FILENAME = "image/filename";
  private static final String HEIGHT = "image/height";
  private static final String WIDTH = "image/width";
  private static final String CHANNELS = "image/channels";
  private static final String LABEL = "image/segmentation/class/encoded";

  /** A record of a shard. */
  public static final class Sample implements SegmentationDataset.Sample {
    private final String id;
    private final Path shard;
    private final int index;
    private final TfRecords.Position position;
    private final ImageSize size;
    private final String problem;

    private Sample(String id, Path shard, int index, TfRecords.Position position, ImageSize size,
        String problem) {
      this.id = id;
      this.shard = shard;
      this.index = index;
      this.position = position;
      this.size = size;
      this.problem = problem;
    }

    /** {@code image/filename}, or {@code <shard>#<index>} when absent or not unique. */
    @Override
    public String id() {
      return id;
    }

    /** The shard file. */
    public Path shard() {
      return shard;
    }

    /** The record's index in its shard, from 0. */
    public int index() {
      return index;
    }

    /** {@code <shard>: record <index>}. */
    @Override
    public String location() {
      return shard + ": record " + index;
    }

    @Override
    public String toString() {
      return id + " (" + location() + ")";
    }
  }

  private final Path directory;
  private final String glob;
  private final ImageReader imageReader;
  private final LabelReader labelReader;
  private volatile List<Sample> listing;

  /**
   * @param pattern a shard file, or a glob over file names in one directory, e.g. {@code
   *     data/train-*.tfrecord} (the directory part may not hold wildcards)
   */
  public TfRecordDataset(String pattern) {
    this(pattern, ImageReader.DEFAULT_MAX_PIXELS);
  }

  /** As {@link #TfRecordDataset(String)}, refusing photos over {@code maxPixels} from headers. */
  public TfRecordDataset(String pattern, long maxPixels) {
    Path p = Path.of(pattern);
    Path parent = p.getParent();
    if (parent != null && isPattern(parent.toString())) {
      throw new IllegalArgumentException("TFRecord pattern " + pattern
          + ": wildcards are only allowed in the file name");
    }
    this.directory = parent != null ? parent : Path.of("");
    this.glob = p.getFileName().toString();
    this.imageReader = new ImageReader(maxPixels);
    this.labelReader = new LabelReader(maxPixels);
  }

  /** Whether {@code data} names TFRecord shards: holds a wildcard or ends in {@code .tfrecord}. */
  public static boolean isPattern(String data) {
    return data.contains("*") || data.contains("?") || data.contains("[") || data.contains("{")
        || data.endsWith(".tfrecord");
  }

  @Override
  public String description() {
    return "TFRecord shards " + directory.resolve(glob);
  }

  /** The shard files, in name order. */
  public List<Path> shards() throws DatasetException {
    PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
    List<Path> shards;
    try (Stream<Path> list = Files.list(directory.toString().isEmpty() ? Path.of(".") : directory)) {
      shards = list.filter(f -> matcher.matches(f.getFileName())).filter(Files::isRegularFile)
          .sorted().toList();
    } catch (NoSuchFileException e) {
      throw new DatasetException(directory + ": directory not found (TFRecord pattern " + glob
          + ")", e);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new DatasetException(directory + ": cannot list (" + e.getMessage() + ")", e);
    }
    if (shards.isEmpty()) {
      throw new DatasetException(directory.resolve(glob) + ": no file matches");
    }
    return shards;
  }

  @Override
  public List<Sample> samples() throws DatasetException {
    List<Sample> l = listing;
    if (l == null) {
      synchronized (this) {
        if (listing == null) {
          listing = list();
        }
        l = listing;
      }
    }
    return l;
  }

  private List<Sample> list() throws DatasetException {
    List<Sample> samples = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<String> repeated = new HashSet<>();
    List<String> fileNames = new ArrayList<>();
    for (Path shard : shards()) {
      String name = shard.toString();
      try (FileChannel in = FileChannel.open(shard, StandardOpenOption.READ)) {
        long at = 0;
        for (int i = 0; ; i++) {
          TfRecords.Position p = TfRecords.header(in, name, i, at);
          if (p == null) {
            break;
          }
          at = TfRecords.next(p);
          String fileName = null;
          ImageSize size = null;
          String problem = null;
          try {
            Example example = parse(TfRecords.data(in, name, i, p), name, i);
            fileName = string(example, FILENAME);
            size = declaredSize(example, name, i);
          } catch (IOException e) {
            problem = e.getMessage();
          }
          if (fileName != null && !names.add(fileName)) {
            repeated.add(fileName);
          }
          fileNames.add(fileName);
          samples.add(new Sample(null, shard, i, p, size, problem));
        }
      } catch (IOException e) {
        throw new DatasetException(e.getMessage(), e);
      }
    }
    if (samples.isEmpty()) {
      throw new DatasetException(description() + ": the shards hold no record");
    }
    List<Sample> named = new ArrayList<>(samples.size());
    for (int k = 0; k < samples.size(); k++) {
      Sample s = samples.get(k);
      String f = fileNames.get(k);
      String id = f != null && !repeated.contains(f) ? f : s.shard.getFileName() + "#" + s.index;
      named.add(new Sample(id, s.shard, s.index, s.position, s.size, s.problem));
    }
    return List.copyOf(named);
  }

  private static Example parse(byte[] data, String name, int index) throws IOException {
    try {
      return Example.parseFrom(data);
    } catch (InvalidProtocolBufferException e) {
      throw new IOException(name + ": record " + index + ": not a tf.train.Example ("
          + e.getMessage() + ")", e);
    }
  }

  /**
   * The photo's size from its header, checked against the pixel limit and against {@code
   * image/height} and {@code image/width} when declared.
   */
  private ImageSize declaredSize(Example example, String name, int index) throws IOException {
    String where = name + ": record " + index;
    byte[] image = bytes(example, ENCODED, where);
    bytes(example, LABEL, where);
    ImageHeader header;
    try (ImageDecoder decoder = ImageDecoder.open(image, where + " " + ENCODED,
        imageReader.maxPixels())) {
      header = decoder.header();
    }
    Long h = int64(example, HEIGHT);
    Long w = int64(example, WIDTH);
    if ((h != null && h != header.height()) || (w != null && w != header.width())) {
      throw new IOException(where + ": declares " + w + "x" + h + " (" + WIDTH + " x " + HEIGHT
          + ") but " + ENCODED + " is " + header.width() + "x" + header.height());
    }
    Long c = int64(example, CHANNELS);
    if (c != null && c != 3) {
      throw new IOException(where + ": " + CHANNELS + " is " + c + ", expected 3");
    }
    return new ImageSize(header.width(), header.height());
  }

  @Override
  public LoadedSample load(SegmentationDataset.Sample sample, int numClasses, int ignoreLabel)
      throws DatasetException {
    Sample s = own(sample);
    LabeledFiles.checkRange(numClasses, ignoreLabel);
    if (s.problem != null) {
      throw new DatasetException(s.problem);
    }
    String where = s.location();
    try (FileChannel in = FileChannel.open(s.shard, StandardOpenOption.READ)) {
      Example example = parse(TfRecords.data(in, s.shard.toString(), s.index, s.position),
          s.shard.toString(), s.index);
      RgbImage image = imageReader.read(bytes(example, ENCODED, where), where + " " + ENCODED);
      LabelMap label = labelReader.read(bytes(example, LABEL, where), where + " " + LABEL);
      return LabeledFiles.checked(s, where + " " + LABEL, ENCODED, image, label, numClasses,
          ignoreLabel);
    } catch (DatasetException e) {
      throw e;
    } catch (IOException e) {
      throw new DatasetException(e.getMessage(), e);
    }
  }

  @Override
  public ImageSize imageSize(SegmentationDataset.Sample sample) throws DatasetException {
    Sample s = own(sample);
    if (s.problem != null) {
      throw new DatasetException(s.problem);
    }
    return s.size;
  }

  private Sample own(SegmentationDataset.Sample sample) {
    if (sample instanceof Sample s) {
      return s;
    }
    throw new IllegalArgumentException("not a TFRecord sample: " + sample.location());
  }

  private static Feature feature(Example example, String key) {
    Map<String, Feature> features = example.getFeatures().getFeatureMap();
    return features.get(key);
  }

  private static byte[] bytes(Example example, String key, String where) throws IOException {
    Feature f = feature(example, key);
    if (f == null || f.getBytesList().getValueCount() != 1) {
      throw new IOException(where + ": no " + key + " (expected the build_data.py schema)");
    }
    return f.getBytesList().getValue(0).toByteArray();
  }

  private static String string(Example example, String key) {
    Feature f = feature(example, key);
    if (f == null || f.getBytesList().getValueCount() != 1) {
      return null;
    }
    ByteString v = f.getBytesList().getValue(0);
    return v.isEmpty() ? null : v.toStringUtf8();
  }

  private static Long int64(Example example, String key) {
    Feature f = feature(example, key);
    if (f == null || f.getInt64List().getValueCount() != 1) {
      return null;
    }
    return f.getInt64List().getValue(0);
  }
}
