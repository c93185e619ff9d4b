package dev.deeplab.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.internal.image.LabelReader;
import dev.deeplab.internal.io.TfRecords;
import dev.deeplab.testing.TestData;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.BytesList;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;
import org.tensorflow.proto.Int64List;

/**
 * TFRecord shards written by Python's {@code tf.io.TFRecordWriter} in the {@code build_data.py}
 * schema ({@code tools/reference/make_dataset_fixtures.py}): names, sizes and pixels against the
 * PNG files the records were made from; corrupt records refused in one line.
 */
class TfRecordDatasetTest {
  @TempDir Path tmp;

  private static final Path DIR = TestData.datasets("tfrecord");
  private static final Path CITYSCAPES = TestData.datasets("cityscapes");

  @Test
  void readsPythonWrittenShardsInOrder() throws Exception {
    TfRecordDataset train = new TfRecordDataset(DIR.resolve("train_fine-*.tfrecord").toString());
    assertEquals(2, train.shards().size());
    List<TfRecordDataset.Sample> samples = train.samples();
    assertEquals(List.of("aachen_000000_000019", "aachen_000001_000019", "bremen_000000_000019"),
        samples.stream().map(TfRecordDataset.Sample::id).toList());
    assertEquals(List.of(0, 1, 0), samples.stream().map(TfRecordDataset.Sample::index).toList());
    assertTrue(samples.get(2).location().endsWith("train_fine-00001-of-00002.tfrecord: record 0"));

    ImageReader images = new ImageReader();
    LabelReader labels = new LabelReader();
    for (TfRecordDataset.Sample s : samples) {
      String city = s.id().substring(0, s.id().indexOf('_'));
      RgbImage expected = images.read(CITYSCAPES.resolve("leftImg8bit/train/" + city + "/"
          + s.id() + "_leftImg8bit.png"));
      assertEquals(new SegmentationDataset.ImageSize(128, 64), train.imageSize(s));
      SegmentationDataset.LoadedSample l = train.load(s, 19, 255);
      assertEquals(128, l.image().width());
      assertEquals(64, l.image().height());
      assertArrayEquals(expected.rgb(), l.image().rgb(), s.id());
      assertArrayEquals(labels.read(DIR.resolve("labels/" + s.id()
          + "_gtFine_labelTrainIds.png")).ids(), l.label().ids(), s.id());
    }
  }

  @Test
  void corruptDataCrcIsOneLineNamingFileAndRecord() throws Exception {
    Path shard = tmp.resolve("train-00000.tfrecord");
    byte[] bytes = Files.readAllBytes(DIR.resolve("train_fine-00000-of-00002.tfrecord"));
    long first = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN)
        .getLong(0);
    int second = (int) (12 + first + 4);
    bytes[second + 12 + 100] ^= 0x5A; // a byte inside the second record's data
    Files.write(shard, bytes);
    TfRecordDataset ds = new TfRecordDataset(tmp.resolve("train-*.tfrecord").toString());
    List<TfRecordDataset.Sample> samples = ds.samples();
    assertEquals(2, samples.size());
    assertEquals("train-00000.tfrecord#1", samples.get(1).id());
    ds.load(samples.get(0), 19, 255);
    DatasetException e = assertThrows(DatasetException.class, () -> ds.load(samples.get(1), 19,
        255));
    assertEquals(shard + ": record 1: data CRC mismatch (corrupt record)", e.getMessage());
  }

  @Test
  void corruptLengthStopsTheListing() throws Exception {
    Path shard = tmp.resolve("a.tfrecord");
    byte[] bytes = Files.readAllBytes(DIR.resolve("val_fine-00000-of-00001.tfrecord"));
    bytes[2] ^= 1;
    Files.write(shard, bytes);
    DatasetException e = assertThrows(DatasetException.class,
        () -> new TfRecordDataset(shard.toString()).samples());
    assertEquals(shard + ": record 0: length CRC mismatch (corrupt record header)",
        e.getMessage());
    Files.write(shard, java.util.Arrays.copyOf(Files.readAllBytes(
        DIR.resolve("val_fine-00000-of-00001.tfrecord")), 500));
    e = assertThrows(DatasetException.class, () -> new TfRecordDataset(shard.toString()).samples());
    assertTrue(e.getMessage().startsWith(shard + ": record 0: truncated record"), e.getMessage());
  }

  /** The declared size is checked against the header, and the pixel limit applies, unread. */
  @Test
  void declaredSizeAndPixelLimitAreCheckedFromHeaders() throws Exception {
    byte[] png = Files.readAllBytes(CITYSCAPES.resolve(
        "leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png"));
    byte[] label = Files.readAllBytes(DIR.resolve(
        "labels/frankfurt_000000_000294_gtFine_labelTrainIds.png"));
    Path shard = tmp.resolve("x.tfrecord");
    try (OutputStream out = Files.newOutputStream(shard)) {
      TfRecords.write(out, example("ok", png, 64, 128, label).toByteArray());
      TfRecords.write(out, example("wrong", png, 65, 128, label).toByteArray());
      TfRecords.write(out, new byte[] {1, 2, 3});
    }
    TfRecordDataset ds = new TfRecordDataset(shard.toString());
    List<TfRecordDataset.Sample> samples = ds.samples();
    assertEquals(List.of("ok", "wrong", "x.tfrecord#2"),
        samples.stream().map(TfRecordDataset.Sample::id).toList());
    ds.load(samples.get(0), 19, 255);
    DatasetException e = assertThrows(DatasetException.class, () -> ds.load(samples.get(1), 19,
        255));
    assertEquals(shard + ": record 1: declares 128x65 (image/width x image/height) but "
        + "image/encoded is 128x64", e.getMessage());
    e = assertThrows(DatasetException.class, () -> ds.load(samples.get(2), 19, 255));
    assertTrue(e.getMessage().startsWith(shard + ": record 2: not a tf.train.Example"),
        e.getMessage());
    assertFalse(e.getMessage().contains("\n"));

    TfRecordDataset limited = new TfRecordDataset(shard.toString(), 128 * 64 - 1);
    e = assertThrows(DatasetException.class,
        () -> limited.imageSize(limited.samples().get(0)));
    assertTrue(e.getMessage().contains("over the pixel limit"), e.getMessage());
  }

  @Test
  void noMatchingShardIsOneLine() {
    DatasetException e = assertThrows(DatasetException.class,
        () -> new TfRecordDataset(DIR.resolve("test-*.tfrecord").toString()).samples());
    assertEquals(DIR.resolve("test-*.tfrecord") + ": no file matches", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new TfRecordDataset("a*/b.tfrecord"));
  }

  private static Example example(String name, byte[] image, long height, long width,
      byte[] label) {
    return Example.newBuilder().setFeatures(Features.newBuilder()
        .putFeature("image/encoded", bytes(image))
        .putFeature("image/filename", bytes(name.getBytes()))
        .putFeature("image/format", bytes("png".getBytes()))
        .putFeature("image/height", int64(height))
        .putFeature("image/width", int64(width))
        .putFeature("image/channels", int64(3))
        .putFeature("image/segmentation/class/encoded", bytes(label))
        .putFeature("image/segmentation/class/format", bytes("png".getBytes()))).build();
  }

  private static Feature bytes(byte[] v) {
    return Feature.newBuilder().setBytesList(BytesList.newBuilder().addValue(ByteString.copyFrom(v)))
        .build();
  }

  private static Feature int64(long v) {
    return Feature.newBuilder().setInt64List(Int64List.newBuilder().addValue(v)).build();
  }
}
