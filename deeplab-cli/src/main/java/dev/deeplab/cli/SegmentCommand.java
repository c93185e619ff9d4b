package dev.deeplab.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.deeplab.data.CityscapesDataset;
import dev.deeplab.image.ImageReader;
import dev.deeplab.image.LabelMap;
import dev.deeplab.image.MaskWriter;
import dev.deeplab.image.ResizeToRange;
import dev.deeplab.image.RgbImage;
import dev.deeplab.infer.DenseCrf;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.Engine;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.internal.infer.OrderedPipeline;
import dev.deeplab.internal.io.NpyWriter;
import dev.deeplab.model.LabelSet;
import dev.deeplab.model.ModelInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code deeplab segment}: class masks and overlays for photos. A bad image is reported in one
 * line and skipped; the exit code is 1 if any image failed.
 */
@Command(name = "segment", mixinStandardHelpOptions = true,
    description = {"Segment images: writes <stem>_mask.png (palette PNG, pixel = class id) and "
        + "<stem>_overlay.png, and prints the classes found with their pixel share.",
        "Example: deeplab segment photos/pets.jpg",
        "Example: deeplab segment --crf photos/pets.jpg   (DeepLab v1/v2's fully connected CRF; "
            + "with --save-probabilities its marginals are saved)",
        "Example: deeplab segment --dataset cityscapes --label-ids --model savedmodels/city "
            + "-o results leftImg8bit/test/*/*.png"})
final class SegmentCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "JPEG, PNG, BMP or GIF files.")
  List<Path> images;

  @Option(names = "--model", paramLabel = "DIR",
      description = "SavedModel directory (default: the pretrained "
          + ModelLocation.DEFAULT_MODEL + " packaged with deeplab).")
  Path model;

  @Option(names = "--allow-foreign-model",
      description = "Load a model whose graph holds operations ours never use (file access, "
          + "Python, network): a model is a program, so only one you trust.")
  boolean allowForeignModel;

  @Option(names = {"-o", "--output"}, paramLabel = "DIR", defaultValue = "out",
      description = "Output directory (default: ${DEFAULT-VALUE}).")
  Path output;

  @Option(names = "--threads", defaultValue = "0",
      description = "Intra-op threads of the engine (0: all cores).")
  int threads;

  @Option(names = "--engine", paramLabel = "ENGINE", converter = EngineConverter.class,
      description = "Runtime of the network: " + EngineConverter.DESCRIPTION + " (default: "
          + "onnxruntime, the faster (BENCHMARKS.md §9), writing a SavedModel as ONNX into the "
          + "cache on first use; tensorflow with --crf or --save-probabilities, and for models "
          + "ONNX Runtime cannot run: multi-scale, wrapped frozen graphs, PyTorch networks).")
  Engine engine;

  @Option(names = "--alpha", defaultValue = "0.5", description = "Overlay opacity (0..1).")
  double alpha;

  @Option(names = "--json", description = "Print a JSON report instead of text: per image, the "
      + "files written and the classes found (id, name, pixels, share), or the error.")
  boolean json;

  @Mixin
  DatasetOptions datasetOptions;

  @Option(names = "--label-ids", description = "Cityscapes evaluation server format: write only "
      + "<name>_labelIds.png per image (<name> without _leftImg8bit), Cityscapes label ids "
      + "(7..33) instead of train ids; needs a 19-class Cityscapes model (--dataset cityscapes).")
  boolean labelIds;

  @Option(names = "--save-probabilities",
      description = "Also write <stem>_probabilities.npy (float32 [height, width, classes]; "
          + "with --crf the CRF's marginals).")
  boolean saveProbabilities;

  @Mixin
  CrfOptions crfOptions;

  @Mixin
  CalibrationOptions calibrationOptions;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (alpha < 0 || alpha > 1) {
      throw new UsageError("--alpha must be between 0 and 1");
    }
    ResizeToRange resize = datasetOptions.resize();
    if (saveProbabilities && (resize.resizes() || labelIds)) {
      throw new UsageError("--save-probabilities cannot be combined with --label-ids or a resize");
    }
    DenseCrf crf = crfOptions.crf();
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    List<String> stems = OutputNames.stems(images);
    ArrayNode report = JsonNodeFactory.instance.arrayNode();
    int failed = 0;
    // Decoding, the mask and the overlay take about 15 bytes per pixel of Java heap, for each of
    // the (at most) five images in the pipeline: refuse images that would not fit, with a
    // message, rather than fail with OutOfMemoryError.
    long heapPixels = Runtime.getRuntime().maxMemory() / 16 / OrderedPipeline.inFlight(1);
    // Without the CRF, whose memory depends on the model, the first image is read while the
    // model loads (BENCHMARKS.md §9b); it is the pipeline's first item, alone until then.
    ReadAhead readAhead = crf == null ? new ReadAhead(new ImageReader(
        Math.min(ImageReader.DEFAULT_MAX_PIXELS, heapPixels)), images.get(0)) : null;
    Path modelPath = ModelLocation.orDefault(model);
    Segmenter.Builder builder = Segmenter.builder().model(modelPath).threads(threads);
    if (engine != null) {
      builder.engine(engine);
    } else if (!saveProbabilities && crf == null) {
      builder.fastestEngine();
    }
    if (allowForeignModel) {
      builder.allowForeignModel();
    }
    try (Segmenter segmenter = calibrationOptions.build(builder, engine)) {
      if ((saveProbabilities || crf != null) && !segmenter.hasProbabilities()) {
        throw new UserError((crf != null ? "--crf" : "--save-probabilities") + ": model "
            + segmenter.directory() + " has no probabilities output");
      }
      if (readAhead == null) {
        // The CRF's arrays for one image at a time: keep them within half the heap.
        heapPixels = Math.min(heapPixels, Runtime.getRuntime().maxMemory() / 2
            / DenseCrf.estimatedBytes(1, segmenter.info().config().numClasses()));
        readAhead = new ReadAhead(
            new ImageReader(Math.min(ImageReader.DEFAULT_MAX_PIXELS, heapPixels)), null);
      }
      ReadAhead reader = readAhead;
      Files.createDirectories(output);
      ModelInfo info = segmenter.info();
      LabelSet labels = labels(info);
      int[] failures = {0};
      // Reading and decoding (reader thread), the network (this thread), and PNG encoding with
      // the report (writer thread, in input order) overlap; a few images in flight at most.
      new OrderedPipeline<Path, RgbImage, Segmentation>(
          reader::read,
          photo -> {
            RgbImage input = resize.resize(photo);
            if (crf != null) {
              return crf.refine(input, segmenter.segmentWithProbabilities(input));
            }
            return saveProbabilities ? segmenter.segmentWithProbabilities(input)
                : segmenter.segment(input);
          },
          r -> {
            Path image = r.input();
            ObjectNode entry = report.addObject().put("image", image.toString());
            try {
              if (r.error() != null) {
                throw r.error();
              }
              write(r.prepared(), r.computed(), stems.get(r.index()), info, labels, entry, out);
            } catch (Exception e) {
              if (!ErrorHandler.isUserError(e)) {
                throw e;
              }
              failures[0]++;
              String problem = ErrorHandler.describe(e);
              String line = problem.startsWith(image.toString()) ? problem : image + ": " + problem;
              entry.put("error", line);
              err.println("deeplab: " + line);
            }
          }, 1).run(images);
      failed = failures[0];
      if (json) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("model", segmenter.directory().toString());
        root.put("engine", EngineConverter.name(segmenter.engine()));
        root.set("images", report);
        // a mapper only here: creating one at start cost 0.16 s of every run (BENCHMARKS.md §9d)
        out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(root));
      }
    }
    return failed == 0 ? 0 : ErrorHandler.USER_ERROR;
  }

  /**
   * Reads images; the first one, when given, on a thread of its own from construction on, so
   * that it is decoded (and the JDK's image codecs initialised) while the model loads.
   */
  private static final class ReadAhead {
    private final ImageReader reader;
    private final Path firstImage;
    private FutureTask<RgbImage> first;

    ReadAhead(ImageReader reader, Path firstImage) {
      this.reader = reader;
      this.firstImage = firstImage;
      if (firstImage != null) {
        first = new FutureTask<>(() -> reader.read(firstImage));
        Thread t = new Thread(first, "deeplab-read-ahead");
        t.setDaemon(true);
        t.start();
      }
    }

    /** The image at {@code path}: the one read ahead, if that is it and not yet taken. */
    RgbImage read(Path path) throws Exception {
      FutureTask<RgbImage> ahead = first;
      if (ahead == null || !path.equals(firstImage)) {
        return reader.read(path);
      }
      first = null;
      try {
        return ahead.get();
      } catch (ExecutionException e) {
        throw e.getCause() instanceof Exception cause ? cause : e;
      }
    }
  }

  private static List<String> outputs(ObjectNode files) {
    List<String> paths = new java.util.ArrayList<>();
    files.fields().forEachRemaining(f -> paths.add(f.getValue().asText()));
    return paths;
  }

  /** The label set: --dataset's (same class count as the model), else the model's. */
  private LabelSet labels(ModelInfo info) {
    LabelSet labels = datasetOptions.labels() != null ? datasetOptions.labels() : info.labels();
    if (labels.numClasses() != info.config().numClasses()) {
      throw new UserError("--dataset " + datasetOptions.dataset + " has " + labels.numClasses()
          + " classes but the model predicts " + info.config().numClasses());
    }
    if (labelIds && !labels.equals(LabelSet.CITYSCAPES)) {
      throw new UsageError("--label-ids needs Cityscapes classes (--dataset cityscapes); the "
          + "model's are " + labels.name());
    }
    return labels;
  }

  /** The Cityscapes image id of a stem: without the {@code _leftImg8bit} suffix. */
  static String serverName(String stem) {
    String suffix = "_leftImg8bit";
    return stem.endsWith(suffix) ? stem.substring(0, stem.length() - suffix.length()) : stem;
  }

  /** Colours of label-id PNGs: each evaluated label id in its class colour, others black. */
  private static final int[] LABEL_ID_COLORS = new int[256];

  static {
    for (int t = 0; t < LabelSet.CITYSCAPES.numClasses(); t++) {
      LABEL_ID_COLORS[CityscapesDataset.labelId(t)] = LabelSet.CITYSCAPES.color(t);
    }
  }

  /** The classes present, largest share first, with id, name, pixel count and share. */
  private static void classes(long[] counts, List<String> names, ArrayNode into) {
    long total = java.util.Arrays.stream(counts).sum();
    java.util.stream.IntStream.range(0, counts.length).boxed().filter(c -> counts[c] > 0)
        .sorted((a, b) -> Long.compare(counts[b], counts[a]))
        .forEach(c -> into.addObject().put("id", c).put("name", names.get(c))
            .put("pixels", counts[c]).put("share", counts[c] / (double) total));
  }

  /** Classes present, largest share first, e.g. {@code person 31.2%, dog 12.0%}. */
  static String describe(long[] counts, List<String> names) {
    long total = java.util.Arrays.stream(counts).sum();
    double[] shares = java.util.Arrays.stream(counts).mapToDouble(c -> c / (double) total)
        .toArray();
    StringBuilder sb = new StringBuilder();
    java.util.stream.IntStream.range(0, shares.length).boxed()
        .filter(c -> shares[c] > 0)
        .sorted((a, b) -> Double.compare(shares[b], shares[a]))
        .forEach(c -> sb.append(sb.length() == 0 ? "" : ", ")
            .append(String.format("%s %.1f%%", names.get(c), 100 * shares[c])));
    return sb.toString();
  }


  /** Writes the outputs of one image and fills its report entry. */
  private void write(RgbImage photo, Segmentation s, String stem, ModelInfo info, LabelSet labels,
      ObjectNode entry, PrintWriter out) throws IOException {
    LabelMap mask = ResizeToRange.resizeNearest(s.toLabelMap(), photo.width(), photo.height());
    int[] palette = labels.palette();
    List<String> names = labels.classNames();
    entry.put("width", photo.width()).put("height", photo.height());
    ObjectNode files = entry.putObject("outputs");
    if (labelIds) {
      Path idsFile = output.resolve(serverName(stem) + "_labelIds.png");
      MaskWriter.writeMask(idsFile, CityscapesDataset.toLabelIds(mask), LABEL_ID_COLORS);
      files.put("labelIds", idsFile.toString());
    } else {
      Path maskFile = output.resolve(stem + "_mask.png");
      Path overlayFile = output.resolve(stem + "_overlay.png");
      MaskWriter.writeMask(maskFile, mask, palette);
      MaskWriter.writeOverlay(overlayFile, photo, mask, palette, alpha);
      files.put("mask", maskFile.toString()).put("overlay", overlayFile.toString());
    }
    if (saveProbabilities) {
      Path npy = output.resolve(stem + "_probabilities.npy");
      NpyWriter.write(npy, new long[] {photo.height(), photo.width(),
          info.config().numClasses()}, s.probabilities());
      files.put("probabilities", npy.toString());
    }
    long[] counts = java.util.Arrays.copyOf(mask.histogram(), names.size());
    classes(counts, names, entry.putArray("classes"));
    if (!json) {
      out.printf("%s (%dx%d): %s%n", entry.get("image").asText(), photo.width(), photo.height(),
          describe(counts, names));
      out.printf("  wrote %s%n", String.join(", ", outputs(files)));
    }
  }
}
