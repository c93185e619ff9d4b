/**
 * Performance measurement: FLOP counting from a graph's convolution shapes ({@link
 * dev.deeplab.bench.FlopCounter}), latency measurement with warm-up and interleaving of
 * alternatives ({@link dev.deeplab.bench.LatencyRunner}), resident-memory readings ({@link
 * dev.deeplab.bench.ProcStats}), session settings for threads, bf16 and XLA ({@link
 * dev.deeplab.bench.SessionSettings}), inference and training benchmark targets, and the
 * memory-flatness check behind {@code deeplab bench}.
 *
 * <p>The machine this was tuned on is a shared 2-core VM; every comparison is therefore made side
 * by side in one run (interleaved), reporting medians, bests and the load average.
 */
package dev.deeplab.bench;
