package dev.deeplab.internal.train;

import dev.deeplab.data.DatasetException;
import dev.deeplab.data.SegmentationDataset;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.train.TrainConfig;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training input: samples of a dataset split in a seeded shuffled order, epoch after epoch
 * (the official {@code data_generator} with {@code shuffle} and {@code repeat}), decoded and
 * augmented ({@link Augmenter}) by a pool of worker threads a few batches ahead of the training
 * thread.
 *
 * <p>Deterministic given the seed: the order of epoch {@code e} is a shuffle seeded by {@code
 * (seed, e)}; each sample is first resized ({@link TrainConfig#resize}, the official {@code
 * resize_to_range}); the augmentation of image {@code j} of step {@code s} draws from a generator seeded
 * by {@code (seed, s, j)}. Starting at any step (a resumed run) therefore produces the batches of
 * an uninterrupted run.
 *
 * <p>A sample that fails to load stops training with its one-line problem, unless bad samples are
 * skipped: then it is replaced by the next sample of the same epoch order (and reported once).
 */
public final class InputPipeline implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(InputPipeline.class);

  private final SegmentationDataset dataset;
  private final List<? extends SegmentationDataset.Sample> samples;
  private final TrainConfig config;
  private final boolean skipBadSamples;
  private final ExecutorService workers;
  private final int prefetch;
  private final Map<Long, int[]> orders = new ConcurrentHashMap<>();
  private final Set<String> bad = ConcurrentHashMap.newKeySet();
  private final Deque<Future<Batch>> pending = new ArrayDeque<>();
  private long nextToSubmit;
  private long end;

  /**
   * @param dataset the split to read
   * @param config crop size, batch size, augmentation, class count, ignore label and seed
   * @param skipBadSamples skip samples that fail to load instead of failing
   * @param workers decoding threads, at least 1
   * @param prefetch batches prepared ahead, at least 1
   * @throws DatasetException if the split file cannot be read or is empty
   */
  public InputPipeline(SegmentationDataset dataset, TrainConfig config, boolean skipBadSamples,
      int workers, int prefetch) throws DatasetException {
    if (workers < 1 || prefetch < 1) {
      throw new IllegalArgumentException("need at least one worker and one prefetched batch");
    }
    this.dataset = dataset;
    this.samples = dataset.samples();
    this.config = config;
    this.skipBadSamples = skipBadSamples;
    this.prefetch = prefetch;
    this.workers = Executors.newFixedThreadPool(workers, r -> {
      Thread t = new Thread(r, "deeplab-input");
      t.setDaemon(true);
      return t;
    });
  }

  /** Number of samples in the split. */
  public int size() {
    return samples.size();
  }

  /**
   * Positions the pipeline before {@code firstStep}; {@link #next} then returns the batches of
   * steps {@code firstStep, firstStep + 1, ...} up to {@code endStep} (exclusive).
   */
  public void start(long firstStep, long endStep) {
    cancelPending();
    nextToSubmit = firstStep;
    end = endStep;
    while (pending.size() < prefetch && nextToSubmit < end) {
      submit();
    }
  }

  private void submit() {
    long step = nextToSubmit++;
    pending.add(workers.submit(() -> batch(step)));
  }

  /**
   * The next batch, waiting for it if needed.
   *
   * @throws DatasetException if a sample cannot be loaded (and bad samples are not skipped)
   * @throws java.util.NoSuchElementException after the end step
   */
  public Batch next() throws DatasetException, InterruptedException {
    Future<Batch> f = pending.poll();
    if (f == null) {
      throw new java.util.NoSuchElementException("no batch after step " + (end - 1));
    }
    if (nextToSubmit < end) {
      submit();
    }
    try {
      return f.get();
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof DatasetException d) {
        throw d;
      }
      if (c instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException("input worker failed: " + c, c);
    }
  }

  /** Builds the batch of {@code step} (any thread; pure function of the seed and step). */
  public Batch batch(long step) throws DatasetException {
    int b = config.batchSize();
    int h = config.model().cropHeight();
    int w = config.model().cropWidth();
    float[] pixels = new float[b * h * w * 3];
    byte[] labels = new byte[b * h * w];
    float[] mean = config.model().variant().meanPixel();
    List<String> ids = new ArrayList<>();
    ResizeToRange resize = config.resize();
    for (int j = 0; j < b; j++) {
      SegmentationDataset.LoadedSample s = load(step * b + j);
      ids.add(s.sample().id());
      SplittableRandom rng = new SplittableRandom(mix(config.seed(), step, j));
      Augmenter.augment(resize.resize(s.image()), resize.resize(s.label()), config.augmentation(), h, w, mean,
          config.loss().ignoreLabel(), rng, pixels, j * h * w * 3, labels, j * h * w);
    }
    return new Batch(step, b, h, w, pixels, labels, ids);
  }

  /** Loads the sample at global position {@code index}, skipping bad ones if allowed. */
  private SegmentationDataset.LoadedSample load(long index) throws DatasetException {
    int n = samples.size();
    long epoch = index / n;
    int[] order = orders.computeIfAbsent(epoch, this::order);
    int pos = (int) (index % n);
    DatasetException first = null;
    for (int attempt = 0; attempt < n; attempt++) {
      SegmentationDataset.Sample s = samples.get(order[(pos + attempt) % n]);
      if (bad.contains(s.id())) {
        continue;
      }
      try {
        return dataset.load(s, config.model().numClasses(), config.loss().ignoreLabel());
      } catch (DatasetException e) {
        if (!skipBadSamples) {
          throw new DatasetException(e.getMessage()
              + " (use --skip-bad-samples to train without such samples)", e);
        }
        if (bad.add(s.id())) {
          LOG.warn("skipping bad sample {}: {}", s.id(), e.getMessage());
        }
        if (first == null) {
          first = e;
        }
      }
    }
    throw new DatasetException("every sample of " + dataset.description() + " failed to load"
        + (first != null ? "; first problem: " + first.getMessage() : ""), first);
  }

  /** The shuffled sample order of an epoch. */
  private int[] order(long epoch) {
    List<Integer> idx = new ArrayList<>();
    for (int i = 0; i < samples.size(); i++) {
      idx.add(i);
    }
    Collections.shuffle(idx, new Random(mix(config.seed(), -1 - epoch, 0)));
    return idx.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The ids of the samples skipped so far. */
  public Set<String> skippedSamples() {
    return Set.copyOf(bad);
  }

  /** A well-mixed 64-bit seed from three values (SplitMix64 finaliser). */
  static long mix(long a, long b, long c) {
    long z = a * 0x9E3779B97F4A7C15L + b;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L + c;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private void cancelPending() {
    for (Future<Batch> f : pending) {
      f.cancel(true);
    }
    pending.clear();
  }

  @Override
  public void close() {
    cancelPending();
    workers.shutdownNow();
  }
}
