package dev.deeplab.cli;

import dev.deeplab.infer.Engine;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** {@code --engine tensorflow|onnxruntime}. */
final class EngineConverter implements ITypeConverter<Engine> {
  static final String DESCRIPTION = "tensorflow or onnxruntime";

  @Override
  public Engine convert(String value) {
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "tensorflow", "tf" -> Engine.TENSORFLOW;
      case "onnxruntime", "ort", "onnx" -> Engine.ONNX_RUNTIME;
      default -> throw new TypeConversionException(
          "expected " + DESCRIPTION + ", got '" + value + "'");
    };
  }

  /** The option's spelling of an engine. */
  static String name(Engine e) {
    return e == Engine.TENSORFLOW ? "tensorflow" : "onnxruntime";
  }
}
