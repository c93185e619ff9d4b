package dev.deeplab.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.deeplab.bench.AccuracyCheck;
import dev.deeplab.bench.AtrousParity;
import dev.deeplab.bench.BenchWeights;
import dev.deeplab.bench.FlopCount;
import dev.deeplab.bench.FlopCounter;
import dev.deeplab.bench.InferenceTarget;
import dev.deeplab.bench.LatencyRunner;
import dev.deeplab.bench.LatencyStats;
import dev.deeplab.bench.MemoryFlatness;
import dev.deeplab.bench.Precision;
import dev.deeplab.bench.ProcStats;
import dev.deeplab.bench.SessionSettings;
import dev.deeplab.bench.TrainTarget;
import dev.deeplab.data.VocDataset;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.DenseCrf;
import dev.deeplab.infer.Engine;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.infer.Resampling;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.serving.SavedModelWriter;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab bench}: inference latency (or training throughput) of a model on this machine,
 * with achieved GFLOP/s against the machine's peak and peak resident memory; comma-separated
 * alternatives of precision, atrous form and XLA are timed interleaved in one process. Also the
 * memory-flatness check, the atrous parity check, the accuracy of a setting on a VOC split, and
 * export of a random-weight SavedModel for cross-runtime comparisons.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Measure inference latency (median and best after warm-up), GFLOP/s and the "
        + "fraction of this machine's peak (435 GFLOP/s fp32, 870 bf16: 2-core Zen 5 AVX-512 "
        + "FMA ceiling), and peak RSS. Comma-separated --precision/--atrous/--bn/--xla values are "
        + "timed interleaved, with ratios to the first.",
        "Examples: deeplab bench --variant xception_65 --runs 20",
        "          deeplab bench --model savedmodels/deeplabv3_mnv2_pascal --memory",
        "          deeplab bench --variant mobilenet_v2 --atrous space-to-batch,native",
        "          deeplab bench --variant mobilenet_v2 --train --batch-size 2 --size 321",
        "          deeplab bench --crf --image photos/pets.jpg   (the dense CRF alone)"})
final class BenchCommand implements Callable<Integer> {
  @ArgGroup(exclusive = false)
  ModelOptions model = new ModelOptions();

  @Option(names = "--model", paramLabel = "DIR",
      description = "One of our SavedModels (instead of --variant/--preset: random weights).")
  Path savedModel;

  @Option(names = "--size", defaultValue = "513",
      description = "Image size (and crop size for --variant); default ${DEFAULT-VALUE}.")
  int size;

  @Option(names = "--batch-size", defaultValue = "1", description = "Images per run (default 1).")
  int batch;

  @Option(names = "--runs", defaultValue = "20", description = "Timed runs (default 20).")
  int runs;

  @Option(names = "--warmup", defaultValue = "5", description = "Untimed runs first (default 5).")
  int warmup;

  @Option(names = "--threads", defaultValue = "0",
      description = "Intra-op threads (0: every core; on ONNX Runtime one per physical core).")
  int threads;

  @Option(names = "--inter-threads", defaultValue = "0",
      description = "Inter-op threads (0: TensorFlow's choice).")
  int interThreads;

  @Option(names = "--precision", split = ",", defaultValue = "fp32",
      description = "fp32 or bf16 (oneDNN auto mixed precision); with --engine, fp32 or int8 "
          + "(ONNX Runtime, quantised with --calibration images); a comma list compares.")
  List<String> precisions;

  @Option(names = "--calibration", paramLabel = "PATH", split = ",",
      description = "With --engine and --precision int8: " + "calibration images, files or "
          + "directories of them, comma-separated.")
  List<Path> calibration;

  @Option(names = "--atrous", split = ",",
      description = "space-to-batch or native; a comma list compares (default: space-to-batch, "
          + "or the SavedModel's own graph for --model).")
  List<String> atrous;

  @Option(names = "--bn", split = ",", defaultValue = "fused",
      description = "fused (FusedBatchNormV3 as built), folded (into every conv filter, a graph "
          + "rewrite) or folded-dw (only after depthwise convs); a comma list compares.")
  List<String> bn;

  @Option(names = "--xla", split = ",", defaultValue = "off",
      description = "off or on (GlobalJitLevel ON_1 + cpu_global_jit; on CPU also set "
          + "TF_XLA_FLAGS=--tf_xla_cpu_global_jit); a comma list compares.")
  List<String> xla;

  @Option(names = "--network-only",
      description = "Time the network alone (float pixels at the crop size -> logits), without "
          + "the serving graph's pre/post-processing: a fixed-shape graph, as XLA needs.")
  boolean networkOnly;

  @Option(names = "--train",
      description = "Time training steps (forward, backward, momentum) and print images/s.")
  boolean train;

  @Option(names = "--memory",
      description = "Memory flatness: RSS after --memory-first and after --memory-runs "
          + "segmentations (through the Segmenter for --model).")
  boolean memory;

  @Option(names = "--memory-runs", defaultValue = "1000", description = "Default ${DEFAULT-VALUE}.")
  int memoryRuns;

  @Option(names = "--memory-first", defaultValue = "100", description = "Default ${DEFAULT-VALUE}.")
  int memoryFirst;

  @Option(names = "--check-atrous",
      description = "Max abs difference of the logits of space-to-batch vs native dilation.")
  boolean checkAtrous;

  @Option(names = "--data", paramLabel = "VOCROOT",
      description = "Also score each alternative on this VOC split (mIoU, agreement with the "
          + "first alternative).")
  Path evalData;

  @Option(names = "--split", defaultValue = "val", description = "Split for --data (default val).")
  String split;

  @Option(names = "--export", paramLabel = "DIR",
      description = "Write the random-weight model as a SavedModel under DIR (version 1) and exit.")
  Path export;

  @Option(names = "--profile", paramLabel = "N", defaultValue = "0",
      description = "After timing, trace 3 runs of each alternative and print the N op types "
          + "that take the most time, then the N nodes.")
  int profile;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the random weights.")
  long seed;

  @Option(names = "--engine", split = ",", paramLabel = "ENGINE",
      converter = EngineConverter.class,
      description = "Time the Segmenter on each engine (tensorflow, onnxruntime; e.g. "
          + "--engine tensorflow,onnxruntime), interleaved, on --model (default: the pretrained "
          + "model) with --size, --batch-size, --threads, --runs and --warmup.")
  List<Engine> engines;

  @Option(names = "--json", description = "Print one JSON object instead of the table.")
  boolean json;

  @Mixin
  CrfOptions crfOptions;

  @Option(names = "--image", paramLabel = "FILE",
      description = "With --crf: the photo, resized to --size x --size, whose softmax (from "
          + "--model, default the pretrained model) the CRF refines.")
  Path image;

  @Spec
  CommandSpec spec;

  /** One alternative to time. */
  private record Alternative(String name, Precision precision, AtrousMode atrous, boolean xla,
      BnMode bn) {
    boolean foldBn() {
      return bn != BnMode.FUSED;
    }
  }

  /** How batch norms are run. */
  enum BnMode { FUSED, FOLDED, FOLDED_DW }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (engines != null) {
      return engines(out);
    }
    DenseCrf crf = crfOptions.crf();
    if (crf != null) {
      return crf(crf, out);
    }
    validate();
    if (export != null) {
      ModelConfig config = variantConfig();
      // LeCun gain keeps the activations near 1 through every block, as numerical comparisons of
      // the export (tools/interop) need; He weights grow ResNet logits to ~1e5 and beyond.
      Map<String, FloatTensor> w = AtrousParity.randomWeights(config, seed, 1 / Math.sqrt(2));
      Path dir = SavedModelWriter.write(w, new ModelInfo(config,
          LabelSet.unnamed(config.numClasses()), "random LeCun-uniform weights, seed " + seed
          + " (deeplab bench)"), export, OptionalLong.empty());
      out.println("exported " + dir);
      return 0;
    }
    if (checkAtrous) {
      return checkAtrous(out);
    }
    if (train) {
      return train(out);
    }
    if (memory) {
      return memory(out);
    }
    return latency(out);
  }

  private void validate() {
    if (calibration != null) {
      throw new UsageError("--calibration goes with --engine onnxruntime --precision int8");
    }
    if (savedModel != null && model.given()) {
      throw new UsageError("give --model or --variant/--preset, not both");
    }
    if (savedModel == null && !model.given()) {
      throw new UsageError("give --model DIR or --variant/--preset");
    }
    if (size < 1 || batch < 1 || runs < 1 || warmup < 0 || threads < 0 || interThreads < 0) {
      throw new UsageError("--size, --batch-size and --runs must be positive; --warmup, --threads >= 0");
    }
    if ((train || export != null || checkAtrous || networkOnly) && savedModel != null) {
      throw new UsageError(
          "--train, --export, --check-atrous and --network-only need --variant/--preset");
    }
  }

  private ModelConfig variantConfig() {
    ModelConfig c = model.toConfig();
    return model.cropSize != null ? c : c.withCropSize(size, size);
  }

  private SessionSettings baseSettings() {
    return new SessionSettings(threads, interThreads, Precision.FP32, false);
  }

  private List<Alternative> alternatives() {
    List<Alternative> list = new ArrayList<>();
    List<String> atrousList = atrous == null ? java.util.Collections.singletonList(null) : atrous;
    for (String p : precisions) {
      for (String a : atrousList) {
        for (String x : xla) {
          for (String bnMode : bn) {
          Precision precision = parseOrUserError(() -> Precision.parse(p));
          AtrousMode mode = a == null ? null : parseOrUserError(() -> InferenceTarget.parseAtrous(a));
          boolean xlaOn = switch (x.trim().toLowerCase(Locale.ROOT)) {
            case "on", "true" -> true;
            case "off", "false" -> false;
            default -> throw new UsageError("--xla must be on or off, got '" + x + "'");
          };
          BnMode bnm = switch (bnMode.trim().toLowerCase(Locale.ROOT)) {
            case "folded", "fold" -> BnMode.FOLDED;
            case "folded-dw" -> BnMode.FOLDED_DW;
            case "fused" -> BnMode.FUSED;
            default -> throw new UsageError(
                "--bn must be fused, folded or folded-dw, got '" + bnMode + "'");
          };
          boolean fold = bnm != BnMode.FUSED;
          if (mode == null && (fold || savedModel == null)) {
            mode = AtrousMode.SPACE_TO_BATCH;
          }
          String name = precision + "/" + (mode == null ? "saved-graph"
              : a == null ? "space-to-batch" : a.trim()) + "/xla-" + (xlaOn ? "on" : "off")
              + (bnm == BnMode.FOLDED ? "/bn-folded" : bnm == BnMode.FOLDED_DW ? "/bn-folded-dw" : "");
          list.add(new Alternative(name, precision, mode, xlaOn, bnm));
          }
        }
      }
    }
    return list;
  }

  private static <T> T parseOrUserError(java.util.function.Supplier<T> s) {
    try {
      return s.get();
    } catch (IllegalArgumentException e) {
      throw new UsageError(e.getMessage());
    }
  }

  private InferenceTarget open(Alternative a, Map<String, FloatTensor> weights) throws Exception {
    SessionSettings s = baseSettings().withPrecision(a.precision()).withXla(a.xla());
    if (savedModel != null) {
      return a.atrous() == null ? InferenceTarget.fromSavedModel(savedModel, s)
          : InferenceTarget.fromSavedModelWeights(savedModel, a.atrous(), fold(a), s);
    }
    AtrousMode mode = a.atrous() == null ? AtrousMode.SPACE_TO_BATCH : a.atrous();
    if (networkOnly) {
      return InferenceTarget.networkFromConfig(variantConfig(), mode, fold(a), s, weights);
    }
    return InferenceTarget.fromConfig(variantConfig(), mode, fold(a), s, weights);
  }

  private static InferenceTarget.Fold fold(Alternative a) {
    return switch (a.bn()) {
      case FUSED -> InferenceTarget.Fold.NONE;
      case FOLDED -> InferenceTarget.Fold.ALL;
      case FOLDED_DW -> InferenceTarget.Fold.DEPTHWISE;
    };
  }

  private int latency(PrintWriter out) throws Exception {
    List<Alternative> alts = alternatives();
    Map<String, FloatTensor> weights = savedModel == null
        ? InferenceTarget.randomWeights(variantConfig(), seed) : null;
    List<InferenceTarget> targets = new ArrayList<>();
    Map<String, Double> firstRunMs = new LinkedHashMap<>();
    try {
      byte[] image = BenchWeights.noiseImage(size, size, seed);
      List<LatencyRunner.Candidate> candidates = new ArrayList<>();
      for (Alternative a : alts) {
        InferenceTarget t = open(a, weights);
        targets.add(t);
        long t0 = System.nanoTime();
        t.segment(image, size, size, batch);
        firstRunMs.put(a.name(), (System.nanoTime() - t0) / 1e6);
        candidates.add(new LatencyRunner.Candidate(a.name(),
            () -> t.segment(image, size, size, batch)));
      }
      weights = null;
      ModelConfig config = targets.get(0).config();
      FlopCount perImage = FlopCounter.forConfig(config);
      Map<String, LatencyStats> stats = LatencyRunner.interleaved(candidates, warmup, runs);
      Map<String, AccuracyCheck> accuracy = new LinkedHashMap<>();
      if (evalData != null) {
        VocDataset data = new VocDataset(evalData, split);
        for (int i = 0; i < alts.size(); i++) {
          accuracy.put(alts.get(i).name(), AccuracyCheck.run(targets.get(i), data));
        }
      }
      report(out, config, perImage, alts, stats, firstRunMs, accuracy,
          targets.get(0).description());
      if (profile > 0) {
        for (int i = 0; i < alts.size(); i++) {
          printProfile(out, alts.get(i).name(), targets.get(i).profile(image, size, size, batch, 3));
        }
      }
    } finally {
      targets.forEach(InferenceTarget::close);
    }
    return 0;
  }

  private void report(PrintWriter out, ModelConfig config, FlopCount perImage,
      List<Alternative> alts, Map<String, LatencyStats> stats, Map<String, Double> firstRunMs,
      Map<String, AccuracyCheck> accuracy, String description) throws Exception {
    double gflop = perImage.gflop() * batch;
    long peakRss = ProcStats.peakRssBytes();
    Map<String, Object> header = header(config, perImage);
    if (json) {
      List<Map<String, Object>> rows = new ArrayList<>();
      AccuracyCheck first = accuracy.isEmpty() ? null : accuracy.values().iterator().next();
      for (Alternative a : alts) {
        LatencyStats s = stats.get(a.name());
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("name", a.name());
        row.put("median_ms", s.medianMs());
        row.put("best_ms", s.bestMs());
        row.put("mean_ms", s.meanNanos() / 1e6);
        row.put("first_run_ms", firstRunMs.get(a.name()));
        row.put("samples_ms", java.util.Arrays.stream(s.nanos()).mapToDouble(n -> n / 1e6)
            .toArray());
        row.put("gflops_median", gflop / (s.medianMs() / 1e3));
        row.put("gflops_best", gflop / (s.bestMs() / 1e3));
        row.put("peak_gflops", a.precision().peakGflops());
        row.put("load_start", s.loadStart());
        row.put("load_end", s.loadEnd());
        AccuracyCheck acc = accuracy.get(a.name());
        if (acc != null) {
          row.put("miou", acc.meanIou());
          row.put("pixel_accuracy", acc.pixelAccuracy());
          row.put("agreement_with_first", acc.agreementWith(first));
        }
        rows.add(row);
      }
      header.put("source", description);
      header.put("results", rows);
      header.put("peak_rss_bytes", peakRss);
      out.println(new ObjectMapper().writeValueAsString(header));
      return;
    }
    out.printf(Locale.ROOT, "model: %s (%s)%n", header.get("model"), description);
    out.printf(Locale.ROOT, "work: %.2f GMAdds = %.1f GFLOP per image (convs from the graph's "
        + "shapes), batch %d, image %dx%d%n", perImage.gmadds(), perImage.gflop(), batch, size, size);
    out.printf(Locale.ROOT, "machine peak: 435 GFLOP/s fp32, 870 bf16 (2-core Zen 5, AVX-512 FMA "
        + "probe); floor at peak: %.1f ms fp32%n", gflop / 435.0 * 1e3);
    out.printf(Locale.ROOT, "session: %s; oneDNN %s; huge pages %s; TF_XLA_FLAGS=%s; %d warm-up + "
        + "%d timed runs, interleaved%n", baseSettings().describe(), header.get("onednn"),
        header.get("huge_pages"), header.get("tf_xla_flags"), warmup, runs);
    out.printf(Locale.ROOT, "jvm options: %s%n", header.get("jvm_options"));
    out.printf(Locale.ROOT, "%-32s %10s %10s %9s %7s %8s %9s%n", "alternative", "median ms",
        "best ms", "GFLOP/s", "% peak", "ratio", "first ms");
    double base = -1;
    for (Alternative a : alts) {
      LatencyStats s = stats.get(a.name());
      if (base < 0) {
        base = s.medianMs();
      }
      double gf = gflop / (s.medianMs() / 1e3);
      out.printf(Locale.ROOT, "%-32s %10.1f %10.1f %9.1f %6.1f%% %8.3f %9.0f%n", a.name(),
          s.medianMs(), s.bestMs(), gf, 100 * gf / a.precision().peakGflops(),
          s.medianMs() / base, firstRunMs.get(a.name()));
    }
    if (!accuracy.isEmpty()) {
      AccuracyCheck first = accuracy.values().iterator().next();
      for (Map.Entry<String, AccuracyCheck> e : accuracy.entrySet()) {
        out.printf(Locale.ROOT, "accuracy %-23s mIoU %.4f  pixel acc %.4f  agreement with first "
            + "%.5f%n", e.getKey(), e.getValue().meanIou(), e.getValue().pixelAccuracy(),
            e.getValue().agreementWith(first));
      }
    }
    LatencyStats any = stats.values().iterator().next();
    out.printf(Locale.ROOT, "load average (1 min): %.2f at start, %.2f at end%n", any.loadStart(),
        any.loadEnd());
    out.println("peak RSS: " + ProcStats.mib(peakRss));
  }

  private void printProfile(PrintWriter out, String name, dev.deeplab.bench.OpProfile p) {
    out.printf(Locale.ROOT, "profile %s: %.1f ms of op time per run (ops overlap when parallel)%n",
        name, p.totalMicros() / 1e3);
    p.byType().stream().limit(profile).forEach(e -> out.printf(Locale.ROOT,
        "  %-36s %9.2f ms %5.1f%% %5d ops%n", e.type(), e.micros() / 1e3,
        100.0 * e.micros() / Math.max(1, p.totalMicros()), e.count()));
    out.println("  slowest nodes:");
    p.byNode().stream().limit(profile).forEach(e -> out.printf(Locale.ROOT,
        "  %9.2f ms %5.1f%%  %s%n", e.micros() / 1e3,
        100.0 * e.micros() / Math.max(1, p.totalMicros()), e.type()));
  }

  private Map<String, Object> header(ModelConfig config, FlopCount perImage) {
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("model", describe(config));
    h.put("variant", config.variant().officialName());
    h.put("output_stride", config.outputStride());
    h.put("crop", config.cropHeight() + "x" + config.cropWidth());
    h.put("size", size);
    h.put("batch", batch);
    h.put("gmadds_per_image", perImage.gmadds());
    h.put("gflop_per_image", perImage.gflop());
    h.put("threads", threads);
    h.put("inter_threads", interThreads);
    h.put("onednn", SessionSettings.onednnEnabled() ? "on" : "off");
    h.put("huge_pages", dev.deeplab.internal.infer.HugePages.describe());
    h.put("jvm_options", jvmOptions());
    String xlaFlags = System.getenv("TF_XLA_FLAGS");
    h.put("tf_xla_flags", xlaFlags == null ? "" : xlaFlags);
    h.put("warmup", warmup);
    h.put("runs", runs);
    return h;
  }

  static String describe(ModelConfig c) {
    String arch = c.hasDecoder() ? "DeepLabv3+" : "DeepLabv3";
    return c.variant().officialName() + " " + arch + " OS" + c.outputStride() + " "
        + c.cropHeight() + "x" + c.cropWidth()
        + (c.depthMultiplier() != 1.0 ? " dm" + c.depthMultiplier() : "");
  }

  private int train(PrintWriter out) throws Exception {
    ModelConfig config = variantConfig();
    FlopCount perImage = FlopCounter.forConfig(config);
    List<Alternative> alts = alternatives();
    List<TrainTarget> targets = new ArrayList<>();
    try {
      List<LatencyRunner.Candidate> candidates = new ArrayList<>();
      Map<String, Double> firstRunMs = new LinkedHashMap<>();
      for (Alternative a : alts) {
        if (a.atrous() == AtrousMode.NATIVE_DILATION) {
          throw new UsageError("training needs --atrous space-to-batch");
        }
        TrainTarget t = TrainTarget.build(config, batch,
            baseSettings().withPrecision(a.precision()).withXla(a.xla()), seed);
        targets.add(t);
        long t0 = System.nanoTime();
        t.step();
        firstRunMs.put(a.name(), (System.nanoTime() - t0) / 1e6);
        candidates.add(new LatencyRunner.Candidate(a.name(), t::step));
      }
      Map<String, LatencyStats> stats = LatencyRunner.interleaved(candidates, warmup, runs);
      double stepGflop = 3 * perImage.gflop() * batch;
      Map<String, Object> header = header(config, perImage);
      header.put("mode", "train");
      List<Map<String, Object>> rows = new ArrayList<>();
      if (!json) {
        out.printf(Locale.ROOT, "model: %s, training step, batch %d%n", header.get("model"), batch);
        out.printf(Locale.ROOT, "work: ~%.1f GFLOP per step (3 x forward %.1f GFLOP x batch)%n",
            stepGflop, perImage.gflop());
        out.printf(Locale.ROOT, "session: %s; oneDNN %s; huge pages %s; %d warm-up + %d timed "
            + "steps%n", baseSettings().describe(), header.get("onednn"), header.get("huge_pages"),
            warmup, runs);
        out.printf(Locale.ROOT, "jvm options: %s%n", header.get("jvm_options"));
        out.printf(Locale.ROOT, "%-32s %10s %10s %9s %9s %7s %9s%n", "alternative", "median ms",
            "best ms", "images/s", "GFLOP/s", "% peak", "first ms");
      }
      for (Alternative a : alts) {
        LatencyStats s = stats.get(a.name());
        double ips = batch / (s.medianMs() / 1e3);
        double gf = stepGflop / (s.medianMs() / 1e3);
        if (json) {
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("name", a.name());
          row.put("median_ms", s.medianMs());
          row.put("best_ms", s.bestMs());
          row.put("images_per_s_median", ips);
          row.put("images_per_s_best", batch / (s.bestMs() / 1e3));
          row.put("gflops_median", gf);
          row.put("load_start", s.loadStart());
          row.put("load_end", s.loadEnd());
          rows.add(row);
        } else {
          out.printf(Locale.ROOT, "%-32s %10.1f %10.1f %9.2f %9.1f %6.1f%% %9.0f%n", a.name(),
              s.medianMs(), s.bestMs(), ips, gf, 100 * gf / a.precision().peakGflops(),
              firstRunMs.get(a.name()));
        }
      }
      LatencyStats any = stats.values().iterator().next();
      if (json) {
        header.put("results", rows);
        header.put("peak_rss_bytes", ProcStats.peakRssBytes());
        out.println(new ObjectMapper().writeValueAsString(header));
      } else {
        out.printf(Locale.ROOT, "load average (1 min): %.2f at start, %.2f at end%n",
            any.loadStart(), any.loadEnd());
        out.println("peak RSS: " + ProcStats.mib(ProcStats.peakRssBytes()));
      }
    } finally {
      targets.forEach(TrainTarget::close);
    }
    return 0;
  }

  /** Segmenter latency per engine, interleaved runs, medians and the ratio to the first. */
  private int engines(PrintWriter out) throws Exception {
    if (model.given() || train || export != null || memory || checkAtrous || networkOnly) {
      throw new UsageError("--engine times a SavedModel (--model, default the pretrained "
          + "model) and takes no --variant/--preset, --train, --export, --memory or --check-atrous");
    }
    if (size < 1 || batch < 1 || runs < 1 || warmup < 0 || threads < 0) {
      throw new UsageError("--size, --batch-size and --runs must be positive; --warmup, "
          + "--threads >= 0");
    }
    Path dir = ModelLocation.orDefault(savedModel);
    byte[] image = BenchWeights.noiseImage(size, size, seed);
    List<RgbImage> images = java.util.Collections.nCopies(batch, new RgbImage(size, size, image));
    List<Segmenter> segmenters = new ArrayList<>();
    List<LatencyRunner.Candidate> candidates = new ArrayList<>();
    Map<String, Double> loadMs = new LinkedHashMap<>();
    List<String> kinds = engineCandidates();
    try {
      for (String kind : kinds) {
        Engine e = new EngineConverter().convert(kind.split("/")[0]);
        Segmenter.Builder builder = Segmenter.builder().model(dir).engine(e).threads(threads);
        long t0 = System.nanoTime();
        Segmenter s = kind.endsWith("/int8")
            ? CalibrationOptions.buildInt8(builder, calibration) : builder.build();
        segmenters.add(s);
        loadMs.put(kind, (System.nanoTime() - t0) / 1e6);
        Runnable run = batch == 1 ? () -> s.segment(image, size, size)
            : () -> s.segmentAll(images);
        candidates.add(new LatencyRunner.Candidate(kind, run));
      }
      Map<String, LatencyStats> stats = LatencyRunner.interleaved(candidates, warmup, runs);
      ModelConfig config = segmenters.get(0).info().config();
      if (json) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("mode", "engines");
        h.put("model", describe(config));
        h.put("image", size + "x" + size);
        h.put("batch", batch);
        List<Map<String, Object>> rows = new ArrayList<>();
        for (var c : candidates) {
          LatencyStats st = stats.get(c.name());
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("engine", c.name());
          row.put("median_ms", st.medianMs());
          row.put("best_ms", st.bestMs());
          row.put("load_ms", loadMs.get(c.name()));
          rows.add(row);
        }
        h.put("results", rows);
        out.println(new ObjectMapper().writeValueAsString(h));
        return 0;
      }
      out.printf(Locale.ROOT, "Segmenter.segment%s, %s, image %dx%d, batch %d, threads %s; "
          + "%d warm-up + %d timed runs, interleaved%n", batch > 1 ? "All" : "",
          describe(config), size, size, batch, threads == 0 ? "all" : threads, warmup, runs);
      out.printf(Locale.ROOT, "%-17s %10s %10s %8s %10s%n", "engine", "median ms", "best ms",
          "ratio", "load ms");
      double base = -1;
      for (var c : candidates) {
        LatencyStats st = stats.get(c.name());
        base = base < 0 ? st.medianMs() : base;
        out.printf(Locale.ROOT, "%-17s %10.1f %10.1f %8.3f %10.0f%n", c.name(), st.medianMs(),
            st.bestMs(), st.medianMs() / base, loadMs.get(c.name()));
      }
      return 0;
    } finally {
      segmenters.forEach(Segmenter::close);
    }
  }

  /**
   * The --engine x --precision pairs timed, as {@code engine} (fp32) or {@code engine/int8}
   * (ONNX Runtime only).
   */
  private List<String> engineCandidates() {
    List<String> kinds = new ArrayList<>();
    boolean int8 = false;
    for (String p : new java.util.LinkedHashSet<>(precisions)) {
      switch (p.trim().toLowerCase(Locale.ROOT)) {
        case "fp32" -> new java.util.LinkedHashSet<>(engines)
            .forEach(e -> kinds.add(EngineConverter.name(e)));
        case "int8" -> {
          if (!engines.contains(Engine.ONNX_RUNTIME)) {
            throw new UsageError("--precision int8 runs on --engine onnxruntime");
          }
          kinds.add(EngineConverter.name(Engine.ONNX_RUNTIME) + "/int8");
          int8 = true;
        }
        default -> throw new UsageError("with --engine, --precision takes fp32 and int8, got '"
            + p + "'");
      }
    }
    if (int8 != (calibration != null)) {
      throw new UsageError(int8 ? "--precision int8 needs --calibration images"
          : "--calibration goes with --precision int8");
    }
    return kinds;
  }

  private int memory(PrintWriter out) throws Exception {
    if (memoryFirst < 1 || memoryRuns <= memoryFirst) {
      throw new UsageError("need 1 <= --memory-first < --memory-runs");
    }
    byte[] image = BenchWeights.noiseImage(size, size, seed);
    MemoryFlatness m;
    String what;
    double load0 = ProcStats.loadAverage1();
    if (savedModel != null) {
      try (Segmenter s = Segmenter.builder().model(savedModel).threads(threads).build()) {
        what = "Segmenter.segment, " + describe(s.info().config());
        m = MemoryFlatness.measure(() -> s.segment(image, size, size), memoryFirst, memoryRuns);
      }
    } else {
      ModelConfig config = variantConfig();
      Alternative a = alternatives().get(0);
      try (InferenceTarget t = open(a, InferenceTarget.randomWeights(config, seed))) {
        what = "serving graph, " + describe(config) + ", " + a.name();
        m = MemoryFlatness.measure(() -> t.segment(image, size, size, batch), memoryFirst,
            memoryRuns);
      }
    }
    double load1 = ProcStats.loadAverage1();
    boolean flat = m.flatWithin(2.0);
    if (json) {
      Map<String, Object> h = new LinkedHashMap<>();
      h.put("mode", "memory");
      h.put("what", what);
      h.put("first_runs", m.firstRuns());
      h.put("rss_first_bytes", m.rssFirst());
      h.put("total_runs", m.totalRuns());
      h.put("rss_total_bytes", m.rssTotal());
      h.put("growth_percent", m.growthPercent());
      h.put("heap_first_bytes", m.heapFirst());
      h.put("heap_total_bytes", m.heapTotal());
      h.put("native_growth_percent", m.nativeGrowthPercent());
      h.put("peak_rss_bytes", m.peakRss());
      h.put("seconds", m.seconds());
      h.put("flat_within_2_percent", flat);
      h.put("load_start", load0);
      h.put("load_end", load1);
      out.println(new ObjectMapper().writeValueAsString(h));
    } else {
      out.println("memory flatness: " + what + ", " + size + "x" + size + " images");
      out.printf(Locale.ROOT, "RSS after %d runs: %s; after %d runs: %s; growth %+.2f%% (%s, "
          + "limit 2%%); peak RSS %s; %.1f s%n", m.firstRuns(), ProcStats.mib(m.rssFirst()),
          m.totalRuns(), ProcStats.mib(m.rssTotal()), m.growthPercent(), flat ? "FLAT" : "GROWS",
          ProcStats.mib(m.peakRss()), m.seconds());
      out.printf(Locale.ROOT, "committed Java heap: %s -> %s; RSS outside the heap: %s -> %s "
          + "(%+.2f%%)%n", ProcStats.mib(m.heapFirst()), ProcStats.mib(m.heapTotal()),
          ProcStats.mib(m.rssFirst() - m.heapFirst()), ProcStats.mib(m.rssTotal() - m.heapTotal()),
          m.nativeGrowthPercent());
      out.printf(Locale.ROOT, "load average (1 min): %.2f at start, %.2f at end%n", load0, load1);
    }
    return flat ? 0 : 1;
  }

  /**
   * Times the fully connected CRF alone on the softmax of a photo resized to {@code size x
   * size}: lattice construction and the mean-field updates, all the work of {@link
   * DenseCrf#marginals}.
   */
  private int crf(DenseCrf crf, PrintWriter out) throws Exception {
    if (image == null) {
      throw new UsageError("--crf needs --image FILE");
    }
    if (model.given() || size < 1 || runs < 1 || warmup < 0) {
      throw new UsageError("--crf takes --model DIR (not --variant), --size, --runs, --warmup");
    }
    RgbImage photo = new ImageReader().read(image);
    RgbImage input = new RgbImage(size, size, Resampling.bilinearRgb(photo.rgb(), photo.width(),
        photo.height(), size, size));
    float[] p;
    int classes;
    try (Segmenter s = Segmenter.builder().model(ModelLocation.orDefault(savedModel))
        .threads(threads).build()) {
      Segmentation seg = s.segmentWithProbabilities(input);
      p = seg.probabilities();
      classes = seg.numClasses();
    }
    float[][] q = new float[1][];
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    long cpu0 = os instanceof com.sun.management.OperatingSystemMXBean sun
        ? sun.getProcessCpuTime() : -1;
    LatencyStats stats = LatencyRunner.measure(() -> q[0] = crf.marginals(input, p, classes),
        warmup, runs);
    // Process CPU time per run, warm-up runs included: on a machine shared with other work it
    // shows the work done better than the wall time.
    double cpuMs = cpu0 < 0 ? Double.NaN : (((com.sun.management.OperatingSystemMXBean) os)
        .getProcessCpuTime() - cpu0) / 1e6 / (warmup + runs);
    int[] before = DenseCrf.argmax(p, classes);
    int[] after = DenseCrf.argmax(q[0], classes);
    long changed = java.util.stream.IntStream.range(0, before.length)
        .filter(i -> before[i] != after[i]).count();
    DenseCrf.Settings c = crf.settings();
    if (json) {
      Map<String, Object> h = new LinkedHashMap<>();
      h.put("mode", "crf");
      h.put("image", image.toString());
      h.put("size", size);
      h.put("classes", classes);
      h.put("settings", c.toString());
      h.put("cores", Runtime.getRuntime().availableProcessors());
      h.put("jvm_options", jvmOptions());
      h.put("median_ms", stats.medianMs());
      h.put("best_ms", stats.bestMs());
      h.put("cpu_ms_per_run", cpuMs);
      h.put("runs", stats.count());
      h.put("labels_changed", changed / (double) before.length);
      h.put("load_start", stats.loadStart());
      h.put("load_end", stats.loadEnd());
      out.println(new ObjectMapper().writeValueAsString(h));
      return 0;
    }
    out.printf(Locale.ROOT, "dense CRF, %s resized to %dx%d, %d classes, %s, %d cores%n", image,
        size, size, classes, c, Runtime.getRuntime().availableProcessors());
    out.printf(Locale.ROOT, "median %.1f ms, best %.1f ms over %d runs (%d warm-up); process CPU "
        + "time %.1f ms per run; labels changed by the CRF: %.2f%%%n", stats.medianMs(),
        stats.bestMs(), stats.count(), warmup, cpuMs, 100.0 * changed / before.length);
    out.printf(Locale.ROOT, "load average (1 min): %.2f at start, %.2f at end; jvm options: %s%n",
        stats.loadStart(), stats.loadEnd(), jvmOptions());
    return 0;
  }

  /** The JVM's -X options (the launcher's JIT and GC choices among them). */
  private static String jvmOptions() {
    return String.join(" ", java.lang.management.ManagementFactory.getRuntimeMXBean()
        .getInputArguments().stream().filter(a -> a.startsWith("-X")).toList());
  }

  private int checkAtrous(PrintWriter out) throws Exception {
    ModelConfig config = variantConfig();
    AtrousParity p = AtrousParity.check(config,
        AtrousParity.randomWeights(config, seed, 1 / Math.sqrt(2)), baseSettings(), seed);
    if (json) {
      Map<String, Object> h = new LinkedHashMap<>();
      h.put("mode", "check-atrous");
      h.put("model", describe(config));
      h.put("onednn", SessionSettings.onednnEnabled() ? "on" : "off");
      h.put("max_abs_diff", p.maxAbsDiff());
      h.put("max_abs_logit", p.maxAbsLogit());
      h.put("relative_diff", p.relativeDiff());
      h.put("argmax_agreement", p.argmaxAgreement());
      out.println(new ObjectMapper().writeValueAsString(h));
    } else {
      out.printf(Locale.ROOT, "%s, oneDNN %s: logits space-to-batch vs native dilation: max abs "
          + "diff %.3g (largest |logit| %.3g, relative %.2g), argmax agreement %.5f%n",
          describe(config), SessionSettings.onednnEnabled() ? "on" : "off", p.maxAbsDiff(),
          p.maxAbsLogit(), p.relativeDiff(), p.argmaxAgreement());
    }
    return 0;
  }
}
