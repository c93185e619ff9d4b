package dev.deeplab.internal.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.infer.Segmenter;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tensorflow.EagerSession;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.op.image.ResizeNearestNeighbor;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The Java resizing of {@link Segmenter}'s large-image path against TensorFlow's own kernels
 * ({@code ResizeBilinear} / {@code ResizeNearestNeighbor} with {@code align_corners=True}, run
 * eagerly): the same formulas, so nearest neighbour must match exactly and bilinear to float
 * rounding.
 */
class ResamplingTest {
  private static final int[][] SIZES = {
    // in h, in w, out h, out w
    {37, 53, 9, 13}, {400, 333, 97, 81}, {10, 10, 10, 10}, {5, 7, 1, 1}, {1, 1, 4, 3},
    {9, 13, 37, 53}, {81, 97, 400, 333}, {2, 3, 1000, 7}
  };

  private static EagerSession session;
  private static Ops tf;

  @BeforeAll
  static void open() {
    session = EagerSession.create();
    tf = Ops.create(session);
  }

  @AfterAll
  static void close() {
    session.close();
  }

  @Test
  void fittedSizeIsTheServingGraphs() {
    assertArrayEquals(new int[] {513, 410}, Resampling.fittedSize(10_000, 8_000, 513, 513));
    assertArrayEquals(new int[] {410, 513}, Resampling.fittedSize(8_000, 10_000, 513, 513));
    assertArrayEquals(new int[] {300, 200}, Resampling.fittedSize(300, 200, 513, 513));
    assertArrayEquals(new int[] {513, 1}, Resampling.fittedSize(100_000, 1, 513, 513));
    assertArrayEquals(new int[] {97, 81}, Resampling.fittedSize(600, 500, 97, 97));
  }

  @Test
  void bilinearMatchesTensorFlow() {
    Random random = new Random(7);
    for (int[] s : SIZES) {
      int channels = 3 + random.nextInt(20);
      float[] in = new float[s[0] * s[1] * channels];
      for (int i = 0; i < in.length; i++) {
        in[i] = random.nextFloat();
      }
      float[] ours = Resampling.bilinear(in, s[1], s[0], channels, s[3], s[2]);
      float[] theirs = tfBilinear(in, s[0], s[1], channels, s[2], s[3]);
      assertEquals(theirs.length, ours.length);
      for (int i = 0; i < ours.length; i++) {
        assertEquals(theirs[i], ours[i], 1e-6f, "size " + java.util.Arrays.toString(s) + " @" + i);
      }
    }
  }

  @Test
  void bilinearRgbIsTensorFlowRounded() {
    Random random = new Random(8);
    for (int[] s : SIZES) {
      byte[] rgb = new byte[s[0] * s[1] * 3];
      random.nextBytes(rgb);
      float[] asFloat = new float[rgb.length];
      for (int i = 0; i < rgb.length; i++) {
        asFloat[i] = rgb[i] & 0xFF;
      }
      byte[] ours = Resampling.bilinearRgb(rgb, s[1], s[0], s[3], s[2]);
      float[] theirs = tfBilinear(asFloat, s[0], s[1], 3, s[2], s[3]);
      for (int i = 0; i < ours.length; i++) {
        assertTrue(Math.abs((ours[i] & 0xFF) - theirs[i]) <= 0.5f + 1e-4f,
            "size " + java.util.Arrays.toString(s) + " @" + i);
      }
    }
  }

  @Test
  void nearestMatchesTensorFlowExactly() {
    Random random = new Random(9);
    for (int[] s : SIZES) {
      int[] ids = new int[s[0] * s[1]];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = random.nextInt(21);
      }
      int[] ours = Resampling.nearest(ids, s[1], s[0], s[3], s[2]);
      try (TInt32 t = TInt32.tensorOf(Shape.of(1, s[0], s[1], 1), DataBuffers.of(ids, true, false));
          TInt32 r = tf.image.resizeNearestNeighbor(tf.constantOf(t),
              tf.constant(new int[] {s[2], s[3]}), ResizeNearestNeighbor.alignCorners(true))
              .asTensor()) {
        int[] theirs = new int[s[2] * s[3]];
        r.copyTo(DataBuffers.of(theirs, false, false));
        assertArrayEquals(theirs, ours, "size " + java.util.Arrays.toString(s));
      }
    }
  }

  private static float[] tfBilinear(float[] in, int h, int w, int channels, int oh, int ow) {
    try (TFloat32 t = TFloat32.tensorOf(Shape.of(1, h, w, channels),
            DataBuffers.of(in, true, false));
        TFloat32 r = tf.image.resizeBilinear(tf.constantOf(t), tf.constant(new int[] {oh, ow}),
            ResizeBilinear.alignCorners(true)).asTensor()) {
      float[] out = new float[oh * ow * channels];
      r.copyTo(DataBuffers.of(out, false, false));
      return out;
    }
  }
}
