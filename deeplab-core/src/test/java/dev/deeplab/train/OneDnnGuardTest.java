package dev.deeplab.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Training refuses the CPU's oneDNN kernels, whose conv gradients are wrong here. The test JVM
 * runs with {@code TF_ENABLE_ONEDNN_OPTS=0} (pom.xml), so the guard lets CPU training through;
 * the refusal is checked through the override property, which is the guard's only other input.
 */
class OneDnnGuardTest {

  @Test
  void testJvmRunsOnEigenKernels() {
    assertEquals("0", System.getenv("TF_ENABLE_ONEDNN_OPTS"),
        "pom.xml must run tests with TF_ENABLE_ONEDNN_OPTS=0");
    Trainer.requireCorrectCpuGradients(List.of());
    Trainer.requireCorrectCpuGradients(List.of("/device:CPU:0", "/device:CPU:1"));
  }

  @Test
  void gpuOnlyTrainingIsNotChecked() {
    Trainer.requireCorrectCpuGradients(List.of("/device:GPU:0"));
  }

  @Test
  void messageTellsHowToFixIt() {
    // Simulate a JVM started without the variable by checking the message the guard builds.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Trainer.requireCorrectCpuGradients(List.of("/device:CPU:0"), null));
    assertEquals(true, e.getMessage().contains("TF_ENABLE_ONEDNN_OPTS=0"), e.getMessage());
  }
}
