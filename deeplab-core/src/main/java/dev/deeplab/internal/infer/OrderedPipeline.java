package dev.deeplab.internal.infer;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Runs items through three stages so that the slow middle one (the network) never waits for the
 * others: {@code prepare} (read and decode) on a reader thread, {@code compute} on the calling
 * thread, {@code finish} (encode and write) on a writer thread. Items are finished in input order;
 * at most {@code depth} items wait between two stages, so memory stays bounded by {@link
 * #inFlight} items whatever the input count.
 *
 * <p>An exception thrown by {@code prepare} or {@code compute} for one item does not stop the
 * others: it is handed to {@code finish} as that item's {@link Result#error}. An exception thrown
 * by {@code finish} stops the pipeline and is rethrown by {@link #run}.
 *
 * <p>Instances are not reusable concurrently; each {@link #run} starts and stops its own threads.
 *
 * @param <I> input items (e.g. paths)
 * @param <P> prepared items (e.g. decoded images)
 * @param <C> computed items (e.g. segmentations)
 */
public final class OrderedPipeline<I, P, C> {

  /** A stage that may fail for one item. */
  @FunctionalInterface
  public interface Stage<A, B> {
    B apply(A input) throws Exception;
  }

  /** The last stage: the input, what was prepared, the computed result or the item's error. */
  @FunctionalInterface
  public interface Finish<I, P, C> {
    void accept(Result<I, P, C> result) throws Exception;
  }

  /**
   * One item at the end of the pipeline.
   *
   * @param index position in the input list
   * @param input the input item
   * @param prepared what {@code prepare} returned, or null if it failed
   * @param computed what {@code compute} returned, or null if an earlier stage failed
   * @param error the exception of {@code prepare} or {@code compute}, or null
   */
  public record Result<I, P, C>(int index, I input, P prepared, C computed, Exception error) {}

  private final Stage<I, P> prepare;
  private final Stage<P, C> compute;
  private final Finish<I, P, C> finish;
  private final int depth;

  /**
   * @param prepare runs on the reader thread
   * @param compute runs on the thread that calls {@link #run}
   * @param finish runs on the writer thread, in input order
   * @param depth items allowed to wait between two stages (at least 1)
   */
  public OrderedPipeline(Stage<I, P> prepare, Stage<P, C> compute, Finish<I, P, C> finish,
      int depth) {
    if (depth < 1) {
      throw new IllegalArgumentException("depth must be at least 1, got " + depth);
    }
    this.prepare = prepare;
    this.compute = compute;
    this.finish = finish;
    this.depth = depth;
  }

  /** The most items alive at once with queues of {@code depth}: {@code 2 * depth + 3}. */
  public static int inFlight(int depth) {
    return 2 * depth + 3;
  }

  /** A prepared item, or the error that stopped it. */
  private record Prepared<I, P>(int index, I input, P value, Exception error) {}

  /**
   * Runs every item through the three stages and returns once all are finished.
   *
   * @throws Exception what {@code finish} threw, or an {@link InterruptedException}
   */
  public void run(List<I> inputs) throws Exception {
    BlockingQueue<Prepared<I, P>> prepared = new ArrayBlockingQueue<>(depth);
    BlockingQueue<Result<I, P, C>> computed = new ArrayBlockingQueue<>(depth);
    ExecutorService threads = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "deeplab-pipeline");
      t.setDaemon(true);
      return t;
    });
    try {
      Future<?> reader = threads.submit(() -> {
        for (int i = 0; i < inputs.size(); i++) {
          I input = inputs.get(i);
          Prepared<I, P> p;
          try {
            p = new Prepared<>(i, input, prepare.apply(input), null);
          } catch (Exception e) {
            p = new Prepared<>(i, input, null, e);
          }
          prepared.put(p);
        }
        return null;
      });
      Future<?> writer = threads.submit(() -> {
        for (int i = 0; i < inputs.size(); i++) {
          finish.accept(computed.take());
        }
        return null;
      });
      for (int i = 0; i < inputs.size(); i++) {
        Prepared<I, P> p = take(prepared, reader, writer);
        Result<I, P, C> r;
        if (p.error() != null) {
          r = new Result<>(p.index(), p.input(), null, null, p.error());
        } else {
          try {
            r = new Result<>(p.index(), p.input(), p.value(), compute.apply(p.value()), null);
          } catch (Exception e) {
            r = new Result<>(p.index(), p.input(), p.value(), null, e);
          }
        }
        put(computed, r, writer);
      }
      await(writer);
      await(reader);
    } finally {
      threads.shutdownNow();
    }
  }

  /** The next prepared item; fails fast if the writer has failed meanwhile. */
  private static <T> T take(BlockingQueue<T> queue, Future<?> reader, Future<?> writer)
      throws Exception {
    while (true) {
      T t = queue.poll(100, java.util.concurrent.TimeUnit.MILLISECONDS);
      if (t != null) {
        return t;
      }
      if (writer.isDone()) {
        await(writer);
      }
      if (reader.isDone()) {
        await(reader);
      }
    }
  }

  /** Hands an item to the writer; fails fast if the writer has failed. */
  private static <T> void put(BlockingQueue<T> queue, T item, Future<?> writer) throws Exception {
    while (!queue.offer(item, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
      if (writer.isDone()) {
        await(writer);
      }
    }
  }

  private static void await(Future<?> f) throws Exception {
    try {
      f.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception ex) {
        throw ex;
      }
      throw e;
    }
  }
}
