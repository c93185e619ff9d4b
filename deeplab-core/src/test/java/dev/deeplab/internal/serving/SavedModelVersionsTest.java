package dev.deeplab.internal.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Version directories as TF Serving reads them: decimal int64 names of any length (timestamps
 * included), the highest served; other names are not versions.
 */
class SavedModelVersionsTest {
  private static final ModelInfo INFO = new ModelInfo(
      ModelConfig.defaults(ModelVariant.MOBILENET_V2, 16).withNumClasses(2),
      LabelSet.unnamed(2), "test");

  @Test
  void versionNamesAreDecimalInt64() {
    assertEquals(OptionalLong.of(1733097600L), SavedModels.parseVersion("1733097600"));
    assertEquals(OptionalLong.of(Long.MAX_VALUE), SavedModels.parseVersion("9223372036854775807"));
    assertEquals(OptionalLong.of(12), SavedModels.parseVersion("0012"));
    assertEquals(OptionalLong.empty(), SavedModels.parseVersion("9223372036854775808"));
    assertEquals(OptionalLong.empty(), SavedModels.parseVersion("v1"));
    assertEquals(OptionalLong.empty(), SavedModels.parseVersion(".export-3-123"));
    assertEquals(OptionalLong.empty(), SavedModels.parseVersion("-1"));
  }

  @Test
  void timestampVersionsAreServedAndFollowedByTheNextOne(@TempDir Path base) throws IOException {
    write(base, 2);
    write(base, 1733097600123L);
    Files.createDirectories(base.resolve("99999999999999999999"));  // not int64: ignored
    Files.createDirectories(base.resolve("latest"));
    assertEquals(OptionalLong.of(1733097600123L), SavedModels.latestVersion(base));
    assertEquals(base.resolve("1733097600123"), SavedModels.resolve(base));
    assertEquals(1733097600124L, SavedModels.nextVersion(base));
    assertEquals(base.resolve("1733097600124"), write(base, -1));
  }

  @Test
  void nonPositiveVersionsAreRefused(@TempDir Path base) {
    assertThrows(IllegalArgumentException.class, () -> write(base, 0));
  }

  private static Path write(Path base, long version) throws IOException {
    return SavedModels.writeVersion(base, version < 0 ? OptionalLong.empty()
        : OptionalLong.of(version), INFO,
        dir -> Files.writeString(dir.resolve("saved_model.pb"), "x"));
  }
}
