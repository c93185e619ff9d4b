package dev.deeplab.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.OptimizerOptions;
import org.tensorflow.proto.RewriterConfig;

class BenchBasicsTest {

  @Test
  void latencyStatistics() {
    LatencyStats odd = new LatencyStats(new long[] {5, 1, 3}, 0, 0);
    assertEquals(3, odd.medianNanos());
    assertEquals(1, odd.bestNanos());
    assertEquals(3, odd.meanNanos(), 1e-12);
    LatencyStats even = new LatencyStats(new long[] {4, 1, 3, 2}, 0, 0);
    assertEquals(2.5, even.medianNanos());
    assertEquals(4, even.p90Nanos());
    assertThrows(IllegalArgumentException.class, () -> new LatencyStats(new long[0], 0, 0));
  }

  @Test
  void interleavesAfterWarmup() {
    StringBuilder order = new StringBuilder();
    Map<String, LatencyStats> s = LatencyRunner.interleaved(List.of(
        new LatencyRunner.Candidate("a", () -> order.append('a')),
        new LatencyRunner.Candidate("b", () -> order.append('b'))), 2, 3);
    assertEquals("aabbababab", order.toString());
    assertEquals(List.of("a", "b"), List.copyOf(s.keySet()));
    assertEquals(3, s.get("a").count());
  }

  @Test
  void parsesProcStatus() {
    List<String> lines = List.of("Name:\tjava", "VmHWM:\t  123456 kB", "VmRSS:\t   65432 kB");
    assertEquals(65432, ProcStats.parseKb(lines, "VmRSS:"));
    assertEquals(123456, ProcStats.parseKb(lines, "VmHWM:"));
    assertEquals(-1, ProcStats.parseKb(lines, "VmSwap:"));
    if (System.getProperty("os.name").toLowerCase().contains("linux")) {
      assertTrue(ProcStats.rssBytes() > 0);
      assertTrue(ProcStats.peakRssBytes() > 0);   // VmHWM may lag VmRSS slightly
      assertTrue(ProcStats.loadAverage1() >= 0);
    }
  }

  @Test
  void sessionSettingsMapToProtoFields() {
    ConfigProto plain = SessionSettings.defaults().toConfigProto();
    assertEquals(0, plain.getIntraOpParallelismThreads());
    assertFalse(plain.hasGraphOptions());
    ConfigProto c = new SessionSettings(2, 1, Precision.BF16, true).toConfigProto();
    assertEquals(2, c.getIntraOpParallelismThreads());
    assertEquals(1, c.getInterOpParallelismThreads());
    assertEquals(RewriterConfig.Toggle.ON,
        c.getGraphOptions().getRewriteOptions().getAutoMixedPrecisionOnednnBfloat16());
    assertEquals(OptimizerOptions.GlobalJitLevel.ON_1,
        c.getGraphOptions().getOptimizerOptions().getGlobalJitLevel());
    assertTrue(c.getGraphOptions().getOptimizerOptions().getCpuGlobalJit());
    assertEquals(Precision.BF16, Precision.parse("BF16"));
    assertThrows(IllegalArgumentException.class, () -> Precision.parse("fp16"));
    assertEquals(870.0, Precision.BF16.peakGflops());
  }

  @Test
  void memoryFlatnessGrowth() {
    MemoryFlatness m = new MemoryFlatness(100, 1000, 1000, 1015, 2000, 1);
    assertEquals(1.5, m.growthPercent(), 1e-12);
    assertTrue(m.flatWithin(2));
    assertFalse(new MemoryFlatness(100, 1000, 1000, 1030, 2000, 1).flatWithin(2));
    AtomicInteger calls = new AtomicInteger();
    MemoryFlatness real = MemoryFlatness.measure(calls::incrementAndGet, 10, 30);
    assertEquals(30, calls.get());
    assertEquals(10, real.firstRuns());
  }

  @Test
  void heUniformWeightsAreBoundedAndIdentityBatchNorm() {
    dev.deeplab.model.ModelConfig c = dev.deeplab.model.ModelConfig.preset("mobilenetv2_coco_voc")
        .withCropSize(65, 65);
    var w = AtrousParity.randomWeights(c, 7);
    var kernel = w.get("MobilenetV2/Conv/weights");
    double limit = Math.sqrt(6.0 / (3 * 3 * 3));
    for (float v : kernel.data()) {
      assertTrue(Math.abs(v) <= limit);
    }
    for (float v : w.get("MobilenetV2/Conv/BatchNorm/moving_variance").data()) {
      assertEquals(1f, v);
    }
    assertEquals(0f, w.get("MobilenetV2/Conv/BatchNorm/moving_mean").data()[0]);
  }
}
