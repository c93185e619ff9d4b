package dev.deeplab.internal.checkpoint;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.tensorflow.proto.BundleEntryProto;
import org.tensorflow.proto.BundleHeaderProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.SavedSliceMeta;
import org.tensorflow.proto.SavedTensorSlices;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Checks a checkpoint's metadata in Java before TensorFlow's C++ reader sees it. That reader
 * trusts what the index declares: a negative dimension stops the whole process (a failed {@code
 * CHECK}), and an enormous shape makes it allocate what the shape says. So every tensor's shape,
 * type, shard and byte range are checked against the files that are there first.
 *
 * <p>Both formats are tables in LevelDB's sorted-table layout ({@code tensorflow/core/lib/io}:
 * blocks of prefix-compressed entries, each block followed by its type and masked CRC32C, an
 * index block and a 48-byte footer ending in the magic number {@code 0xdb4775248b80fb57}):
 *
 * <ul>
 *   <li>V2 ({@code prefix.index} + {@code prefix.data-NNNNN-of-MMMMM}): the entry {@code ""} is a
 *       {@code BundleHeaderProto}, every other one a {@code BundleEntryProto} (type, shape,
 *       shard, offset, size) of a tensor stored raw in its data shard
 *       ({@code tensorflow/core/util/tensor_bundle});
 *   <li>V1 (one file): the entry {@code ""} is a {@code SavedTensorSlices} whose {@code meta}
 *       lists each tensor's name, shape and type ({@code tensorflow/core/util/tensor_slice_*}).
 * </ul>
 *
 * <p>A tensor is refused when a dimension is negative or unknown, its type has no fixed size
 * (strings, resources), or its bytes ({@code product(shape) * size of type}) exceed what its data
 * file holds.
 */
final class CheckpointIndex {
  private static final long MAGIC = 0xdb4775248b80fb57L;
  private static final int FOOTER = 48;
  /** The largest index (V2) or V1 file whose tables are read whole; ours are kilobytes. */
  private static final long MAX_TABLE_BYTES = 256L << 20;

  private final String file;
  private final ByteBuffer data;

  private CheckpointIndex(String file, byte[] bytes) {
    this.file = file;
    this.data = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * Checks the checkpoint at {@code prefix} if it is a V2 ({@code prefix.index} exists) or V1
   * ({@code prefix} is a file) checkpoint; other prefixes are left to TensorFlow's error.
   *
   * @throws CheckpointException with a one-line message for the first problem
   */
  static void check(String prefix) throws CheckpointException {
    Path index = Path.of(prefix + ".index");
    Path v1 = Path.of(prefix);
    try {
      if (Files.isRegularFile(index)) {
        checkV2(prefix, index);
      } else if (Files.isRegularFile(v1)) {
        checkV1(v1);
      }
    } catch (IOException e) {
      throw new CheckpointException("cannot read checkpoint " + prefix + ": " + e.getMessage(), e);
    }
  }

  private static void checkV2(String prefix, Path index) throws IOException {
    CheckpointIndex table = read(index);
    List<byte[][]> entries = table.entries();
    if (entries.isEmpty() || entries.get(0)[0].length != 0) {
      throw table.corrupt("no header entry");
    }
    BundleHeaderProto header = table.parse(() -> BundleHeaderProto.parseFrom(entries.get(0)[1]),
        "header");
    int shards = header.getNumShards();
    if (shards < 1 || shards > 100_000) {
      throw table.corrupt("header declares " + shards + " data shards");
    }
    if (header.getEndianness() != BundleHeaderProto.Endianness.LITTLE) {
      throw table.corrupt("big-endian checkpoints are not supported");
    }
    long[] shardBytes = new long[shards];
    for (int i = 0; i < shards; i++) {
      Path shard = Path.of(String.format("%s.data-%05d-of-%05d", prefix, i, shards));
      shardBytes[i] = Files.isRegularFile(shard) ? Files.size(shard) : -1;
    }
    for (byte[][] e : entries.subList(1, entries.size())) {
      String name = new String(e[0], java.nio.charset.StandardCharsets.UTF_8);
      BundleEntryProto entry = table.parse(() -> BundleEntryProto.parseFrom(e[1]),
          "entry of tensor '" + name + "'");
      if (entry.getSlicesCount() > 0) {
        continue; // a partitioned variable's full entry: its slices are entries of their own
      }
      long bytes = tensorBytes(table, name, entry.getDtype(), entry.getShape());
      int shard = entry.getShardId();
      if (shard < 0 || shard >= shards) {
        throw table.corrupt("tensor '" + name + "' is in data shard " + shard + " of " + shards);
      }
      if (shardBytes[shard] < 0) {
        throw table.corrupt("data shard " + shard + " of tensor '" + name + "' is missing");
      }
      if (entry.getSize() != bytes || entry.getOffset() < 0
          || entry.getOffset() > shardBytes[shard] - bytes) {
        throw table.corrupt("tensor '" + name + "' " + describe(entry.getDtype(), entry.getShape())
            + " needs " + bytes + " bytes but declares " + entry.getSize() + " at offset "
            + entry.getOffset() + " of a " + shardBytes[shard] + "-byte data shard");
      }
    }
  }

  private static void checkV1(Path file) throws IOException {
    CheckpointIndex table = read(file);
    List<byte[][]> entries = table.entries();
    if (entries.isEmpty() || entries.get(0)[0].length != 0) {
      throw table.corrupt("no V1 checkpoint metadata entry");
    }
    SavedTensorSlices meta = table.parse(() -> SavedTensorSlices.parseFrom(entries.get(0)[1]),
        "metadata");
    long fileBytes = Files.size(file);
    for (SavedSliceMeta t : meta.getMeta().getTensorList()) {
      long bytes = tensorBytes(table, t.getName(), t.getType(), t.getShape());
      if (bytes > fileBytes) {
        throw table.corrupt("tensor '" + t.getName() + "' " + describe(t.getType(), t.getShape())
            + " needs " + bytes + " bytes but the file has " + fileBytes);
      }
    }
  }

  /** The bytes of a tensor of fixed-size type and known shape, refusing anything else. */
  private static long tensorBytes(CheckpointIndex table, String name, DataType type,
      TensorShapeProto shape) throws IOException {
    int size = byteSize(type);
    if (size == 0) {
      throw table.corrupt("tensor '" + name + "' has type " + type
          + ", not a numeric type of fixed size");
    }
    if (shape.getUnknownRank() || shape.getDimCount() > 64) {
      throw table.corrupt("tensor '" + name + "' has no valid shape");
    }
    long n = size;
    for (TensorShapeProto.Dim d : shape.getDimList()) {
      if (d.getSize() < 0) {
        throw table.corrupt("tensor '" + name + "' " + describe(type, shape)
            + " has a negative dimension");
      }
      try {
        n = Math.multiplyExact(n, d.getSize());
      } catch (ArithmeticException e) {
        throw table.corrupt("tensor '" + name + "' " + describe(type, shape)
            + " declares more than 2^63 bytes");
      }
    }
    return n;
  }

  private static int byteSize(DataType t) {
    return switch (t) {
      case DT_FLOAT, DT_INT32, DT_UINT32 -> 4;
      case DT_DOUBLE, DT_INT64, DT_UINT64, DT_COMPLEX64 -> 8;
      case DT_HALF, DT_BFLOAT16, DT_INT16, DT_UINT16 -> 2;
      case DT_INT8, DT_UINT8, DT_BOOL -> 1;
      case DT_COMPLEX128 -> 16;
      default -> 0;
    };
  }

  private static String describe(DataType type, TensorShapeProto shape) {
    return type.name().replace("DT_", "").toLowerCase(java.util.Locale.ROOT)
        + Arrays.toString(shape.getDimList().stream().mapToLong(TensorShapeProto.Dim::getSize)
            .toArray()).replace(" ", "");
  }

  private static CheckpointIndex read(Path file) throws IOException {
    long size = Files.size(file);
    if (size > MAX_TABLE_BYTES) {
      throw new IOException(file + ": " + size + " bytes, over the limit of " + MAX_TABLE_BYTES
          + " for a checkpoint table");
    }
    return new CheckpointIndex(file.toString(), Files.readAllBytes(file));
  }

  private interface Parser<T> {
    T parse() throws InvalidProtocolBufferException;
  }

  private <T> T parse(Parser<T> parser, String what) throws IOException {
    try {
      return parser.parse();
    } catch (InvalidProtocolBufferException e) {
      throw corrupt(what + " is not a valid protocol buffer");
    }
  }

  private IOException corrupt(String why) {
    return new IOException(file + ": corrupt checkpoint: " + why);
  }

  /** Every (key, value) of the table, in order: the index block, then each data block. */
  private List<byte[][]> entries() throws IOException {
    int n = data.capacity();
    if (n < FOOTER || data.getLong(n - 8) != MAGIC) {
      throw corrupt("not a checkpoint table (no table footer)");
    }
    data.position(n - FOOTER);
    varint(); // metaindex block handle: unused
    varint();
    long indexOffset = varint();
    long indexSize = varint();
    List<byte[][]> entries = new ArrayList<>();
    for (byte[][] handle : block(indexOffset, indexSize)) {
      ByteBuffer h = ByteBuffer.wrap(handle[1]);
      long offset = varint(h);
      long size = varint(h);
      entries.addAll(block(offset, size));
    }
    return entries;
  }

  /** The entries of the block at {@code offset} of {@code size} bytes (plus its trailer). */
  private List<byte[][]> block(long offset, long size) throws IOException {
    if (offset < 0 || size < 4 || offset > data.capacity() - FOOTER - 5 - size) {
      throw corrupt("block at " + offset + " of " + size + " bytes lies outside the file");
    }
    int start = (int) offset;
    int end = start + (int) size;
    if (data.get(end) != 0) {
      throw corrupt("compressed table block (type " + data.get(end) + ")");
    }
    CRC32C crc = new CRC32C();
    crc.update(data.array(), start, (int) size + 1);
    int c = (int) crc.getValue();
    int masked = ((c >>> 15) | (c << 17)) + 0xa282ead8;
    if (data.getInt(end + 1) != masked) {
      throw corrupt("block checksum mismatch at " + offset);
    }
    int restarts = data.getInt(end - 4);
    if (restarts < 0 || restarts > (size - 4) / 4) {
      throw corrupt("block at " + offset + " declares " + restarts + " restart points");
    }
    int limit = end - 4 - 4 * restarts;
    List<byte[][]> out = new ArrayList<>();
    byte[] key = new byte[0];
    ByteBuffer b = ByteBuffer.wrap(data.array(), start, limit - start);
    while (b.hasRemaining()) {
      long shared = varint(b);
      long unshared = varint(b);
      long valueLength = varint(b);
      if (shared > key.length || unshared > b.remaining()
          || valueLength > b.remaining() - unshared) {
        throw corrupt("block entry at " + b.position() + " runs past its block");
      }
      byte[] next = Arrays.copyOf(key, (int) (shared + unshared));
      b.get(next, (int) shared, (int) unshared);
      byte[] value = new byte[(int) valueLength];
      b.get(value);
      out.add(new byte[][] {next, value});
      key = next;
    }
    return out;
  }

  private long varint() throws IOException {
    return varint(data);
  }

  private long varint(ByteBuffer b) throws IOException {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!b.hasRemaining()) {
        throw corrupt("truncated varint");
      }
      int x = b.get() & 0xFF;
      v |= (long) (x & 0x7F) << shift;
      if (x < 0x80) {
        return v;
      }
    }
    throw corrupt("varint longer than 10 bytes");
  }
}
