package dev.deeplab.data;

/** Checks of names taken from the user that become path components. */
final class Names {
  private Names() {}

  /** Refuses a split name that is blank or would leave its directory. */
  static void requirePlain(String split) {
    if (split.isBlank() || split.contains("/") || split.contains("\\") || split.contains("..")) {
      throw new IllegalArgumentException("split must be a plain name such as 'train', got '"
          + split + "'");
    }
  }
}
