package dev.deeplab.internal.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deeplab.testing.EventFiles;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.proto.Event;

/**
 * Event files read back record by record with CRC checks ({@link EventFiles}). (A one-off check
 * also read them with Python TF's {@code tf.compat.v1.train.summary_iterator}.)
 */
class TensorBoardWriterTest {
  @TempDir Path tmp;

  @Test
  void scalarsRoundTrip() throws Exception {
    Path file;
    try (TensorBoardWriter w = new TensorBoardWriter(tmp)) {
      w.sessionStart(0);
      w.scalar("loss", 1, 2.5);
      w.scalar("learning_rate", 1, 0.007);
      w.scalar("miou", 10, 0.75);
      file = w.file();
    }
    assertEquals(true, file.getFileName().toString().startsWith("events.out.tfevents."));
    List<Event> events = EventFiles.read(file);
    assertEquals("brain.Event:2", events.get(0).getFileVersion());
    assertEquals(5, events.size());
    assertEquals("loss", events.get(2).getSummary().getValue(0).getTag());
    assertEquals(2.5f, events.get(2).getSummary().getValue(0).getSimpleValue());
    assertEquals(10, events.get(4).getStep());
    assertEquals(0.75f, events.get(4).getSummary().getValue(0).getSimpleValue());
  }

  @Test
  void maskedCrcMatchesTensorFlow() {
    // crc32c("123456789") = 0xE3069283 (RFC 3720); masked as TF's crc32c::Mask
    int crc = 0xE3069283;
    int masked = ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    assertEquals(masked, TensorBoardWriter.maskedCrc32c("123456789".getBytes()));
  }
}
