package dev.deeplab.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;

/**
 * Formats a {@link ConfusionMatrix} as a text table (per-class IoU with class names, mean IoU,
 * pixel accuracy) or as JSON. The metrics are those of the official DeepLab evaluation ({@code
 * research/deeplab/eval.py}, {@code tf.metrics.mean_iou}); see {@link ConfusionMatrix}.
 *
 * <p>JSON layout ({@code iou} is {@code null} for classes absent from labels and predictions):
 *
 * <pre>
 * {"num_classes": 21, "ignore_label": 255, "pixels": 1052676, "pixel_accuracy": 0.994,
 *  "mean_iou": 0.976, "valid_classes": 6,
 *  "classes": [{"id": 0, "name": "background", "iou": 0.99, "true_positives": ...,
 *               "false_positives": ..., "false_negatives": ...}, ...],
 *  "confusion_matrix": [[...], ...]}   rows = label, columns = prediction
 * </pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class EvalReport {
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private EvalReport() {}

  /**
   * A text table, one row per class, then mean IoU and pixel accuracy.
   *
   * @param classNames names by class id; missing names print as {@code class <id>}
   */
  public static String toText(ConfusionMatrix cm, List<String> classNames) {
    int nameWidth = 5;
    for (int c = 0; c < cm.numClasses(); c++) {
      nameWidth = Math.max(nameWidth, name(classNames, c).length());
    }
    StringBuilder sb = new StringBuilder();
    String header = String.format(Locale.ROOT, "%4s  %-" + nameWidth + "s  %7s  %12s  %12s  %12s%n",
        "id", "class", "IoU", "TP", "FP", "FN");
    sb.append(header);
    sb.append("-".repeat(header.strip().length())).append(System.lineSeparator());
    for (int c = 0; c < cm.numClasses(); c++) {
      double iou = cm.iou(c);
      String iouText = Double.isNaN(iou) ? "n/a" : String.format(Locale.ROOT, "%6.2f%%", 100 * iou);
      sb.append(String.format(Locale.ROOT, "%4d  %-" + nameWidth + "s  %7s  %12d  %12d  %12d%n", c,
          name(classNames, c), iouText, cm.truePositives(c), cm.falsePositives(c), cm.falseNegatives(c)));
    }
    sb.append(String.format(Locale.ROOT, "mean IoU:       %6.2f%% over %d of %d classes (n/a: absent from labels and predictions)%n",
        100 * cm.meanIou(), cm.validClasses(), cm.numClasses()));
    sb.append(String.format(Locale.ROOT, "pixel accuracy: %6.2f%% of %d pixels (ignore label %d excluded)%n",
        100 * cm.pixelAccuracy(), cm.total(), cm.ignoreLabel()));
    return sb.toString();
  }

  /** The report as a JSON tree (see the class comment for the layout). */
  public static ObjectNode toJsonTree(ConfusionMatrix cm, List<String> classNames) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("num_classes", cm.numClasses());
    root.put("ignore_label", cm.ignoreLabel());
    root.put("pixels", cm.total());
    root.put("pixel_accuracy", cm.pixelAccuracy());
    root.put("mean_iou", cm.meanIou());
    root.put("valid_classes", cm.validClasses());
    ArrayNode classes = root.putArray("classes");
    for (int c = 0; c < cm.numClasses(); c++) {
      ObjectNode entry = classes.addObject();
      entry.put("id", c);
      entry.put("name", name(classNames, c));
      double iou = cm.iou(c);
      if (Double.isNaN(iou)) {
        entry.putNull("iou");
      } else {
        entry.put("iou", iou);
      }
      entry.put("true_positives", cm.truePositives(c));
      entry.put("false_positives", cm.falsePositives(c));
      entry.put("false_negatives", cm.falseNegatives(c));
    }
    ArrayNode matrix = root.putArray("confusion_matrix");
    for (long[] row : cm.counts()) {
      ArrayNode r = matrix.addArray();
      for (long v : row) {
        r.add(v);
      }
    }
    return root;
  }

  /** The report as pretty-printed JSON. */
  public static String toJson(ConfusionMatrix cm, List<String> classNames) {
    try {
      return MAPPER.writeValueAsString(toJsonTree(cm, classNames));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String name(List<String> classNames, int c) {
    return classNames != null && c < classNames.size() && classNames.get(c) != null
        ? classNames.get(c) : "class " + c;
  }
}
