package dev.deeplab.internal.train;

import dev.deeplab.image.LabelMap;
import dev.deeplab.image.RgbImage;
import dev.deeplab.train.Augmentation;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The training augmentation of one sample, as the official {@code
 * input_preprocess.preprocess_image_and_label} (training branch) and {@code preprocess_utils}:
 *
 * <ol>
 *   <li>a random scale ({@code get_random_scale}: uniform over the discrete scales); the image is
 *       resized bilinearly and the label by nearest neighbour, both with {@code align_corners},
 *       to {@code floor(size * scale)};
 *   <li>padding at the bottom/right up to the crop size: the image with the mean pixel, the label
 *       with the ignore label ({@code pad_to_bounding_box} at offset 0,0);
 *   <li>a random crop ({@code random_crop}: offsets uniform in {@code [0, padded - crop]});
 *   <li>a left-right flip with probability 0.5 ({@code flip_dim}).
 * </ol>
 *
 * <p>Only the crop window is computed: each output pixel samples the resized image on the fly, so
 * the cost is proportional to the crop, not to the scaled image. The random draws come from a
 * generator seeded per sample, so the result does not depend on threads or timing.
 */
final class Augmenter {
  private Augmenter() {}

  /**
   * Writes one augmented crop.
   *
   * @param pixels destination of {@code cropH*cropW*3} float RGB values at {@code pixelOffset}
   * @param labels destination of {@code cropH*cropW} label bytes at {@code labelOffset}
   */
  static void augment(RgbImage image, LabelMap label, Augmentation aug, int cropH, int cropW,
      float[] mean, int ignoreLabel, SplittableRandom rng, float[] pixels, int pixelOffset,
      byte[] labels, int labelOffset) {
    int h = image.height();
    int w = image.width();
    double scale = drawScale(aug, rng);
    int nh = scale == 1.0 ? h : Math.max(1, (int) (h * scale));
    int nw = scale == 1.0 ? w : Math.max(1, (int) (w * scale));
    int padH = Math.max(cropH, nh);
    int padW = Math.max(cropW, nw);
    int offY = rng.nextInt(padH - cropH + 1);
    int offX = rng.nextInt(padW - cropW + 1);
    boolean flip = aug.flip() && rng.nextBoolean();

    Axis ys = Axis.of(h, nh, offY, cropH, false);
    Axis xs = Axis.of(w, nw, offX, cropW, flip);
    byte[] rgb = image.rgb();
    byte[] ids = label.ids();
    byte ignore = (byte) ignoreLabel;
    for (int y = 0; y < cropH; y++) {
      int p = pixelOffset + y * cropW * 3;
      int l = labelOffset + y * cropW;
      if (!ys.inside[y]) {
        for (int x = 0; x < cropW; x++) {
          pixels[p++] = mean[0];
          pixels[p++] = mean[1];
          pixels[p++] = mean[2];
          labels[l++] = ignore;
        }
        continue;
      }
      int r0 = ys.lo[y] * w;
      int r1 = ys.hi[y] * w;
      float fy = ys.frac[y];
      int rn = ys.nearest[y] * w;
      for (int x = 0; x < cropW; x++) {
        if (!xs.inside[x]) {
          pixels[p++] = mean[0];
          pixels[p++] = mean[1];
          pixels[p++] = mean[2];
          labels[l++] = ignore;
          continue;
        }
        int c0 = xs.lo[x];
        int c1 = xs.hi[x];
        float fx = xs.frac[x];
        for (int c = 0; c < 3; c++) {
          float tl = rgb[(r0 + c0) * 3 + c] & 0xFF;
          float tr = rgb[(r0 + c1) * 3 + c] & 0xFF;
          float bl = rgb[(r1 + c0) * 3 + c] & 0xFF;
          float br = rgb[(r1 + c1) * 3 + c] & 0xFF;
          float top = tl + (tr - tl) * fx;
          float bottom = bl + (br - bl) * fx;
          pixels[p++] = top + (bottom - top) * fy;
        }
        labels[l++] = ids[rn + xs.nearest[x]];
      }
    }
  }

  /** A scale drawn uniformly from the discrete scales, or from [min, max) when continuous. */
  static double drawScale(Augmentation aug, SplittableRandom rng) {
    List<Double> scales = aug.scales();
    if (scales.size() == 1) {
      return scales.get(0);
    }
    if (scales.isEmpty()) {
      return aug.minScale() + rng.nextDouble() * (aug.maxScale() - aug.minScale());
    }
    return scales.get(rng.nextInt(scales.size()));
  }

  /**
   * Source coordinates along one axis for each crop position: TF's align-corners mapping {@code
   * src = dst * (in - 1) / (out - 1)}, bilinear neighbours and weight, and the nearest neighbour
   * {@code min(round(src), in - 1)} as {@code resize_nearest_neighbor(align_corners=True)}.
   */
  private record Axis(boolean[] inside, int[] lo, int[] hi, float[] frac, int[] nearest) {
    static Axis of(int in, int out, int offset, int crop, boolean flip) {
      boolean[] inside = new boolean[crop];
      int[] lo = new int[crop];
      int[] hi = new int[crop];
      float[] frac = new float[crop];
      int[] nearest = new int[crop];
      float scale = out > 1 ? (float) (in - 1) / (out - 1) : 0f;
      for (int i = 0; i < crop; i++) {
        int d = offset + (flip ? crop - 1 - i : i);
        if (d >= out) {
          continue;
        }
        inside[i] = true;
        float src = d * scale;
        int l = (int) Math.floor(src);
        lo[i] = Math.min(l, in - 1);
        hi[i] = Math.min(l + 1, in - 1);
        frac[i] = src - l;
        nearest[i] = Math.min(Math.round(src), in - 1);
      }
      return new Axis(inside, lo, hi, frac, nearest);
    }
  }
}
