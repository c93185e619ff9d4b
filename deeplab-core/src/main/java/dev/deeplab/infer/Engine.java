package dev.deeplab.infer;

/**
 * The runtime that executes the network for a {@link Segmenter}. Both compute the same thing, the
 * single-scale inference of the official export ({@code research/deeplab/export_model.py}); their
 * outputs agree within 1e-4 in probability (BENCHMARKS.md has the speed of each).
 */
public enum Engine {
  /** TensorFlow's own kernels, on our SavedModel (the only engine for multi-scale models). */
  TENSORFLOW,
  /**
   * ONNX Runtime's CPU kernels on the model written as ONNX ({@link
   * dev.deeplab.export.OnnxExporter}): batch norm folded into the convolutions, native dilated
   * convolutions. Needs {@code com.microsoft.onnxruntime:onnxruntime} on the classpath (an
   * optional dependency of this library).
   */
  ONNX_RUNTIME
}
