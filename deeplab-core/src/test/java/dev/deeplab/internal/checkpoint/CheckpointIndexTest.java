package dev.deeplab.internal.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.testing.TestData;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.BundleEntryProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.SavedSliceMeta;
import org.tensorflow.proto.SavedTensorSliceMeta;
import org.tensorflow.proto.SavedTensorSlices;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Malicious checkpoint metadata is refused in Java, with a one-line message, before TensorFlow's
 * reader (which trusts it) sees the files: negative, enormous and overflowing shapes, byte ranges
 * past the end of the data shard, types of no fixed size, shards that do not exist, broken
 * tables. Checkpoints that Python TensorFlow wrote (V1 and V2,
 * tools/reference/make_checkpoint_fixtures.py) and a table written by hand pass.
 */
class CheckpointIndexTest {
  private static final byte[] BIASES = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN)
      .putFloat(1).putFloat(2).putFloat(3).putFloat(4).array();
  private static final int CRC = CheckpointTables.maskedCrc(BIASES);

  @TempDir Path dir;

  @Test
  void checkpointsPythonTensorFlowWrotePass() throws Exception {
    for (String version : List.of("v1", "v2")) {
      String prefix = TestData.resources("checkpoints/" + version).resolve("model.ckpt").toString();
      Map<String, CheckpointEntry> entries = Checkpoints.list(prefix);
      assertEquals(List.of("conv/biases", "conv/weights", "global_step"),
          List.copyOf(entries.keySet()), version);
      assertArrayEquals(new long[] {3, 3, 2, 4}, entries.get("conv/weights").shape(), version);
      assertEquals("DT_INT64", entries.get("global_step").dtype(), version);
      assertArrayEquals(new float[] {1, 2, 3, 4},
          Checkpoints.readFloats(prefix, List.of("conv/biases")).get("conv/biases").data(),
          version);
    }
  }

  @Test
  void aTableWrittenByHandIsReadByTensorFlow() throws Exception {
    Path prefix = CheckpointTables.writeV2(dir.resolve("ckpt"),
        Map.of("conv/biases", CheckpointTables.entry(DataType.DT_FLOAT, 0, 16, CRC, 4)), BIASES);
    assertArrayEquals(new long[] {4}, Checkpoints.list(prefix.toString()).get("conv/biases")
        .shape());
    assertArrayEquals(new float[] {1, 2, 3, 4}, Checkpoints.readFloats(prefix.toString(),
        List.of("conv/biases")).get("conv/biases").data());
  }

  @Test
  void maliciousV2EntriesAreRefused() throws Exception {
    Map<String, BundleEntryProto> cases = new LinkedHashMap<>();
    Map<String, String> expected = new LinkedHashMap<>();
    cases.put("negative", CheckpointTables.entry(DataType.DT_FLOAT, 0, 16, CRC, -1, 4));
    expected.put("negative", "float[-1,4] has a negative dimension");
    cases.put("enormous", CheckpointTables.entry(DataType.DT_FLOAT, 0, 16, CRC, 1 << 20, 1 << 20,
        1 << 20));
    expected.put("enormous", "float[1048576,1048576,1048576] needs 4611686018427387904 bytes but"
        + " declares 16 at offset 0 of a 16-byte data shard");
    cases.put("overflowing", CheckpointTables.entry(DataType.DT_FLOAT, 0, 16, CRC, 1L << 62, 4));
    expected.put("overflowing", "declares more than 2^63 bytes");
    cases.put("past_the_end", CheckpointTables.entry(DataType.DT_FLOAT, 1000, 16, CRC, 4));
    expected.put("past_the_end", "needs 16 bytes but declares 16 at offset 1000 of a 16-byte");
    cases.put("negative_offset", CheckpointTables.entry(DataType.DT_FLOAT, -8, 16, CRC, 4));
    expected.put("negative_offset", "at offset -8");
    cases.put("wrong_size", CheckpointTables.entry(DataType.DT_DOUBLE, 0, 16, CRC, 4));
    expected.put("wrong_size", "double[4] needs 32 bytes but declares 16");
    cases.put("string", CheckpointTables.entry(DataType.DT_STRING, 0, 16, CRC, 4));
    expected.put("string", "has type DT_STRING, not a numeric type of fixed size");
    cases.put("resource", CheckpointTables.entry(DataType.DT_RESOURCE, 0, 16, CRC));
    expected.put("resource", "has type DT_RESOURCE");
    cases.put("other_shard", CheckpointTables.entry(DataType.DT_FLOAT, 0, 16, CRC, 4).toBuilder()
        .setShardId(5).build());
    expected.put("other_shard", "is in data shard 5 of 1");
    cases.put("unknown_rank", CheckpointTables.entry(DataType.DT_FLOAT, 0, 16, CRC).toBuilder()
        .setShape(TensorShapeProto.newBuilder().setUnknownRank(true)).build());
    expected.put("unknown_rank", "has no valid shape");
    for (Map.Entry<String, BundleEntryProto> c : cases.entrySet()) {
      Path prefix = CheckpointTables.writeV2(dir.resolve(c.getKey()),
          Map.of("conv/biases", c.getValue()), BIASES);
      for (boolean list : new boolean[] {true, false}) {
        CheckpointException e = assertThrows(CheckpointException.class, () -> {
          if (list) {
            Checkpoints.list(prefix.toString());
          } else {
            Checkpoints.readFloats(prefix.toString(), List.of("conv/biases"));
          }
        }, c.getKey());
        assertRefused(e, prefix + ".index: corrupt checkpoint: tensor 'conv/biases' ",
            expected.get(c.getKey()));
      }
    }
  }

  @Test
  void brokenTablesAreRefused() throws Exception {
    Path prefix = CheckpointTables.writeV2(dir.resolve("ckpt"),
        Map.of("conv/biases", CheckpointTables.entry(DataType.DT_FLOAT, 0, 16, CRC, 4)), BIASES);
    Path index = Path.of(prefix + ".index");
    byte[] good = Files.readAllBytes(index);
    Map<String, byte[]> broken = new LinkedHashMap<>();
    broken.put("no table footer", java.util.Arrays.copyOf(good, good.length - 1));
    byte[] flipped = good.clone();
    flipped[20] ^= 1;
    broken.put("block checksum mismatch", flipped);
    byte[] handle = good.clone(); // the index block handle's offset: first footer byte after meta
    ByteBuffer footer = ByteBuffer.wrap(handle, handle.length - 48, 48);
    footer.put(footer.position() + 2, (byte) 0x7F);
    broken.put("lies outside the file", handle);
    for (Map.Entry<String, byte[]> b : broken.entrySet()) {
      Files.write(index, b.getValue());
      CheckpointException e = assertThrows(CheckpointException.class,
          () -> Checkpoints.list(prefix.toString()), b.getKey());
      assertRefused(e, index + ": corrupt checkpoint: ", b.getKey());
    }
    Files.delete(Path.of(prefix + ".data-00000-of-00001"));
    Files.write(index, good);
    assertRefused(assertThrows(CheckpointException.class,
        () -> Checkpoints.list(prefix.toString())), index + ": corrupt checkpoint: ",
        "data shard 0 of tensor 'conv/biases' is missing");
  }

  @Test
  void maliciousV1MetadataIsRefused() throws Exception {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("float[-3,4] has a negative dimension", new long[] {-3, 4});
    shapes.put("float[65536,65536] needs 17179869184 bytes but the file has",
        new long[] {65536, 65536});
    for (Map.Entry<String, long[]> s : shapes.entrySet()) {
      TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
      for (long d : s.getValue()) {
        shape.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
      }
      SavedTensorSlices meta = SavedTensorSlices.newBuilder().setMeta(
          SavedTensorSliceMeta.newBuilder().addTensor(SavedSliceMeta.newBuilder()
              .setName("conv/weights").setType(DataType.DT_FLOAT).setShape(shape))).build();
      Map<String, SavedTensorSlices> entries = new TreeMap<>(Map.of("", meta));
      Path file = Files.write(dir.resolve("v1.ckpt"), CheckpointTables.table(entries));
      CheckpointException e = assertThrows(CheckpointException.class,
          () -> Checkpoints.list(file.toString()));
      assertRefused(e, file + ": corrupt checkpoint: tensor 'conv/weights' ", s.getKey());
    }
  }

  private static void assertRefused(CheckpointException e, String prefix, String reason) {
    String m = e.getMessage();
    System.out.println(m);
    assertTrue(!m.contains("\n") && m.contains(prefix) && m.contains(reason),
        m + "\n  expected '" + prefix + "' and '" + reason + "'");
  }
}
