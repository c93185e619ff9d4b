package dev.deeplab.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test data directories of deeplab-core ({@code src/test/resources}), found as files from the
 * working directory of any module's tests (Maven runs each module's tests in its own directory,
 * and other modules see deeplab-core's test classes as a jar, where resources are no directories).
 */
public final class TestData {
  private TestData() {}

  /** {@code deeplab-core/src/test/resources/<relative>}. */
  public static Path resources(String relative) {
    for (Path base : new Path[] {Path.of("src/test/resources"),
        Path.of("../deeplab-core/src/test/resources")}) {
      Path p = base.resolve(relative);
      if (Files.exists(p) && Files.exists(base.getParent().resolve("java/dev/deeplab"))) {
        return p;
      }
    }
    throw new IllegalStateException("test data " + relative + " not found from "
        + Path.of("").toAbsolutePath() + " (run the tests from a module directory)");
  }

  /** The voc-mini dataset: 4 PASCAL VOC 2012 val images with labels; train = val. */
  public static Path vocMini() {
    return resources("voc-mini");
  }

  /**
   * The fixture datasets of {@code tools/reference/make_dataset_fixtures.py}: {@code cityscapes},
   * {@code ade20k/ADEChallengeData2016}, {@code tfrecord}.
   */
  public static Path datasets(String relative) {
    return resources("datasets/" + relative);
  }
}
