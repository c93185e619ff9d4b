package dev.deeplab.internal.torch;

import dev.deeplab.internal.checkpoint.CheckpointEntry;
import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.ModelVariable;
import dev.deeplab.internal.serving.SavedModelWriter;
import dev.deeplab.internal.serving.WeightCheck;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.internal.weights.Oihw;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import dev.deeplab.model.ModelVariant;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compares a PyTorch state dict with one of our PyTorch-form networks and brings its weights in.
 * Our variables carry the state-dict names, so names map one to one; 4-D conv kernels turn from
 * PyTorch's OIHW to TensorFlow's HWIO. As {@code load_state_dict(strict=True)}, every variable must
 * be found with its shape and no tensor may be left over, except what inference never uses: batch
 * norm's {@code num_batches_tracked} counters and torchvision's training-only auxiliary head
 * {@code aux_classifier.*}.
 */
public final class PyTorchImporter {
  private PyTorchImporter() {}

  /** Side of the largest image the serving graph runs at without scaling it down. */
  public static final int DEFAULT_CROP = 1024;

  /**
   * What an import would do.
   *
   * @param stateDict the file read
   * @param config the architecture filled
   * @param report variables missing, unexpected, of another shape
   * @param ignored tensors not used in inference (counters, the auxiliary head)
   * @param tensors the model's variables' tensors by name
   */
  public record Plan(StateDict stateDict, ModelConfig config, WeightCheck.Report report,
      int ignored, Map<String, TorchTensor> tensors) {

    /** Imported only when nothing is missing, left over or of another shape. */
    public boolean clean() {
      return report.clean() && report.unexpected().isEmpty();
    }

    /** One line: the report's summary and the ignored tensors. */
    public String summary() {
      String s = report.empty() ? "every tensor matches" : report.summary();
      return ignored == 0 ? s : s + ", " + ignored + " not used in inference (num_batches_tracked,"
          + " aux_classifier) ignored";
    }
  }

  /**
   * Reads {@code file}'s tensor list and compares it with {@code variant}'s network; the class
   * count is {@code numClasses} or, when absent, that of the file's classifier; the output stride
   * {@code outputStride} or the network's default ({@link TorchNetworks#config}).
   *
   * @throws IOException if the file cannot be read
   */
  public static Plan plan(Path file, ModelVariant variant, OptionalInt numClasses,
      OptionalInt outputStride) throws IOException {
    StateDict sd = StateDict.read(file);
    Map<String, TorchTensor> used = new LinkedHashMap<>();
    Map<String, CheckpointEntry> entries = new LinkedHashMap<>();
    int ignored = 0;
    for (Map.Entry<String, TorchTensor> e : sd.tensors().entrySet()) {
      String name = e.getKey();
      if (name.endsWith(".num_batches_tracked") || name.startsWith("aux_classifier.")) {
        ignored++;
        continue;
      }
      TorchTensor t = e.getValue();
      used.put(name, t);
      entries.put(name, new CheckpointEntry(name,
          t.dtype().isFloating() ? "DT_FLOAT" : "DT_" + t.dtype(), Oihw.hwioShape(t.shape())));
    }
    int classes = numClasses.orElseGet(() -> classesOf(variant, used));
    ModelConfig config = outputStride.isPresent()
        ? TorchNetworks.config(variant, classes, DEFAULT_CROP, outputStride.getAsInt())
        : TorchNetworks.config(variant, classes, DEFAULT_CROP);
    Map<String, ModelVariable> vars;
    try (ModelGraph g = ModelGraph.build(config.withCropSize(65, 65))) {
      vars = new LinkedHashMap<>(g.variables());
    }
    WeightCheck.Report report = WeightCheck.compare(vars, entries, n -> false);
    used.keySet().retainAll(vars.keySet());
    return new Plan(sd, config, report, ignored, used);
  }

  /**
   * Refuses an unclean plan with one line (naming the architecture the file seems to be), else
   * reads the weights and writes the SavedModel version; returns its directory.
   */
  public static Path run(Plan plan, ModelInfo info, Path base, OptionalLong version)
      throws IOException {
    requireClean(plan);
    try {
      return SavedModelWriter.write(weights(plan), info, base, version);
    } catch (CheckpointException e) {
      throw new IOException(e.getMessage(), e);
    }
  }

  /** The variables' values, kernels in HWIO. */
  public static Map<String, FloatTensor> weights(Plan plan) throws IOException {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, TorchTensor> e : plan.tensors().entrySet()) {
      out.put(e.getKey(), Oihw.toHwio(e.getValue().toFloats()));
    }
    return out;
  }

  /**
   * The float tensors of the state dict {@code file} named in {@code wanted}, kernels in HWIO
   * (for {@code train --init-from}).
   *
   * @throws IOException if the file cannot be read or is not a state dict
   */
  public static Map<String, FloatTensor> read(Path file, java.util.Set<String> wanted)
      throws IOException {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, TorchTensor> e : StateDict.read(file).tensors().entrySet()) {
      if (wanted.contains(e.getKey()) && e.getValue().dtype().isFloating()) {
        out.put(e.getKey(), Oihw.toHwio(e.getValue().toFloats()));
      }
    }
    return out;
  }

  /** Whether {@code file} is named as a PyTorch weight file (.pth, .pt, .safetensors). */
  public static boolean isWeightFile(Path file) {
    String n = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
    return n.endsWith(".pth") || n.endsWith(".pt") || n.endsWith(".safetensors");
  }

  /** Throws a one-line {@link TorchFormatException} unless the plan is clean. */
  public static void requireClean(Plan plan) throws TorchFormatException {
    if (plan.clean()) {
      return;
    }
    String guess = guessVariant(plan.stateDict().tensors().keySet());
    String hint = guess != null && !guess.equals(plan.config().variant().officialName())
        ? " (its tensors look like " + guess + ": --arch " + guess + "?)" : "";
    throw new TorchFormatException(plan.stateDict().file() + " does not fit "
        + plan.config().variant() + ": " + plan.summary() + hint);
  }

  /** The class count of the file's classifier, else 21. */
  private static int classesOf(ModelVariant variant, Map<String, TorchTensor> tensors) {
    TorchTensor bias = tensors.get(classifierBias(variant));
    return bias != null && bias.shape().length == 1 && bias.shape()[0] > 0
        ? (int) bias.shape()[0] : 21;
  }

  /** The state-dict name of the last layer's bias. */
  static String classifierBias(ModelVariant variant) {
    if (variant == ModelVariant.TORCHVISION_LRASPP_MOBILENET_V3_LARGE) {
      return "classifier.low_classifier.bias";
    }
    return TorchNetworks.isVainf(variant) ? "classifier.classifier.3.bias" : "classifier.4.bias";
  }

  private static final Pattern LAYER3 = Pattern.compile("backbone\\.layer3\\.(\\d+)\\..*");

  /** The PyTorch architecture a state dict's names suggest, or null. */
  static String guessVariant(java.util.Set<String> names) {
    int blocks = 0;
    for (String n : names) {
      Matcher m = LAYER3.matcher(n);
      if (m.matches()) {
        blocks = Math.max(blocks, Integer.parseInt(m.group(1)) + 1);
      }
    }
    boolean torchvisionHead = names.contains("classifier.0.project.0.weight");
    boolean vainfHead = names.contains("classifier.aspp.project.0.weight");
    ModelVariant v = null;
    boolean mobileNetV3 = names.contains("backbone.16.0.weight");
    if (mobileNetV3 && torchvisionHead) {
      v = ModelVariant.TORCHVISION_DEEPLABV3_MOBILENET_V3_LARGE;
    } else if (mobileNetV3 && names.contains("classifier.cbr.0.weight")) {
      v = ModelVariant.TORCHVISION_LRASPP_MOBILENET_V3_LARGE;
    } else if (vainfHead && names.contains("backbone.high_level_features.4.conv.0.0.weight")) {
      v = ModelVariant.VAINF_DEEPLABV3PLUS_MOBILENET;
    } else if (blocks == 6) {
      v = torchvisionHead ? ModelVariant.TORCHVISION_DEEPLABV3_RESNET50
          : vainfHead ? ModelVariant.VAINF_DEEPLABV3PLUS_RESNET50 : null;
    } else if (blocks == 23) {
      v = torchvisionHead ? ModelVariant.TORCHVISION_DEEPLABV3_RESNET101
          : vainfHead ? ModelVariant.VAINF_DEEPLABV3PLUS_RESNET101 : null;
    }
    return v == null ? null : v.officialName();
  }
}
