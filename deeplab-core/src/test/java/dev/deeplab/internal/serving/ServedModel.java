package dev.deeplab.internal.serving;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TString;
import org.tensorflow.types.TUint8;

/**
 * A SavedModel called the way TF Serving calls it: a signature by name, inputs by their signature
 * names, every output of the signature fetched.
 */
final class ServedModel implements AutoCloseable {
  private final SavedModelBundle bundle;

  ServedModel(Path dir) {
    bundle = SavedModelBundle.load(dir.toString(), SavedModelBundle.DEFAULT_TAG);
  }

  Map<String, SignatureDef> signatures() {
    return bundle.metaGraphDef().getSignatureDefMap();
  }

  /** Runs {@code signature} on encoded images; returns the {@code semantic_png_bytes}. */
  List<byte[]> pngs(List<byte[]> encoded) {
    SignatureDef sig = signatures().get(ServingGraph.DEFAULT_SIGNATURE);
    try (TString in = TString.tensorOfBytes(NdArrays.vectorOfObjects(encoded.toArray(new byte[0][])));
        Outputs r = run(sig, Map.of(ServingGraph.IMAGE_BYTES, in))) {
      TString out = (TString) r.get(ServingGraph.SEMANTIC_PNG_BYTES);
      List<byte[]> pngs = new ArrayList<>();
      for (long i = 0; i < out.shape().size(0); i++) {
        pngs.add(out.asBytes().getObject(i));
      }
      return pngs;
    }
  }

  /** {@code predict_images} on one RGB image: the class ids. */
  int[] ids(byte[] rgb, int width, int height) {
    SignatureDef sig = signatures().get(ServingGraph.IMAGES_SIGNATURE);
    try (TUint8 in = TUint8.tensorOf(Shape.of(1, height, width, 3), DataBuffers.of(rgb, true,
            false));
        Outputs r = run(sig, Map.of(ServingGraph.IMAGES, in))) {
      int[] ids = new int[width * height];
      ((TInt32) r.get(ServingGraph.SEMANTIC)).copyTo(DataBuffers.of(ids, false, false));
      return ids;
    }
  }

  /** The outputs of one run, by signature output name. */
  record Outputs(Result result, List<String> names) implements AutoCloseable {
    Tensor get(String name) {
      return result.get(names.indexOf(name));
    }

    @Override
    public void close() {
      result.close();
    }
  }

  /** Runs {@code sig} fetching every output, as TF Serving does. */
  Outputs run(SignatureDef sig, Map<String, Tensor> inputs) {
    Session.Runner runner = bundle.session().runner();
    inputs.forEach((k, v) -> runner.feed(sig.getInputsOrThrow(k).getName(), v));
    List<String> names = new ArrayList<>(sig.getOutputsMap().keySet());
    names.forEach(n -> runner.fetch(sig.getOutputsOrThrow(n).getName()));
    return new Outputs(runner.run(), names);
  }

  @Override
  public void close() {
    bundle.close();
  }
}
