package dev.deeplab.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.model.ModelGraph;
import org.junit.jupiter.api.Test;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/** The full-size xception_65 DeepLabv3+ at output stride 16 runs a 513×513 image on the CPU. */
class FullSizeForwardTest {

  @Test
  void xception65DeepLabV3PlusAt513() {
    ModelConfig c = ModelConfig.preset("xception65_coco_voc");
    try (ModelGraph g = ModelGraph.build(c); Session s = new Session(g.graph())) {
      s.initialize();
      float[] pixels = new float[513 * 513 * 3];
      for (int i = 0; i < pixels.length; i++) {
        pixels[i] = (i * 37) % 256;
      }
      long t = System.nanoTime();
      try (TFloat32 x = TFloat32.tensorOf(Shape.of(1, 513, 513, 3), DataBuffers.of(pixels, true, false));
          Result r = s.runner().feed(g.pixels(), x).fetch(g.logits()).run()) {
        TFloat32 logits = (TFloat32) r.get(0);
        System.out.printf("xception_65 DLv3+ OS16 513x513, first run (includes kernel setup): %.0f ms%n",
            (System.nanoTime() - t) / 1e6);
        assertArrayEquals(new long[] {1, 129, 129, 21}, logits.shape().asArray());
        float[] out = new float[(int) logits.shape().size()];
        logits.copyTo(DataBuffers.of(out, false, false));
        for (float v : out) {
          assertTrue(Float.isFinite(v), "non-finite logit");
        }
      }
    }
  }
}
