package dev.deeplab.internal.checkpoint;

import com.google.protobuf.MessageLite;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32C;
import org.tensorflow.proto.BundleEntryProto;
import org.tensorflow.proto.BundleHeaderProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.proto.VersionDef;

/**
 * Writes checkpoint tables by hand (LevelDB's sorted-table layout that TensorFlow's checkpoints
 * use, as {@link CheckpointIndex} describes: one uncompressed data block, an empty metaindex
 * block, an index block, the footer), so tests can declare any shape, type, shard or offset.
 */
final class CheckpointTables {
  private CheckpointTables() {}

  /** A V2 checkpoint: the header, then one entry per tensor (sorted keys), and its data shard. */
  static Path writeV2(Path prefix, Map<String, BundleEntryProto> tensors, byte[] shardData)
      throws IOException {
    java.util.TreeMap<String, MessageLite> entries = new java.util.TreeMap<>();
    entries.put("", BundleHeaderProto.newBuilder().setNumShards(1)
        .setVersion(VersionDef.newBuilder().setProducer(1)).build());
    entries.putAll(tensors);
    Files.write(Path.of(prefix + ".index"), table(entries));
    Files.write(Path.of(prefix + ".data-00000-of-00001"), shardData);
    return prefix;
  }

  /** An entry of shard 0 whose data has the masked CRC32C {@code crc}. */
  static BundleEntryProto entry(DataType type, long offset, long size, int crc, long... shape) {
    TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
    for (long d : shape) {
      s.addDim(TensorShapeProto.Dim.newBuilder().setSize(d));
    }
    return BundleEntryProto.newBuilder().setDtype(type).setShape(s).setOffset(offset)
        .setSize(size).setCrc32C(crc).build();
  }

  /** LevelDB's masked CRC32C of {@code bytes} (+ {@code extra} bytes, e.g. a block's type). */
  static int maskedCrc(byte[] bytes, byte... extra) {
    CRC32C crc = new CRC32C();
    crc.update(bytes);
    crc.update(extra);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + 0xa282ead8;
  }

  /** The table bytes of {@code entries} (keys in order). */
  static byte[] table(Map<String, ? extends MessageLite> entries) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    String last = "";
    for (Map.Entry<String, ? extends MessageLite> e : entries.entrySet()) {
      byte[] key = e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8);
      byte[] value = e.getValue().toByteArray();
      varint(block, 0);
      varint(block, key.length);
      varint(block, value.length);
      block.writeBytes(key);
      block.writeBytes(value);
      last = e.getKey();
    }
    long[] data = writeBlock(out, block.toByteArray());
    long[] meta = writeBlock(out, new byte[0]);
    ByteArrayOutputStream handle = new ByteArrayOutputStream();
    varint(handle, data[0]);
    varint(handle, data[1]);
    ByteArrayOutputStream index = new ByteArrayOutputStream();
    byte[] key = (last + "\u0000").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    varint(index, 0);
    varint(index, key.length);
    varint(index, handle.size());
    index.writeBytes(key);
    index.writeBytes(handle.toByteArray());
    long[] idx = writeBlock(out, index.toByteArray());
    ByteArrayOutputStream footer = new ByteArrayOutputStream();
    varint(footer, meta[0]);
    varint(footer, meta[1]);
    varint(footer, idx[0]);
    varint(footer, idx[1]);
    footer.writeBytes(new byte[40 - footer.size()]);
    footer.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(0xdb4775248b80fb57L).array());
    out.writeBytes(footer.toByteArray());
    return out.toByteArray();
  }

  /** Appends entries + one restart point at 0 + trailer; returns {offset, size}. */
  private static long[] writeBlock(ByteArrayOutputStream out, byte[] entries) {
    ByteBuffer b = ByteBuffer.allocate(entries.length + 8).order(ByteOrder.LITTLE_ENDIAN);
    b.put(entries).putInt(0).putInt(1);
    byte[] contents = b.array();
    long offset = out.size();
    out.writeBytes(contents);
    out.write(0); // no compression
    out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
        .putInt(maskedCrc(contents, (byte) 0)).array());
    return new long[] {offset, contents.length};
  }

  private static void varint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }
}
