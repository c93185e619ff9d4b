package dev.deeplab.internal.tflite;

/**
 * An entry of the model's operator-code table ({@code table OperatorCode} in the TFLite schema).
 *
 * @param builtinCode the builtin operator code: {@code max(deprecated_builtin_code, builtin_code)},
 *     the rule the schema prescribes for old and new files alike
 * @param customCode the custom operator name, {@code ""} for builtins
 * @param version the operator version
 */
public record TfliteOperatorCode(int builtinCode, String customCode, int version) {

  /** The operator name: the builtin name (e.g. {@code CONV_2D}), or the custom code. */
  public String name() {
    return builtinCode == BuiltinOperators.CUSTOM && !customCode.isEmpty()
        ? customCode
        : BuiltinOperators.name(builtinCode);
  }
}
