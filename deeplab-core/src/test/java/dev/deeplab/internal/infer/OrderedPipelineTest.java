package dev.deeplab.internal.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The segment pipeline: order, bounded items in flight, per-item errors, writer failures. */
class OrderedPipelineTest {

  private static void sleep(Random r) {
    try {
      Thread.sleep(r.nextInt(3));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void finishesEveryItemInOrderWithBoundedItemsAlive() throws Exception {
    List<Integer> inputs = IntStream.range(0, 200).boxed().toList();
    AtomicInteger alive = new AtomicInteger();
    AtomicInteger maxAlive = new AtomicInteger();
    Random random = new Random(1);
    Thread caller = Thread.currentThread();
    List<Integer> finished = new ArrayList<>();
    for (int depth : new int[] {1, 3}) {
      finished.clear();
      maxAlive.set(0);
      new OrderedPipeline<Integer, Integer, Integer>(
          i -> {
            maxAlive.accumulateAndGet(alive.incrementAndGet(), Math::max);
            sleep(random);
            return i * 10;
          },
          p -> {
            assertSame(caller, Thread.currentThread(), "compute runs on the calling thread");
            sleep(random);
            return p + 1;
          },
          r -> {
            sleep(random);
            assertEquals(r.input() * 10 + 1, r.computed());
            finished.add(r.index());
            alive.decrementAndGet();
          }, depth).run(inputs);
      assertEquals(inputs, finished);
      assertTrue(maxAlive.get() <= OrderedPipeline.inFlight(depth),
          maxAlive.get() + " items alive at once with depth " + depth);
      System.out.printf("pipeline depth %d: 200 items in order, at most %d alive (bound %d)%n",
          depth, maxAlive.get(), OrderedPipeline.inFlight(depth));
    }
  }

  @Test
  void itemErrorsReachTheWriterAndTheRestGoOn() throws Exception {
    List<String> seen = new ArrayList<>();
    new OrderedPipeline<Integer, Integer, Integer>(
        i -> {
          if (i == 2) {
            throw new IllegalArgumentException("bad input 2");
          }
          return i;
        },
        p -> {
          if (p == 4) {
            throw new IllegalStateException("network failed on 4");
          }
          return p;
        },
        r -> seen.add(r.index() + ":" + (r.error() == null ? r.computed()
            : r.error().getMessage())), 1).run(List.of(0, 1, 2, 3, 4, 5));
    assertEquals(List.of("0:0", "1:1", "2:bad input 2", "3:3", "4:network failed on 4", "5:5"),
        seen);
  }

  @Test
  void aWriterFailureStopsThePipelineAndIsRethrown() {
    AtomicInteger prepared = new AtomicInteger();
    Exception e = assertThrows(java.io.IOException.class,
        () -> new OrderedPipeline<Integer, Integer, Integer>(
            i -> {
              prepared.incrementAndGet();
              return i;
            },
            p -> p,
            r -> {
              if (r.index() == 3) {
                throw new java.io.IOException("disk full");
              }
            }, 1).run(IntStream.range(0, 10_000).boxed().toList()));
    assertEquals("disk full", e.getMessage());
    assertTrue(prepared.get() < 100, "stopped early: " + prepared.get() + " prepared");
  }
}
