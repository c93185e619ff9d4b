package dev.deeplab.internal.tflite;

/**
 * Where the bytes of one buffer ({@code table Buffer} in the TFLite schema) sit in the file.
 * Usually they are the buffer's {@code data} vector; files over 2 GB store an {@code offset} and
 * {@code size} relative to the start of the file instead. Both forms are resolved to a file range.
 *
 * @param index the buffer's position in the model's buffer list
 * @param offset the file offset of the first byte
 * @param length the number of bytes (0 for an empty buffer)
 */
public record TfliteBuffer(int index, int offset, int length) {}
