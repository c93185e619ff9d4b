package dev.deeplab.internal.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/** The calibration images a user names: image files, and the image files of directories. */
final class CalibrationImages {
  private static final Set<String> EXTENSIONS = Set.of("jpg", "jpeg", "png", "bmp", "gif");

  private CalibrationImages() {}

  /**
   * {@code paths} with each directory replaced by its image files (by extension, not recursive,
   * sorted by name).
   *
   * @throws IOException if a path does not exist, or there is no image at all
   */
  static List<Path> files(List<Path> paths) throws IOException {
    List<Path> files = new ArrayList<>();
    for (Path p : paths) {
      if (Files.isDirectory(p)) {
        try (Stream<Path> list = Files.list(p)) {
          list.filter(f -> Files.isRegularFile(f) && isImage(f)).sorted().forEach(files::add);
        }
      } else if (Files.isRegularFile(p)) {
        files.add(p);
      } else {
        throw new NoSuchFileException(p.toString(), null, "no such calibration image");
      }
    }
    if (files.isEmpty()) {
      throw new IOException("no calibration images in " + paths
          + " (give image files or directories of .jpg/.png/.bmp/.gif files)");
    }
    return files;
  }

  private static boolean isImage(Path f) {
    String name = f.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
  }
}
