package dev.deeplab.cli;

import dev.deeplab.model.LabelSet;
import picocli.CommandLine;

/** {@code --labels}: a built-in label set's name or a label file ({@link LabelSet#of}). */
final class LabelSetConverter implements CommandLine.ITypeConverter<LabelSet> {
  /** The option's description, shared by the commands that take it. */
  static final String DESCRIPTION = "Class names (and colours): pascal_voc, cityscapes, ade20k, "
      + "or a label file with one class per line ('name' or 'name #RRGGBB'). Recorded in the "
      + "model; without it classes are named class_0, class_1, ...";

  @Override
  public LabelSet convert(String value) {
    try {
      return LabelSet.of(value);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.TypeConversionException(e.getMessage());
    }
  }
}
