package dev.deeplab.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deeplab import --pytorch}: command-line mistakes exit 2 (a line and the usage), refused
 * files exit 1 with one line; no output directory either way (the import of real state dicts is checked against PyTorch by
 * {@code tools/interop/check_pytorch_import.py}).
 */
class ImportPytorchTest {
  private static final Path TORCH = Path.of("../deeplab-core/src/test/resources/torch");

  @TempDir
  Path tmp;

  private CliReliabilityTest.Run importing(String file, String... more) {
    String[] args = new String[5 + more.length];
    args[0] = "import";
    args[1] = "--pytorch";
    args[2] = TORCH.resolve(file).toString();
    args[3] = "--output";
    args[4] = tmp.resolve("out").toString();
    System.arraycopy(more, 0, args, 5, more.length);
    return CliReliabilityTest.run(args);
  }

  private void assertRefused(CliReliabilityTest.Run r, int code, String expected) {
    CliReliabilityTest.assertImportRefused(r, code, expected);
    assertFalse(Files.exists(tmp.resolve("out")));
  }

  @Test
  void needsAPytorchArchitecture() {
    assertRefused(importing("state_dict.pth"), 2, "--pytorch needs --arch");
    assertRefused(importing("state_dict.pth", "--arch", "resnet_v1_50"), 2,
        "is not a PyTorch network (expected one of torchvision_deeplabv3_resnet50");
    assertRefused(importing("state_dict.pth", "--arch", "nope"), 2, "unknown --arch 'nope'");
    assertRefused(importing("state_dict.pth", "--arch", "torchvision_deeplabv3_resnet50",
        "--decoder"), 2, "--pytorch takes --arch, --num-classes and --output-stride only");
    assertRefused(importing("state_dict.pth", "--arch", "torchvision_deeplabv3_resnet50",
        "--output-stride", "16"), 2, "has output stride 8 only");
  }

  @Test
  void refusesMaliciousPickleUnrun() {
    assertRefused(importing("evil_os_system.pth", "--arch", "torchvision_deeplabv3_resnet50"), 1,
        "asks for global posix.system, which a state dict does not need: refused");
    assertFalse(Files.exists(Path.of("/tmp/deeplab_pwned")));
  }

  @Test
  void refusesAStateDictOfAnotherNetwork() {
    assertRefused(importing("state_dict.pth", "--arch", "torchvision_deeplabv3_resnet50"), 1,
        "does not fit torchvision_deeplabv3_resnet50: 302 missing, 7 unexpected");
  }
}
