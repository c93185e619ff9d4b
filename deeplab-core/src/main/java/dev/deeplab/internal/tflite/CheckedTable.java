package dev.deeplab.internal.tflite;

import com.google.flatbuffers.Table;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A bounds-checked view of one flatbuffer table. Every offset is validated against the buffer
 * before it is followed, so a truncated or corrupted file raises {@link TfliteFormatException}
 * instead of an {@link IndexOutOfBoundsException}. Field {@code i} of a table (in schema
 * declaration order, a union counting as two fields: type then value) lives at vtable slot {@code 4
 * + 2i}, as in the flatbuffers binary format.
 */
final class CheckedTable extends Table {

  /** Describes the table in error messages, e.g. {@code "subgraph 0 tensor 12"}. */
  private final String what;

  /** The table's inline size (from its vtable), for checking scalar fields. */
  private final int inlineSize;

  private CheckedTable(ByteBuffer bb, int pos, String what) throws TfliteFormatException {
    this.what = what;
    requireRange(bb, pos, 4, what);
    long vtable = (long) pos - bb.getInt(pos);
    requireRange(bb, vtable, 4, what + " vtable");
    int vtableSize = Short.toUnsignedInt(bb.getShort((int) vtable));
    inlineSize = Short.toUnsignedInt(bb.getShort((int) vtable + 2));
    if (vtableSize < 4 || (vtableSize & 1) != 0) {
      throw new TfliteFormatException(
          "corrupt TFLite file: " + what + " has a vtable of invalid size " + vtableSize);
    }
    requireRange(bb, vtable, vtableSize, what + " vtable");
    requireRange(bb, pos, Math.max(inlineSize, 4), what);
    __reset(pos, bb);
  }

  /** The root table of a size-unprefixed flatbuffer that starts at offset 0 of {@code bb}. */
  static CheckedTable root(ByteBuffer bb, String what) throws TfliteFormatException {
    requireRange(bb, 0, 4, "root offset");
    return new CheckedTable(bb, uoffsetTarget(bb, 0, what), what);
  }

  /** Whether field {@code field} is present. */
  boolean has(int field) {
    return __offset(4 + 2 * field) != 0;
  }

  /** The absolute position of scalar field {@code field} of {@code size} bytes, or -1 if absent. */
  private int scalarPos(int field, int size) throws TfliteFormatException {
    int off = __offset(4 + 2 * field);
    if (off == 0) {
      return -1;
    }
    if (off < 4 || off + size > inlineSize) {
      throw new TfliteFormatException(
          "corrupt TFLite file: " + what + " field " + field + " lies outside the table");
    }
    return bb_pos + off;
  }

  /** A byte field (also used for enums stored as bytes and for booleans). */
  byte getByte(int field, byte dflt) throws TfliteFormatException {
    int p = scalarPos(field, 1);
    return p < 0 ? dflt : bb.get(p);
  }

  /** An int field. */
  int getInt(int field, int dflt) throws TfliteFormatException {
    int p = scalarPos(field, 4);
    return p < 0 ? dflt : bb.getInt(p);
  }

  /** An unsigned int field, widened to long. */
  long getUint(int field, long dflt) throws TfliteFormatException {
    int p = scalarPos(field, 4);
    return p < 0 ? dflt : Integer.toUnsignedLong(bb.getInt(p));
  }

  /** A long (or ulong, read as signed) field. */
  long getLong(int field, long dflt) throws TfliteFormatException {
    int p = scalarPos(field, 8);
    return p < 0 ? dflt : bb.getLong(p);
  }

  /** A boolean field. */
  boolean getBool(int field, boolean dflt) throws TfliteFormatException {
    return getByte(field, (byte) (dflt ? 1 : 0)) != 0;
  }

  /** The target of offset field {@code field} (a string, vector or table), or -1 if absent. */
  private int refTarget(int field) throws TfliteFormatException {
    int p = scalarPos(field, 4);
    return p < 0 ? -1 : uoffsetTarget(bb, p, what + " field " + field);
  }

  /**
   * A vector field: returns {@code {firstElementPosition, length}} after checking that all {@code
   * length * elementSize} bytes are in the buffer, or null if the field is absent.
   */
  int[] vector(int field, int elementSize) throws TfliteFormatException {
    int p = refTarget(field);
    return p < 0 ? null : checkedVector(bb, p, elementSize, what + " field " + field);
  }

  /** An {@code [int]} field; empty if absent. */
  int[] intVector(int field) throws TfliteFormatException {
    int[] v = vector(field, 4);
    int[] out = new int[v == null ? 0 : v[1]];
    for (int i = 0; i < out.length; i++) {
      out[i] = bb.getInt(v[0] + 4 * i);
    }
    return out;
  }

  /** A {@code [long]} field; empty if absent. */
  long[] longVector(int field) throws TfliteFormatException {
    int[] v = vector(field, 8);
    long[] out = new long[v == null ? 0 : v[1]];
    for (int i = 0; i < out.length; i++) {
      out[i] = bb.getLong(v[0] + 8 * i);
    }
    return out;
  }

  /** A {@code [float]} field; empty if absent. */
  float[] floatVector(int field) throws TfliteFormatException {
    int[] v = vector(field, 4);
    float[] out = new float[v == null ? 0 : v[1]];
    for (int i = 0; i < out.length; i++) {
      out[i] = bb.getFloat(v[0] + 4 * i);
    }
    return out;
  }

  /** A string field, decoded as UTF-8; {@code ""} if absent. */
  String string(int field) throws TfliteFormatException {
    int[] v = vector(field, 1);
    if (v == null) {
      return "";
    }
    byte[] bytes = new byte[v[1]];
    bb.get(v[0], bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** A sub-table field, or null if absent. */
  CheckedTable table(int field, String childWhat) throws TfliteFormatException {
    int p = refTarget(field);
    return p < 0 ? null : new CheckedTable(bb, p, childWhat);
  }

  /** Element {@code i} of a {@code [Table]} vector whose first element is at {@code start}. */
  CheckedTable tableAt(int start, int i, String childWhat) throws TfliteFormatException {
    int p = start + 4 * i;
    return new CheckedTable(bb, uoffsetTarget(bb, p, childWhat), childWhat);
  }

  /** Follows the unsigned 32-bit offset stored at {@code p}, checking the target is in range. */
  private static int uoffsetTarget(ByteBuffer bb, int p, String what) throws TfliteFormatException {
    long target = p + Integer.toUnsignedLong(bb.getInt(p));
    requireRange(bb, target, 4, what);
    return (int) target;
  }

  private static int[] checkedVector(ByteBuffer bb, int p, int elementSize, String what)
      throws TfliteFormatException {
    long length = Integer.toUnsignedLong(bb.getInt(p));
    requireRange(bb, p + 4L, length * elementSize, what + " (vector of " + length + ")");
    return new int[] {p + 4, (int) length};
  }

  /** Throws unless bytes {@code [pos, pos+size)} are inside {@code bb}. */
  static void requireRange(ByteBuffer bb, long pos, long size, String what)
      throws TfliteFormatException {
    if (pos < 0 || size < 0 || pos + size > bb.limit()) {
      throw new TfliteFormatException(
          "truncated or corrupt TFLite file: "
              + what
              + " at offset "
              + pos
              + " (+"
              + size
              + " bytes) lies outside the "
              + bb.limit()
              + "-byte file");
    }
  }
}
