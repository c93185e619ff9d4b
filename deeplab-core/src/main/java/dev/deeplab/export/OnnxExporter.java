package dev.deeplab.export;

import dev.deeplab.internal.onnx.OnnxFiles;
import dev.deeplab.internal.onnx.OnnxModelWriter.Outputs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

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
    return OnnxFiles.write(model, target, outputs(probabilities));
  }

  /**
   * Whether {@link #export} can write {@code model}: a single-scale SavedModel of ours with
   * weights (not a wrapped frozen graph, nor a PyTorch network), as the ONNX Runtime engine
   * needs too.
   */
  public static boolean supports(Path model) {
    return OnnxFiles.supports(model);
  }

  /**
   * What {@link #exportInt8} wrote.
   *
   * @param convolutions convolutions given int8 weights
   * @param activations activation tensors quantised to uint8
   * @param calibrationImages images the activations' ranges were measured on
   */
  public record Int8Export(int convolutions, int activations, int calibrationImages) {}

  /** Told after each calibration image, e.g. for progress. */
  @FunctionalInterface
  public interface CalibrationListener {
    /** {@code done} of {@code total} calibration images have run. */
    void calibrated(int done, int total);
  }

  /**
   * Exports {@code model} as {@link #export} does, quantised to int8 in ONNX's QDQ form, which
   * ONNX Runtime runs on its integer kernels ({@code QLinearConv}, ...): static post-training
   * quantisation with uint8 activations (ranges measured by running the fp32 model in ONNX Runtime
   * on {@code calibrationImages}), int8 weights per output channel and convolution biases
   * corrected for the weights' rounding (Nagel et al., ICCV 2019). The pre- and post-processing,
   * the logits and the probabilities stay float. Calibrate on a few dozen images like those to
   * be segmented; measure the accuracy cost with {@code deeplab eval --precision int8}.
   *
   * @param calibrationImages image files, or directories whose image files are taken
   * @param listener told after each calibration image
   * @throws IOException as {@link #export}, if there is no calibration image or one cannot be
   *     read, or ONNX Runtime (needed here) cannot run the model
   */
  public static Int8Export exportInt8(Path model, Path target, List<Path> calibrationImages,
      boolean probabilities, CalibrationListener listener) throws IOException {
    OnnxFiles.Int8Written w = OnnxFiles.writeInt8(model, target, calibrationImages,
        outputs(probabilities), listener);
    return new Int8Export(w.convolutions(), w.activations(), w.images());
  }

  private static Outputs outputs(boolean probabilities) {
    return probabilities ? Outputs.PROBABILITIES : Outputs.CLASS_IDS;
  }
}
