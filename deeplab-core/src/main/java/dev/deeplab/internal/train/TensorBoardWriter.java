package dev.deeplab.internal.train;

import com.google.protobuf.ByteString;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.SessionLog;
import org.tensorflow.proto.Summary;

/**
 * Writes TensorBoard event files ({@code events.out.tfevents.<time>.<host>}) as TF's {@code
 * EventsWriter} does: a sequence of {@code org.tensorflow.proto.Event} protos, the first carrying
 * {@code file_version "brain.Event:2"}, each in a TFRecord frame (little-endian uint64 length,
 * masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes; {@code
 * tensorflow/core/lib/io/record_writer.cc}, {@code crc32c.h}).
 *
 * <p>Scalars are {@code Summary.Value.simple_value} and images {@code Summary.Image}, which {@code
 * tensorboard --logdir} and {@code tf.compat.v1.train.summary_iterator} read. Each record is
 * flushed, so a killed run keeps its curves.
 */
public final class TensorBoardWriter implements AutoCloseable {
  private static final int MASK_DELTA = 0xa282ead8;
  private final Path file;
  private final OutputStream out;

  /** Creates a new event file in {@code logDir} (created if needed). */
  public TensorBoardWriter(Path logDir) throws IOException {
    Files.createDirectories(logDir);
    long now = System.currentTimeMillis();
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    Path f = logDir.resolve("events.out.tfevents." + now / 1000 + "." + host);
    for (int i = 1; Files.exists(f); i++) {
      f = logDir.resolve("events.out.tfevents." + now / 1000 + "." + host + "." + i);
    }
    this.file = f;
    this.out = new BufferedOutputStream(Files.newOutputStream(f, StandardOpenOption.CREATE_NEW));
    write(Event.newBuilder().setWallTime(now / 1000.0).setFileVersion("brain.Event:2").build());
  }

  /** The event file written. */
  public Path file() {
    return file;
  }

  /** Records a scalar {@code tag = value} at {@code step}. */
  public void scalar(String tag, long step, double value) throws IOException {
    write(Event.newBuilder().setWallTime(System.currentTimeMillis() / 1000.0).setStep(step)
        .setSummary(Summary.newBuilder().addValue(
            Summary.Value.newBuilder().setTag(tag).setSimpleValue((float) value)))
        .build());
  }

  /**
   * Records a PNG-encoded image {@code tag} at {@code step} ({@code Summary.Image}, as {@code
   * tf.summary.image} writes it), shown in TensorBoard's images tab.
   *
   * @param channels 1 (grey), 3 (RGB) or 4 (RGBA): the image's colour space once decoded
   */
  public void image(String tag, long step, int width, int height, int channels, byte[] png)
      throws IOException {
    write(Event.newBuilder().setWallTime(System.currentTimeMillis() / 1000.0).setStep(step)
        .setSummary(Summary.newBuilder().addValue(Summary.Value.newBuilder().setTag(tag)
            .setImage(Summary.Image.newBuilder().setWidth(width).setHeight(height)
                .setColorspace(channels).setEncodedImageString(ByteString.copyFrom(png)))))
        .build());
  }

  /**
   * Records that training (re)started at {@code step}: TensorBoard then discards events of
   * earlier runs with larger steps (the ones after the checkpoint a run resumed from).
   */
  public void sessionStart(long step) throws IOException {
    write(Event.newBuilder().setWallTime(System.currentTimeMillis() / 1000.0).setStep(step)
        .setSessionLog(SessionLog.newBuilder().setStatus(SessionLog.SessionStatus.START))
        .build());
  }

  private void write(Event event) throws IOException {
    byte[] data = event.toByteArray();
    byte[] length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(data.length).array();
    out.write(length);
    out.write(intLe(maskedCrc32c(length)));
    out.write(data);
    out.write(intLe(maskedCrc32c(data)));
    out.flush();
  }

  private static byte[] intLe(int v) {
    return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
  }

  /** TFRecord's masked CRC-32C: {@code ((crc >>> 15) | (crc << 17)) + 0xa282ead8}. */
  static int maskedCrc32c(byte[] data) {
    CRC32C crc = new CRC32C();
    crc.update(data, 0, data.length);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + MASK_DELTA;
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
