package dev.deeplab.internal.infer;

import dev.deeplab.infer.SegmentationException;
import dev.deeplab.internal.serving.ServingTensors;
import java.io.IOException;
import java.nio.file.Path;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;

/** One of our SavedModels run by TensorFlow through its images signature. */
public final class TensorFlowNetwork implements Network {
  private final SavedModelBundle bundle;
  private final String images;
  private final String semantic;
  private final String probabilities;

  /**
   * Loads the SavedModel version directory {@code dir} with {@code threads} intra-op threads (0:
   * TensorFlow's default).
   *
   * @throws IOException if TensorFlow cannot load it or it has no images signature of ours
   */
  public TensorFlowNetwork(Path dir, int threads) throws IOException {
    HugePages.hintOnce();
    ConfigProto.Builder config = ConfigProto.newBuilder();
    if (threads > 0) {
      config.setIntraOpParallelismThreads(threads).setInterOpParallelismThreads(1);
    }
    try {
      bundle = SavedModelBundle.loader(dir.toString()).withTags(SavedModelBundle.DEFAULT_TAG)
          .withConfigProto(config.build()).load();
    } catch (TensorFlowException e) {
      throw new IOException("cannot load model " + dir + ": " + firstLine(e.getMessage()), e);
    }
    ServingTensors tensors = ServingTensors.find(bundle.metaGraphDef()).orElse(null);
    if (tensors == null) {
      bundle.close();
      throw new IOException("model " + dir + " has no signature with input 'images' and output "
          + "'semantic': not a DeepLab model of ours");
    }
    images = tensors.images();
    semantic = tensors.semantic();
    probabilities = tensors.probabilities().orElse(null);
  }

  @Override
  public Output run(byte[] rgb, int n, int height, int width, boolean withProbabilities) {
    Session.Runner runner = bundle.session().runner().fetch(semantic);
    if (withProbabilities) {
      runner.fetch(probabilities);
    }
    try (TUint8 input = TUint8.tensorOf(Shape.of(n, height, width, 3),
            DataBuffers.of(rgb, true, false));
        Result r = runner.feed(images, input).run()) {
      int[] ids = new int[Math.multiplyExact(n, width * height)];
      ((TInt32) r.get(0)).copyTo(DataBuffers.of(ids, false, false));
      float[] probs = null;
      if (withProbabilities) {
        TFloat32 p = (TFloat32) r.get(1);
        probs = new float[Math.toIntExact(p.shape().size())];
        p.copyTo(DataBuffers.of(probs, false, false));
      }
      return new Output(ids, probs);
    } catch (TensorFlowException e) {
      throw new SegmentationException("TensorFlow failed to segment " + (n > 1 ? "a batch of "
          + n + " " : "a ") + width + "x" + height + " image" + (n > 1 ? "s" : "") + ": "
          + firstLine(e.getMessage()), e);
    }
  }

  @Override
  public boolean hasProbabilities() {
    return probabilities != null;
  }

  @Override
  public void close() {
    bundle.close();
  }

  static String firstLine(String s) {
    return s == null ? "unknown error" : s.strip().split("\\R", 2)[0];
  }
}
