package dev.deeplab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.types.TFloat32;

class BatchNormFoldingTest {

  /** He weights with non-trivial batch-norm statistics, so that folding has work to do. */
  private static Map<String, FloatTensor> weights(ModelConfig c) {
    Map<String, FloatTensor> w = new LinkedHashMap<>(AtrousParity.randomWeights(c, 3));
    SplittableRandom r = new SplittableRandom(5);
    w.replaceAll((name, t) -> {
      float[] d = t.data().clone();
      if (name.endsWith("gamma") || name.endsWith("moving_variance")) {
        for (int i = 0; i < d.length; i++) {
          d[i] = (float) (0.5 + r.nextDouble());
        }
      } else if (name.endsWith("beta") || name.endsWith("moving_mean")) {
        for (int i = 0; i < d.length; i++) {
          d[i] = (float) (0.2 * (r.nextDouble() - 0.5));
        }
      }
      return new FloatTensor(t.shape(), d);
    });
    return w;
  }

  private static float[] logits(Graph g, Map<String, FloatTensor> w, float[] pixels, int size)
      throws Exception {
    try (Session s = new Session(g)) {
      Checkpoints.restore(s, w);
      try (TFloat32 in = TFloat32.tensorOf(Shape.of(1, size, size, 3),
              DataBuffers.of(pixels, true, false));
          Result r = s.runner().feed("pixels", in).fetch("logits_output").run()) {
        TFloat32 out = (TFloat32) r.get(0);
        float[] v = new float[(int) out.shape().size()];
        out.copyTo(DataBuffers.of(v, false, false));
        return v;
      }
    }
  }

  @Test
  void foldingKeepsTheLogits() throws Exception {
    int size = 65;   // OS16 on 65x65: the last MobileNetV2 layers are atrous (space-to-batch)
    ModelConfig c = ModelConfig.preset("mobilenetv2_coco_voc").withCropSize(size, size);
    Map<String, FloatTensor> w = weights(c);
    float[] pixels = new float[size * size * 3];
    SplittableRandom r = new SplittableRandom(9);
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = r.nextInt(256);
    }
    try (ModelGraph g = ModelGraph.build(c, AtrousMode.SPACE_TO_BATCH)) {
      float[] expected = logits(g.graph(), w, pixels, size);
      BatchNormFolding.Result folded = BatchNormFolding.fold(g.graph().toGraphDef());
      assertTrue(folded.foldedIntoConv() > 30, "folded " + folded.foldedIntoConv());
      try (Graph f = new Graph()) {
        f.importGraphDef(folded.graph());
        int batchNorms = 0;
        for (var it = f.operations(); it.hasNext(); ) {
          GraphOperation op = it.next();
          if (op.type().startsWith("FusedBatchNorm")) {
            batchNorms++;
          }
        }
        assertEquals(0, batchNorms);
        float[] actual = logits(f, w, pixels, size);
        double maxAbs = 0;
        double diff = 0;
        for (int i = 0; i < expected.length; i++) {
          maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
          diff = Math.max(diff, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(diff <= 1e-4 * Math.max(1, maxAbs), "max diff " + diff + " scale " + maxAbs);
      }
    }
  }

  @Test
  void parsesInputNames() {
    assertEquals("a/b", BatchNormFolding.producer("a/b:1"));
    assertEquals("a/b", BatchNormFolding.producer("^a/b"));
    assertEquals(1, BatchNormFolding.outputIndex("a/b:1"));
    assertEquals(0, BatchNormFolding.outputIndex("a/b"));
    assertEquals(0, BatchNormFolding.fold(GraphDef.getDefaultInstance()).foldedIntoConv());
  }
}
