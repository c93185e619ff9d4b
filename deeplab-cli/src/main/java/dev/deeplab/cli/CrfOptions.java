package dev.deeplab.cli;

import dev.deeplab.infer.DenseCrf;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * {@code --crf} and its parameters, shared by {@code segment}, {@code eval} and {@code bench}:
 * the fully connected CRF of DeepLab v1/v2 ({@link DenseCrf}) after the network, with DeepLab-v2's
 * PASCAL VOC parameters unless given.
 */
final class CrfOptions {
  @Option(names = "--crf", description = "Refine the prediction with the fully connected CRF of "
      + "DeepLab v1/v2 (mean field on the permutohedral lattice).")
  boolean enabled;

  @Option(names = "--crf-iterations", paramLabel = "N",
      description = "With --crf: mean-field updates (default 10).")
  Integer iterations;

  @Option(names = "--crf-appearance", paramLabel = "W,XY,RGB", split = ",",
      description = "With --crf: the appearance kernel's weight and standard deviations in pixels "
          + "and RGB levels (DeepLab's bi_w, bi_xy_std, bi_rgb_std; default 4,67,3).")
  List<Double> appearance;

  @Option(names = "--crf-smoothness", paramLabel = "W,XY", split = ",",
      description = "With --crf: the smoothness kernel's weight and standard deviation in pixels "
          + "(pos_w, pos_xy_std; default 3,1).")
  List<Double> smoothness;

  /** The CRF asked for, null without {@code --crf}. */
  DenseCrf crf() {
    if (!enabled) {
      if (iterations != null || appearance != null || smoothness != null) {
        throw new UsageError("--crf-iterations, --crf-appearance and --crf-smoothness go with "
            + "--crf");
      }
      return null;
    }
    DenseCrf.Settings s = DenseCrf.Settings.deepLabV2();
    try {
      if (iterations != null) {
        s = s.withIterations(iterations);
      }
      if (appearance != null) {
        if (appearance.size() != 3) {
          throw new UsageError("--crf-appearance takes W,XY,RGB, got " + appearance);
        }
        s = s.withAppearance(appearance.get(0), appearance.get(1), appearance.get(2));
      }
      if (smoothness != null) {
        if (smoothness.size() != 2) {
          throw new UsageError("--crf-smoothness takes W,XY, got " + smoothness);
        }
        s = s.withSmoothness(smoothness.get(0), smoothness.get(1));
      }
    } catch (IllegalArgumentException e) {
      throw new UsageError("--crf: " + e.getMessage());
    }
    return new DenseCrf(s);
  }
}
