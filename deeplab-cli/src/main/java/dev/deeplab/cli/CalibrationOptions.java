package dev.deeplab.cli;

import dev.deeplab.export.OnnxExporter;
import dev.deeplab.infer.Engine;
import dev.deeplab.infer.Segmenter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * {@code --precision fp32|int8} and {@code --calibration PATH...}: int8 inference on ONNX Runtime,
 * the model quantised once with its activations calibrated on the user's images ({@link
 * OnnxExporter#exportInt8}), shown as progress while it runs.
 */
final class CalibrationOptions {
  static final String PRECISION_DESCRIPTION = "fp32 (default) or int8 (ONNX Runtime, the model "
      + "quantised once into the cache with --calibration images; README, \"int8\").";
  static final String CALIBRATION_DESCRIPTION = "With --precision int8: calibration images, "
      + "files or directories of them, comma-separated (a few dozen like those to be segmented).";

  @Option(names = "--precision", paramLabel = "PRECISION", description = PRECISION_DESCRIPTION)
  String precision;

  @Option(names = "--calibration", paramLabel = "PATH", split = ",",
      description = CALIBRATION_DESCRIPTION)
  List<Path> calibration;

  /** True for {@code --precision int8}; checks the two options agree. */
  boolean int8() {
    boolean int8 = switch (precision == null ? "fp32" : precision.trim().toLowerCase(Locale.ROOT)) {
      case "fp32" -> false;
      case "int8" -> true;
      default -> throw new UsageError("--precision must be fp32 or int8, got '" + precision + "'");
    };
    if (int8 && calibration == null) {
      throw new UsageError("--precision int8 needs --calibration images (files or directories)");
    }
    if (!int8 && calibration != null) {
      throw new UsageError("--calibration goes with --precision int8");
    }
    return int8;
  }

  /**
   * Builds {@code builder}, int8 for {@code --precision int8} (refusing {@code engine}
   * tensorflow), with calibration progress shown if the int8 model is not cached yet.
   */
  Segmenter build(Segmenter.Builder builder, Engine engine) throws IOException {
    if (!int8()) {
      return builder.build();
    }
    if (engine == Engine.TENSORFLOW) {
      throw new UsageError("--precision int8 runs on --engine onnxruntime, not tensorflow");
    }
    return buildInt8(builder, calibration);
  }

  /** Builds {@code builder} in int8 calibrated on {@code calibration}, showing progress. */
  static Segmenter buildInt8(Segmenter.Builder builder, List<Path> calibration)
      throws IOException {
    try (Listener listener = new Listener()) {
      return builder.int8(calibration, listener).build();
    }
  }

  /** Calibration progress: a bar (or log lines) from the first calibrated image on. */
  static final class Listener implements OnnxExporter.CalibrationListener, AutoCloseable {
    private Progress progress;

    @Override
    public void calibrated(int done, int total) {
      if (progress == null) {
        progress = Progress.start("calibrate", total);
      }
      progress.step();
    }

    @Override
    public void close() {
      if (progress != null) {
        progress.close();
        progress = null;
      }
    }
  }
}
