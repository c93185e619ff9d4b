package dev.deeplab.internal.onnx;

import dev.deeplab.internal.checkpoint.CheckpointException;
import dev.deeplab.internal.checkpoint.Checkpoints;
import dev.deeplab.internal.model.ModelGraph;
import dev.deeplab.internal.nn.AtrousMode;
import dev.deeplab.internal.onnx.OnnxGraph.Attr;
import dev.deeplab.internal.onnx.proto.Onnx.ModelProto;
import dev.deeplab.internal.onnx.proto.Onnx.StringStringEntryProto;
import dev.deeplab.internal.onnx.proto.Onnx.TensorProto.DataType;
import dev.deeplab.internal.serving.WeightCheck;
import dev.deeplab.internal.weights.FloatTensor;
import dev.deeplab.model.ModelConfig;
import dev.deeplab.model.ModelInfo;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * One of our networks as a self-contained ONNX model that computes what the {@code
 * predict_images} / {@code predict_probabilities} signatures of our SavedModels compute at one
 * scale (see {@code ServingGraph}, {@code ServingSteps}):
 *
 * <ul>
 *   <li>input {@value #IMAGES}: uint8 {@code [batch, height, width, 3]}, RGB, any size;
 *   <li>the image is scaled down (align-corners bilinear, aspect kept) when it does not fit the
 *       crop, padded at the bottom/right with the mean pixel to the crop, run through the network
 *       (batch norm folded into the convolutions, native dilated convolutions), and the logits
 *       upsampled to the crop (align-corners bilinear) and cut to the image's region;
 *   <li>output {@value #SEMANTIC}: int32 {@code [batch, height, width]}, the argmax mapped back to
 *       the image size by align-corners nearest neighbour; with probabilities, also {@value
 *       #PROBABILITIES}: float32 {@code [batch, height, width, classes]}, the softmax resized
 *       there by align-corners bilinear;
 *   <li>output {@value #LOGITS}: float32 {@code [batch, logits height, logits width, classes]},
 *       the network's logits over the whole crop (ONNX Runtime computes only what is fetched:
 *       {@code OnnxRuntimeNetwork} fetches these and finishes in Java).
 * </ul>
 */
public final class OnnxModelWriter {
  public static final String IMAGES = "images";
  public static final String SEMANTIC = "semantic";
  public static final String PROBABILITIES = "probabilities";
  public static final String LOGITS = "logits";
  /** The metadata key under which the model info ({@code ModelInfo} JSON) is stored. */
  public static final String INFO_KEY = "deeplab_model.json";

  private OnnxModelWriter() {}

  /**
   * Which outputs a model has. ONNX Runtime computes every output of a model whichever are
   * fetched, so each use gets a model with only what it needs.
   */
  public enum Outputs {
    /** {@value #SEMANTIC} and {@value #LOGITS}: an exported file. */
    CLASS_IDS,
    /** {@value #SEMANTIC}, {@value #PROBABILITIES} and {@value #LOGITS}: an exported file. */
    PROBABILITIES,
    /**
     * {@value #LOGITS} alone: the ONNX Runtime engine's model for class ids, which it finishes in
     * Java ({@code UpsampledArgmax}).
     */
    LOGITS
  }

  /** What was written: the model and how many batch norms were folded into convolutions. */
  public record Written(ModelProto model, int foldedBatchNorms) {}

  /**
   * The ONNX model of {@code config} with {@code weights} (which must name every variable).
   *
   * @throws CheckpointException if a variable is missing or has another shape
   */
  public static Written build(ModelInfo info, Map<String, FloatTensor> weights, Outputs outputs,
      String producerVersion) throws CheckpointException {
    return build(info, weights, outputs, producerVersion, MAX_MATMUL_LOGITS);
  }

  /**
   * {@link #build} upsampling the logits by matrix products only when they have at most {@code
   * maxMatMulLogits} rows and columns (tests use 0 for the {@code Resize} forms).
   */
  static Written build(ModelInfo info, Map<String, FloatTensor> weights, Outputs outputs,
      String producerVersion, long maxMatMulLogits) throws CheckpointException {
    ModelConfig config = info.config();
    try (ModelGraph net = ModelGraph.build(config, AtrousMode.NATIVE_DILATION);
        Session session = new Session(net.graph())) {
      WeightCheck.requireComplete(net.variables(), weights);
      Checkpoints.restore(session, weights);
      OnnxGraph onnx = new OnnxGraph("deeplab");
      String images = onnx.input(IMAGES, DataType.UINT8, "batch", "height", "width", 3L);
      Fitted f = fit(onnx, images, config);
      Map<String, NetworkConverter.Constant> constants = new HashMap<>();
      NetworkConverter converter = new NetworkConverter(onnx, net.graph(),
          net.graph().toGraphDef(), (node, index) -> constants.get(node + ":" + index),
          net.pixels().op().name(), f.padded);
      String output = net.logits().op().name();
      constants.putAll(evaluate(session, converter.constantsNeeded(output)));
      String logits = converter.convert(output);
      long[] logitsShape = net.logits().shape().asArray();
      onnx.node("Transpose", new String[] {logits}, new String[] {LOGITS},
          Attr.ints("perm", 0, 2, 3, 1));
      if (outputs != Outputs.LOGITS) {
        Region region = region(onnx, logits, config, f, logitsShape[1], logitsShape[2],
            logitsShape[3], maxMatMulLogits);
        String outSize = onnx.node("Concat", "image_size",
            new String[] {f.height, f.width}, Attr.i("axis", 0));
        classIds(onnx, region, f, outSize, config.numClasses() <= 256);
        if (outputs == Outputs.PROBABILITIES) {
          probabilities(onnx, region, f, outSize, config.numClasses());
        }
      }
      onnx.output(LOGITS, DataType.FLOAT, "batch", logitsShape[1], logitsShape[2],
          logitsShape[3]);
      ModelProto model = onnx.model("deeplab-tensorflow-java", producerVersion,
          "DeepLab " + config.variant().officialName() + ", " + info.source())
          .toBuilder().addMetadataProps(StringStringEntryProto.newBuilder()
              .setKey(INFO_KEY).setValue(info.toJson())).build();
      return new Written(model, converter.foldedBatchNorms());
    }
  }

  /**
   * Output {@value #SEMANTIC}: the argmax of the region, mapped to the image size {@code outSize}
   * by align-corners nearest neighbour (in uint8 when {@code byteIds}: a quarter of the memory).
   */
  private static void classIds(OnnxGraph onnx, Region region, Fitted f, String outSize,
      boolean byteIds) {
    long classAxis = region.channelsLast() ? 3 : 1;
    String ids = onnx.node("Cast", "class_ids",
        new String[] {region.cut(onnx, onnx.node("ArgMax", "argmax",
            new String[] {region.values()}, Attr.i("axis", classAxis), Attr.i("keepdims", 1)),
            "argmax/region")},
        Attr.i("to", (byteIds ? DataType.UINT8 : DataType.INT32).getNumber()));
    String one = onnx.longs("class_ids/one", 1);
    String fullIds = onnx.node("Resize", "class_ids/resized", new String[] {ids, "", "",
        onnx.node("Concat", "class_ids/sizes", region.channelsLast()
            ? new String[] {f.batch, outSize, one} : new String[] {f.batch, one, outSize},
            Attr.i("axis", 0))},
        Attr.s("mode", "nearest"), Attr.s("coordinate_transformation_mode", "align_corners"),
        Attr.s("nearest_mode", "round_prefer_ceil"));
    onnx.node("Cast", new String[] {onnx.node("Squeeze", "class_ids/squeezed",
        new String[] {fullIds, onnx.longs("class_ids/axis", classAxis)})},
        new String[] {SEMANTIC}, Attr.i("to", DataType.INT32.getNumber()));
    onnx.output(SEMANTIC, DataType.INT32, "batch", "height", "width");
  }

  /**
   * Output {@value #PROBABILITIES}: the softmax of the region over the last axis, in NHWC (ONNX
   * Runtime's softmax over axis 1 of NCHW transposes internally and took most of the run time),
   * resized to the image size by align-corners bilinear.
   */
  private static void probabilities(OnnxGraph onnx, Region region, Fitted f, String outSize,
      int classes) {
    String cut = region.cut(onnx, region.values(), "region/cut");
    String nhwc = region.channelsLast() ? cut : onnx.node("Transpose", "region/nhwc",
        new String[] {cut}, Attr.ints("perm", 0, 2, 3, 1));
    String softmax = onnx.node("Softmax", "softmax", new String[] {nhwc}, Attr.i("axis", 3));
    onnx.node("Resize", new String[] {softmax, "", "", onnx.node("Concat",
        "probabilities/sizes", new String[] {f.batch, outSize,
            onnx.longs("probabilities/classes", classes)}, Attr.i("axis", 0))},
        new String[] {PROBABILITIES},
        Attr.s("mode", "linear"), Attr.s("coordinate_transformation_mode", "align_corners"));
    onnx.output(PROBABILITIES, DataType.FLOAT, "batch", "height", "width", (long) classes);
  }

  /** Names of the fitted-image values: the padded crop and the 1-D int64 sizes. */
  private record Fitted(String padded, String batch, String height, String width,
      String fitHeight, String fitWidth) {}

  /**
   * {@code ServingSteps.fit} in ONNX: scale {@code min(1, cropH/h, cropW/w)}, sides {@code
   * clip(round(side * scale), 1, crop)} (round half to even in both), align-corners bilinear,
   * padding with the mean pixel.
   */
  private static Fitted fit(OnnxGraph onnx, String images, ModelConfig config) {
    String shape = onnx.node("Shape", "image/shape", new String[] {images});
    String batch = slice(onnx, shape, 0, "image/batch");
    String h = slice(onnx, shape, 1, "image/height");
    String w = slice(onnx, shape, 2, "image/width");
    String hf = onnx.node("Cast", "image/height_f", new String[] {h},
        Attr.i("to", DataType.FLOAT.getNumber()));
    String wf = onnx.node("Cast", "image/width_f", new String[] {w},
        Attr.i("to", DataType.FLOAT.getNumber()));
    String cropH = onnx.scalar("crop/height", config.cropHeight());
    String cropW = onnx.scalar("crop/width", config.cropWidth());
    String scale = onnx.node("Min", "fit/scale", new String[] {onnx.scalar("fit/one", 1f),
        onnx.node("Div", "fit/scale_h", new String[] {cropH, hf}),
        onnx.node("Div", "fit/scale_w", new String[] {cropW, wf})});
    String nh = fittedSide(onnx, hf, scale, cropH, "fit/height");
    String nw = fittedSide(onnx, wf, scale, cropW, "fit/width");
    String pixels = onnx.node("Cast", "image/float", new String[] {onnx.node("Transpose",
        "image/nchw", new String[] {images}, Attr.ints("perm", 0, 3, 1, 2))},
        Attr.i("to", DataType.FLOAT.getNumber()));
    String resized = onnx.node("Resize", "fit/resized", new String[] {pixels, "", "",
        onnx.node("Concat", "fit/sizes", new String[] {batch, onnx.longs("fit/channels", 3),
            nh, nw}, Attr.i("axis", 0))},
        Attr.s("mode", "linear"), Attr.s("coordinate_transformation_mode", "align_corners"));
    float[] mean = config.variant().meanPixel();
    String meanPixel = onnx.floats("fit/mean", mean, 1, 3, 1, 1);
    String pads = onnx.node("Concat", "fit/pads", new String[] {
        onnx.longs("fit/pads_before", 0, 0, 0, 0, 0, 0),
        onnx.node("Sub", "fit/pad_bottom", new String[] {
            onnx.longs("fit/crop_h", config.cropHeight()), nh}),
        onnx.node("Sub", "fit/pad_right", new String[] {
            onnx.longs("fit/crop_w", config.cropWidth()), nw})}, Attr.i("axis", 0));
    String padded = onnx.node("Add", "fit/padded", new String[] {onnx.node("Pad", "fit/pad",
        new String[] {onnx.node("Sub", "fit/centered", new String[] {resized, meanPixel}), pads,
            onnx.scalar("fit/zero", 0f)}, Attr.s("mode", "constant")), meanPixel});
    // The crop size as a static shape, for ONNX Runtime's shape inference and kernel choice.
    String fixed = onnx.node("Reshape", "fit/crop", new String[] {padded,
        onnx.longs("fit/crop_shape", -1, 3, config.cropHeight(), config.cropWidth())});
    return new Fitted(fixed, batch, h, w, nh, nw);
  }

  /**
   * The logits ({@code logitsHeight x logitsWidth}) upsampled to the crop by align-corners bilinear
   * and cut to the fitted image's region {@code [0, fitHeight) x [0, fitWidth)}, computing only
   * about the region. Crop pixel {@code y} reads the logits at {@code y * (in - 1) / (crop - 1)}.
   *
   * <p>Three forms, fastest first (ONNX Runtime 1.30, 513x513, 21 classes: BENCHMARKS.md §9):
   *
   * <ul>
   *   <li>Logits of at most {@code maxMatMulLogits} ({@value #MAX_MATMUL_LOGITS}) rows and
   *       columns: two matrix products
   *       with the interpolation matrices ({@link #byMatMul}), channels last; 2-3 times faster
   *       than {@code Resize}.
   *   <li>{@code crop - 1} a multiple {@code k} of {@code in - 1} on both sides (the official
   *       crops: 513 at output stride 8 or 16, 769, 1025, 2049): that is {@code y / k}; the first
   *       {@code r = ceil((fit - 1) / k) + 1} logits rows, upsampled by align-corners to {@code
   *       (r - 1) * k + 1} rows, hold the region's first rows exactly (cut after the argmax).
   *   <li>Otherwise one {@code Resize} in mode {@code tf_crop_and_resize} computes the region
   *       directly (output pixel {@code y} of {@code fit} maps to {@code y * end * (in - 1) / (fit
   *       - 1)}, with {@code end = (fit - 1) / (crop - 1)}), which ONNX Runtime runs about three
   *       times slower than the second form.
   * </ul>
   */
  private static Region region(OnnxGraph onnx, String logits, ModelConfig config, Fitted f,
      long logitsHeight, long logitsWidth, long classes, long maxMatMulLogits) {
    if (logitsHeight <= maxMatMulLogits && logitsWidth <= maxMatMulLogits) {
      return byMatMul(onnx, logits, config, f, logitsHeight, logitsWidth, classes);
    }
    long kh = logitsHeight > 1 ? (config.cropHeight() - 1) / (logitsHeight - 1) : 0;
    long kw = logitsWidth > 1 ? (config.cropWidth() - 1) / (logitsWidth - 1) : 0;
    if (kh > 0 && kw > 0 && kh * (logitsHeight - 1) == config.cropHeight() - 1
        && kw * (logitsWidth - 1) == config.cropWidth() - 1) {
      return regionByIntegerFactor(onnx, logits, f, kh, kw);
    }
    String ends = onnx.node("Div", "region/ends", new String[] {
        onnx.node("Cast", "region/last", new String[] {onnx.node("Sub", "region/last_i64",
            new String[] {onnx.node("Concat", "region/size", new String[] {f.fitHeight,
                f.fitWidth}, Attr.i("axis", 0)), onnx.longs("region/one", 1, 1)})},
            Attr.i("to", DataType.FLOAT.getNumber())),
        onnx.floats("region/crop_last", new float[] {config.cropHeight() - 1,
            config.cropWidth() - 1}, 2)});
    String roi = onnx.node("Concat", "region/roi", new String[] {
        onnx.floats("region/starts", new float[] {0, 0, 0, 0}, 4),
        onnx.floats("region/nc_ends", new float[] {1, 1}, 2), ends}, Attr.i("axis", 0));
    String sizes = onnx.node("Concat", "region/sizes", new String[] {
        onnx.node("Slice", "region/nc", new String[] {
            onnx.node("Shape", "region/shape", new String[] {logits}),
            onnx.longs("region/nc_start", 0), onnx.longs("region/nc_end", 2)}),
        f.fitHeight, f.fitWidth}, Attr.i("axis", 0));
    return new Region(onnx.node("Resize", "region", new String[] {logits, roi, "", sizes},
        Attr.s("mode", "linear"), Attr.s("coordinate_transformation_mode", "tf_crop_and_resize")),
        null, false);
  }

  /**
   * Above this many logits rows or columns, the interpolation matrices' products cost more than
   * {@code Resize} (measured: 129 logits to 1025 pixels took 72 ms against 58 ms).
   */
  static final long MAX_MATMUL_LOGITS = 65;

  /**
   * The region as {@code U_h[:fitHeight] . logits . U_w[:fitWidth]^T} per image and class, where
   * {@code U[y]} holds crop pixel {@code y}'s two align-corners bilinear weights: the width product
   * on the small logits, then the height product on all classes at once ({@code [fitHeight, in]
   * x [in, fitWidth * classes]}), channels last so that the argmax reads contiguous classes.
   * ONNX Runtime computes it with its GEMM instead of {@code Resize}'s per-pixel loop.
   */
  private static Region byMatMul(OnnxGraph onnx, String logits, ModelConfig config, Fitted f,
      long logitsHeight, long logitsWidth, long classes) {
    String zero = onnx.longs("region/zero", 0);
    String rows = onnx.node("Slice", "region/rows", new String[] {
        onnx.floats("region/row_weights", interpolation(config.cropHeight(), logitsHeight),
            config.cropHeight(), logitsHeight),
        zero, f.fitHeight, onnx.longs("region/row_axis", 0)});
    String columns = onnx.node("Slice", "region/columns", new String[] {
        onnx.floats("region/column_weights", transpose(interpolation(config.cropWidth(),
            logitsWidth), config.cropWidth(), logitsWidth), logitsWidth, config.cropWidth()),
        zero, f.fitWidth, onnx.longs("region/column_axis", 1)});
    String wide = onnx.node("MatMul", "region/wide", new String[] {logits, columns});
    String flat = onnx.node("Reshape", "region/flat", new String[] {
        onnx.node("Transpose", "region/wide_nhwc", new String[] {wide},
            Attr.ints("perm", 0, 2, 3, 1)),
        onnx.longs("region/flat_shape", 0, logitsHeight, -1)});
    String tall = onnx.node("MatMul", "region/tall", new String[] {rows, flat});
    return new Region(onnx.node("Reshape", "region", new String[] {tall,
        onnx.longs("region/shape", 0, 0, -1, classes)}), null, true);
  }

  /**
   * The {@code [out, in]} matrix of align-corners bilinear upsampling: row {@code y} has {@code 1
   * - a} at column {@code i} and {@code a} at {@code i + 1}, where {@code y * (in - 1) / (out - 1)
   * = i + a} in float, as TensorFlow's {@code resize_bilinear} computes it.
   */
  static float[] interpolation(long out, long in) {
    float[] m = new float[Math.toIntExact(out * in)];
    float scale = out > 1 ? (float) (in - 1) / (out - 1) : 0f;
    for (int y = 0; y < out; y++) {
      float source = y * scale;
      int low = (int) Math.floor(source);
      int high = (int) Math.min(low + 1, in - 1);
      float a = source - low;
      m[(int) (y * in + low)] += 1 - a;
      m[(int) (y * in + high)] += a;
    }
    return m;
  }

  private static float[] transpose(float[] m, long rows, long columns) {
    float[] t = new float[m.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < columns; c++) {
        t[(int) (c * rows + r)] = m[(int) (r * columns + c)];
      }
    }
    return t;
  }

  /**
   * Upsampled logits holding the region ({@code [batch, h, w, classes]} if {@code channelsLast},
   * else {@code [batch, classes, h, w]}): exactly ({@code fit} null) or at their top left with
   * fewer than {@code k} extra rows and columns, cut off by {@link #cut}, best after the argmax (a
   * slice of class ids copies 21 times fewer values).
   */
  private record Region(String values, String fit, boolean channelsLast) {
    /** {@code t} ({@code [batch, c, h, w]} over the same pixels) cut to the region. */
    String cut(OnnxGraph onnx, String t, String name) {
      return fit == null ? t : onnx.node("Slice", name, new String[] {t,
          onnx.longs(name + "/starts", 0, 0), fit, onnx.longs(name + "/axes", 2, 3)});
    }
  }

  /** {@link #region} when the crop is {@code k} times the logits (less one) on both sides. */
  private static Region regionByIntegerFactor(OnnxGraph onnx, String logits, Fitted f, long kh,
      long kw) {
    String fit = onnx.node("Concat", "region/fit", new String[] {f.fitHeight, f.fitWidth},
        Attr.i("axis", 0));
    String factor = onnx.longs("region/factor", kh, kw);
    String one = onnx.longs("region/one", 1, 1);
    // r = (fit - 1 + k - 1) / k + 1 logits rows and columns (integer division of non-negatives)
    String rows = onnx.node("Add", "region/logits_size", new String[] {
        onnx.node("Div", "region/ceil", new String[] {onnx.node("Add", "region/ceil_num",
            new String[] {onnx.node("Sub", "region/fit_last", new String[] {fit, one}),
                onnx.node("Sub", "region/factor_less_one", new String[] {factor, one})}),
            factor}), one});
    String axes = onnx.longs("region/axes", 2, 3);
    String cut = onnx.node("Slice", "region/logits", new String[] {logits,
        onnx.longs("region/zeros", 0, 0), rows, axes});
    String upsampled = onnx.node("Mul", "region/upsampled_last", new String[] {
        onnx.node("Sub", "region/rows_last", new String[] {rows, one}), factor});
    String sizes = onnx.node("Concat", "region/sizes", new String[] {
        onnx.node("Slice", "region/nc", new String[] {
            onnx.node("Shape", "region/shape", new String[] {logits}),
            onnx.longs("region/nc_start", 0), onnx.longs("region/nc_end", 2)}),
        onnx.node("Add", "region/upsampled_size", new String[] {upsampled, one})},
        Attr.i("axis", 0));
    return new Region(onnx.node("Resize", "region", new String[] {cut, "", "", sizes},
        Attr.s("mode", "linear"), Attr.s("coordinate_transformation_mode", "align_corners")),
        fit, false);
  }

  private static String slice(OnnxGraph onnx, String shape, long index, String name) {
    return onnx.node("Slice", name, new String[] {shape, onnx.longs(name + "/start", index),
        onnx.longs(name + "/end", index + 1)});
  }

  private static String fittedSide(OnnxGraph onnx, String side, String scale, String crop,
      String name) {
    String rounded = onnx.node("Round", name + "/round", new String[] {
        onnx.node("Mul", name + "/scaled", new String[] {side, scale})});
    String clipped = onnx.node("Clip", name + "/clip", new String[] {rounded,
        onnx.scalar(name + "/min", 1f), crop});
    return onnx.node("Cast", name, new String[] {clipped},
        Attr.i("to", DataType.INT64.getNumber()));
  }

  /** The values of TF tensors {@code outputs} ({@code node:index}), in one run. */
  private static Map<String, NetworkConverter.Constant> evaluate(Session session,
      List<String> outputs) {
    Session.Runner runner = session.runner();
    for (String o : outputs) {
      runner.fetch(NetworkConverter.nodeName(o), NetworkConverter.outputIndex(o));
    }
    Map<String, NetworkConverter.Constant> values = new HashMap<>();
    try (Result r = runner.run()) {
      for (int k = 0; k < outputs.size(); k++) {
        values.put(outputs.get(k), constant(r.get(k), outputs.get(k)));
      }
    }
    return values;
  }

  private static NetworkConverter.Constant constant(Tensor t, String name) {
    long[] shape = t.shape().asArray();
    if (t instanceof TFloat32 f) {
      float[] v = new float[(int) t.shape().size()];
      f.copyTo(DataBuffers.of(v, false, false));
      return new NetworkConverter.Constant(shape, v, null);
    }
    long[] v = new long[(int) t.shape().size()];
    if (t instanceof TInt32 i) {
      int[] iv = new int[v.length];
      i.copyTo(DataBuffers.of(iv, false, false));
      for (int k = 0; k < v.length; k++) {
        v[k] = iv[k];
      }
    } else if (t instanceof TInt64 l) {
      l.copyTo(DataBuffers.of(v, false, false));
    } else {
      throw new IllegalArgumentException("cannot write a " + t.dataType() + " constant ("
          + name + ") as ONNX");
    }
    return new NetworkConverter.Constant(shape, null, v);
  }
}
