package dev.deeplab.internal.serving;

import dev.deeplab.model.ModelConfig;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Squeeze;
import org.tensorflow.op.image.ResizeBilinear;
import org.tensorflow.op.image.ResizeNearestNeighbor;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TUint8;
import org.tensorflow.types.family.TNumber;

/**
 * The pre- and post-processing steps of the serving graph around the network, for a batch of
 * same-size images {@code [n, h, w, 3]}; the batched-bytes signature runs them per image ({@code
 * n = 1}) inside its loops, the images signatures on the whole batch.
 *
 * <p>As the official export ({@code export_model.py}, {@code input_preprocess.py} eval path,
 * {@code model.py predict_labels}): images are padded at the bottom/right with the mean pixel to
 * the crop; logits are upsampled to the crop with align-corners bilinear, cut to the image region,
 * and mapped back to the image size, class ids by align-corners nearest neighbour. Beyond it:
 * images that do not fit the crop are first scaled down (align-corners bilinear, aspect kept,
 * each side {@code clip(round(side * scale), 1, crop)}), and multi-scale inference first scales the
 * image by the inference scale ({@code predict_labels_multi_scale}).
 */
final class ServingSteps {
  private ServingSteps() {}

  /**
   * An image batch fitted into the crop: {@code padded} {@code [n, cropH, cropW, 3]} float pixels;
   * {@code height, width} of the input and {@code fitHeight, fitWidth} of its region in the crop
   * (int32 scalars).
   */
  record Fitted(Operand<TFloat32> padded, Operand<TInt32> height, Operand<TInt32> width,
      Operand<TInt32> fitHeight, Operand<TInt32> fitWidth) {}

  /**
   * Scales {@code images} by {@code inputScale} and further down to fit {@code crop}'s crop size,
   * then pads them with the mean pixel to it.
   */
  static Fitted fit(Ops tf, Operand<TUint8> images, ModelConfig crop, double inputScale) {
    Operand<TInt32> shape = tf.shape(images);
    Operand<TInt32> h = tf.gather(shape, tf.constant(1), tf.constant(0));
    Operand<TInt32> w = tf.gather(shape, tf.constant(2), tf.constant(0));
    Operand<TInt32>[] fitSize = fittedSize(tf, h, w, crop, inputScale);
    Operand<TInt32> nh = fitSize[0];
    Operand<TInt32> nw = fitSize[1];
    // ResizeBilinear reads uint8 directly: no float copy of the full-size image.
    Operand<TFloat32> pixels = tf.image.resizeBilinear(images, tf.stack(List.of(nh, nw)),
        ResizeBilinear.alignCorners(true));
    Operand<TFloat32> mean = tf.constant(new float[][][][] {{{crop.variant().meanPixel()}}});
    Operand<TInt32> zero = tf.constant(0);
    Operand<TInt32> paddings = tf.reshape(tf.stack(List.of(
        zero, zero,
        zero, tf.math.sub(tf.constant(crop.cropHeight()), nh),
        zero, tf.math.sub(tf.constant(crop.cropWidth()), nw),
        zero, zero)), tf.constant(new int[] {4, 2}));
    Operand<TFloat32> padded = tf.math.add(
        tf.pad(tf.math.sub(pixels, mean), paddings, tf.constant(0f)), mean);
    padded = tf.reshape(padded,
        tf.constant(new int[] {-1, crop.cropHeight(), crop.cropWidth(), 3}));
    return new Fitted(padded, h, w, nh, nw);
  }

  /**
   * {@code [height, width]} of an image of {@code h x w} scaled by {@code inputScale} and further
   * down to fit {@code crop}'s crop size.
   */
  @SuppressWarnings("unchecked")
  static Operand<TInt32>[] fittedSize(Ops tf, Operand<TInt32> h, Operand<TInt32> w,
      ModelConfig crop, double inputScale) {
    Operand<TFloat32> hf = tf.dtypes.cast(h, TFloat32.class);
    Operand<TFloat32> wf = tf.dtypes.cast(w, TFloat32.class);
    Operand<TFloat32> scale = tf.math.minimum(tf.constant((float) inputScale), tf.math.minimum(
        tf.math.div(tf.constant((float) crop.cropHeight()), hf),
        tf.math.div(tf.constant((float) crop.cropWidth()), wf)));
    return new Operand[] {fittedSide(tf, hf, scale, crop.cropHeight()),
        fittedSide(tf, wf, scale, crop.cropWidth())};
  }

  /** {@code clip(round(d * scale), 1, crop)}: one side after fitting into the crop. */
  private static Operand<TInt32> fittedSide(Ops tf, Operand<TFloat32> d, Operand<TFloat32> scale,
      int crop) {
    Operand<TFloat32> r = tf.math.round(tf.math.mul(d, scale));
    return tf.dtypes.cast(tf.clipByValue(r, tf.constant(1f), tf.constant((float) crop)),
        TInt32.class);
  }

  /** The upsampled logits {@code [n, cropH, cropW, C]} cut to the image region. */
  static Operand<TFloat32> region(Ops tf, Operand<TFloat32> upsampled, Operand<TInt32> fitHeight,
      Operand<TInt32> fitWidth) {
    return tf.slice(upsampled, tf.constant(new int[] {0, 0, 0, 0}),
        tf.stack(List.of(tf.constant(-1), fitHeight, fitWidth, tf.constant(-1))));
  }

  /**
   * Class ids at the image size: the argmax of the region, align-corners nearest neighbour to
   * {@code [n, height, width]}, as {@code type} (uint8 keeps full-size memory at one byte a
   * pixel when there are at most 256 classes).
   */
  static <T extends TNumber> Operand<T> classIds(Ops tf, Operand<TFloat32> region,
      Operand<TInt32> height, Operand<TInt32> width, Class<T> type) {
    Operand<T> ids = tf.dtypes.cast(tf.math.argMax(region, tf.constant(3), TInt32.class), type);
    return tf.squeeze(tf.image.resizeNearestNeighbor(tf.expandDims(ids, tf.constant(-1)),
        tf.stack(List.of(height, width)), ResizeNearestNeighbor.alignCorners(true)),
        Squeeze.axis(List.of(3L)));
  }

  /** Softmax of the region resized to {@code [n, height, width, C]} (align-corners bilinear). */
  static Operand<TFloat32> probabilities(Ops tf, Operand<TFloat32> region, Operand<TInt32> height,
      Operand<TInt32> width) {
    return resized(tf, tf.nn.softmax(region), height, width);
  }

  /** A per-pixel map {@code [n, h', w', C]} resized to {@code [n, height, width, C]}. */
  static Operand<TFloat32> resized(Ops tf, Operand<TFloat32> map, Operand<TInt32> height,
      Operand<TInt32> width) {
    return tf.image.resizeBilinear(map, tf.stack(List.of(height, width)),
        ResizeBilinear.alignCorners(true));
  }

  /** Mirrors images or per-pixel outputs left-right (axis 2 of {@code [n, h, w, ...]}). */
  static <T extends org.tensorflow.types.family.TType> Operand<T> flipped(Ops tf, Operand<T> x) {
    return tf.reverse(x, tf.constant(new int[] {2}));
  }
}
