package dev.deeplab.internal.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Intra-op threads for ONNX Runtime: physical cores from a {@code /sys/devices/system/cpu} tree. */
class CpuCoresTest {
  @TempDir Path sys;

  @Test
  void cpuListsExpandRanges() {
    assertArrayEquals(new int[] {0, 1, 2, 3, 8, 10, 11}, CpuCores.online("0-3,8,10-11"));
    assertArrayEquals(new int[] {0}, CpuCores.online("0"));
    assertArrayEquals(new int[0], CpuCores.online(""));
  }

  @Test
  void twoCoresWithOneThreadEachAreTwo() throws IOException {
    // this project's VM: ONNX Runtime's own default ran one thread on it
    cpu(0, 0, 0);
    cpu(1, 0, 1);
    online("0-1");
    assertEquals(2, CpuCores.physical(sys, 2));
  }

  @Test
  void hyperThreadSiblingsCountOnce() throws IOException {
    // 2 packages x 2 cores x 2 threads; Linux numbers the siblings after the first threads
    int[][] layout = {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 0}, {0, 1}, {1, 0}, {1, 1}};
    for (int cpu = 0; cpu < layout.length; cpu++) {
      cpu(cpu, layout[cpu][0], layout[cpu][1]);
    }
    online("0-7");
    assertEquals(4, CpuCores.physical(sys, 8));
  }

  @Test
  void neverMoreThanTheProcessMayUse() throws IOException {
    for (int cpu = 0; cpu < 8; cpu++) {
      cpu(cpu, 0, cpu);
    }
    online("0-7");
    assertEquals(3, CpuCores.physical(sys, 3), "a container quota or affinity of 3 CPUs");
  }

  @Test
  void offlineCpusAreNotCounted() throws IOException {
    for (int cpu = 0; cpu < 4; cpu++) {
      cpu(cpu, 0, cpu);
    }
    online("0,2");
    assertEquals(2, CpuCores.physical(sys, 4));
  }

  @Test
  void anUnreadableTreeFallsBackToTheAvailableProcessors() throws IOException {
    assertEquals(6, CpuCores.physical(sys.resolve("missing"), 6));
    online("0-1");
    cpu(0, 0, 0); // cpu1 has no topology
    assertEquals(6, CpuCores.physical(sys, 6));
    Files.writeString(sys.resolve("online"), "0-x\n");
    assertEquals(6, CpuCores.physical(sys, 6));
  }

  @Test
  void anExplicitCountIsKept() {
    assertEquals(3, CpuCores.intraOpThreads(3));
    assertEquals(1, CpuCores.intraOpThreads(1));
  }

  private void online(String list) throws IOException {
    Files.writeString(sys.resolve("online"), list + "\n");
  }

  private void cpu(int cpu, int pkg, int core) throws IOException {
    Path topology = Files.createDirectories(sys.resolve("cpu" + cpu).resolve("topology"));
    Files.writeString(topology.resolve("physical_package_id"), pkg + "\n");
    Files.writeString(topology.resolve("core_id"), core + "\n");
  }
}
