package dev.deeplab.export;

import dev.deeplab.internal.onnx.OnnxFiles;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes one of our SavedModels as an ONNX model (<a href="https://onnx.ai/onnx/repo-docs/IR.html">
 * ONNX IR</a>, opset 17) for ONNX Runtime and other ONNX runtimes: the same single-scale
 * computation as the model's {@code predict_images} / {@code predict_probabilities} signatures
 * (the official export's preprocessing inside), with batch norm folded into the convolution
 * weights and dilated convolutions as such.
 *
 * <ul>
 *   <li>input {@code images}: uint8 {@code [batch, height, width, 3]}, RGB, any size (larger
 *       images are scaled down to fit the crop inside the model, as our serving graph does);
 *   <li>output {@code semantic}: int32 {@code [batch, height, width]} class ids;
 *   <li>optional output {@code probabilities}: float32 {@code [batch, height, width, classes]}.
 * </ul>
 *
 * <p>The model info (architecture, labels, source) is stored in the file's metadata under {@code
 * deeplab_model.json}, so {@link dev.deeplab.infer.Segmenter} loads the file as it is. The file is
 * written under a temporary name and renamed. Stateless and thread-safe.
 */
public final class OnnxExporter {
  private OnnxExporter() {}

  /**
   * Exports {@code model} (one of our SavedModels: a version directory, or a base whose highest
   * version is taken) to the file {@code target}.
   *
   * @param probabilities also write the {@code probabilities} output
   * @return the number of batch norms folded into convolution weights
   * @throws IOException if {@code model} is not a single-scale SavedModel of ours with weights
   *     (a wrapped frozen graph has none), or the file cannot be written
   */
  public static int export(Path model, Path target, boolean probabilities) throws IOException {
    return OnnxFiles.write(model, target, probabilities);
  }
}
