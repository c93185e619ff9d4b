package dev.deeplab.cli;

import dev.deeplab.data.DatasetInfo;
import dev.deeplab.export.ModelInfo;
import dev.deeplab.infer.Segmentation;
import dev.deeplab.infer.SegmentationWithProbabilities;
import dev.deeplab.infer.Segmenter;
import dev.deeplab.io.NpyWriter;
import dev.deeplab.io.image.ImageReader;
import dev.deeplab.io.image.LabelMap;
import dev.deeplab.io.image.MaskWriter;
import dev.deeplab.io.image.RgbImage;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code deeplab segment}: class masks and overlays for photos. A bad image is reported in one
 * line and skipped; the exit code is 1 if any image failed.
 */
@Command(name = "segment", mixinStandardHelpOptions = true,
    description = {"Segment images: writes <stem>_mask.png (palette PNG, pixel = class id) and "
        + "<stem>_overlay.png, and prints the classes found with their pixel share.",
        "Example: deeplab segment photos/pets.jpg"})
final class SegmentCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "JPEG, PNG, BMP or GIF files.")
  List<Path> images;

  @Option(names = "--model", paramLabel = "DIR",
      description = "SavedModel directory (default: the pretrained "
          + ModelLocation.DEFAULT_MODEL + " packaged with deeplab).")
  Path model;

  @Option(names = {"-o", "--output"}, paramLabel = "DIR", defaultValue = "out",
      description = "Output directory (default: ${DEFAULT-VALUE}).")
  Path output;

  @Option(names = "--threads", defaultValue = "0",
      description = "TensorFlow intra-op threads (0: all cores).")
  int threads;

  @Option(names = "--alpha", defaultValue = "0.5", description = "Overlay opacity (0..1).")
  double alpha;

  @Option(names = "--save-probabilities",
      description = "Also write <stem>_probabilities.npy (float32 [height, width, classes]).")
  boolean saveProbabilities;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (alpha < 0 || alpha > 1) {
      throw new UserError("--alpha must be between 0 and 1");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Path dir = ModelLocation.orDefault(model);
    // Decoding, the mask and the overlay take about 15 bytes per pixel of Java heap: refuse
    // images that would not fit, with a message, rather than fail with OutOfMemoryError.
    long heapPixels = Runtime.getRuntime().maxMemory() / 16;
    ImageReader reader = new ImageReader(Math.min(ImageReader.DEFAULT_MAX_PIXELS, heapPixels));
    int failed = 0;
    try (Segmenter segmenter = Segmenter.load(dir, threads)) {
      if (saveProbabilities && !segmenter.hasProbabilities()) {
        throw new UserError("--save-probabilities: model " + segmenter.directory()
            + " has no probabilities output");
      }
      Files.createDirectories(output);
      ModelInfo info = segmenter.info();
      int[] palette = palette(info);
      for (Path image : images) {
        try {
          RgbImage photo = reader.read(image);
          SegmentationWithProbabilities both = saveProbabilities
              ? segmenter.segmentWithProbabilities(photo.rgb(), photo.width(), photo.height())
              : null;
          Segmentation s = both != null ? both.segmentation()
              : segmenter.segment(photo.rgb(), photo.width(), photo.height());
          LabelMap mask = LabelMap.ofInts(s.width(), s.height(), s.classIds());
          String stem = stem(image);
          Path maskFile = output.resolve(stem + "_mask.png");
          Path overlayFile = output.resolve(stem + "_overlay.png");
          MaskWriter.writeMask(maskFile, mask, palette);
          MaskWriter.writeOverlay(overlayFile, photo, mask, palette, alpha);
          out.printf("%s (%dx%d): %s%n", image, photo.width(), photo.height(),
              describe(s, info.classNames()));
          out.printf("  wrote %s and %s%n", maskFile, overlayFile);
          if (saveProbabilities) {
            Path npy = output.resolve(stem + "_probabilities.npy");
            NpyWriter.write(npy, new long[] {photo.height(), photo.width(),
                info.config().numClasses()}, both.probabilities());
            out.printf("  wrote %s%n", npy);
          }
        } catch (Exception e) {
          if (!ErrorHandler.isUserError(e)) {
            throw e;
          }
          failed++;
          String problem = ErrorHandler.describe(e);
          err.println("deeplab: " + (problem.startsWith(image.toString()) ? problem
              : image + ": " + problem));
        }
      }
    }
    return failed == 0 ? 0 : ErrorHandler.USER_ERROR;
  }

  private static int[] palette(ModelInfo info) {
    try {
      DatasetInfo d = DatasetInfo.byName(info.labelSet());
      if (d.numClasses() == info.config().numClasses()) {
        return d.palette();
      }
    } catch (IllegalArgumentException e) {
      // a custom label set: fall through to the generic colour map
    }
    return DatasetInfo.vocColormap(Math.max(256, info.config().numClasses()));
  }

  /** Classes present, largest share first, e.g. {@code person 31.2%, dog 12.0%}. */
  static String describe(Segmentation s, List<String> names) {
    double[] shares = s.classShares();
    StringBuilder sb = new StringBuilder();
    java.util.stream.IntStream.range(0, shares.length).boxed()
        .filter(c -> shares[c] > 0)
        .sorted((a, b) -> Double.compare(shares[b], shares[a]))
        .forEach(c -> sb.append(sb.length() == 0 ? "" : ", ")
            .append(String.format("%s %.1f%%", names.get(c), 100 * shares[c])));
    return sb.toString();
  }

  private static String stem(Path p) {
    String n = p.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return dot > 0 ? n.substring(0, dot) : n;
  }
}
