package dev.deeplab.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Output file stems for a list of inputs, so that two inputs never write the same file: the file
 * name without its extension ({@code pets} for {@code a/pets.jpg}), and for a later input with a
 * stem already taken (compared ignoring case, for case-insensitive file systems) the first free
 * {@code pets-2}, {@code pets-3}, ...
 */
final class OutputNames {
  private OutputNames() {}

  static List<String> stems(List<Path> inputs) {
    Set<String> own = new HashSet<>();
    for (Path p : inputs) {
      own.add(key(stem(p)));
    }
    Set<String> used = new HashSet<>();
    List<String> out = new ArrayList<>();
    for (Path p : inputs) {
      String stem = stem(p);
      String name = stem;
      int n = 2;
      // A renamed input also skips names that are another input's own stem.
      while (used.contains(key(name)) || (!name.equals(stem) && own.contains(key(name)))) {
        name = stem + "-" + n++;
      }
      used.add(key(name));
      out.add(name);
    }
    return out;
  }

  private static String key(String s) {
    return s.toLowerCase(Locale.ROOT);
  }

  static String stem(Path p) {
    String n = p.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return dot > 0 ? n.substring(0, dot) : n;
  }
}
