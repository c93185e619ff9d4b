#!/usr/bin/env python3
"""Exact fully connected CRF (Kraehenbuehl & Koltun, NIPS 2011) in numpy, for DenseCrf's tests.

Mean-field inference with the same model as dev.deeplab.infer.DenseCrf, but every Gaussian sum
computed exactly over all pairs of pixels (O(N^2), small images only) instead of on the
permutohedral lattice:

    unary      U_i(l) = -log max(p_i(l), 1e-10)
    kernels    k_a(i,j) = exp(-|x_i-x_j|^2 / (2 sa^2) - |I_i-I_j|^2 / (2 sb^2))   (appearance)
               k_s(i,j) = exp(-|x_i-x_j|^2 / (2 sg^2))                            (smoothness)
    message    A_i(l) = sum_j k_a(i,j) Q_j(l) / sum_j k_a(i,j)   (j over all pixels, i included)
    update     Q_i(l) ~ exp(-U_i(l) + w_a A_i(l) + w_s S_i(l))       Q_0 = softmax(-U)

The Potts compatibility [l != l'] gives -w sum_{l' != l} A_i(l') = -w (1 - A_i(l)), the same
distribution up to a per-pixel constant. Computed in float64.

Writes deeplab-core/src/test/resources/crf/<case>/{image.npy (uint8 [H,W,3]), probabilities.npy
(float32 [H,W,C]), marginals.npy (float32 [H,W,C]), settings.json}. Deterministic:

    python3 tools/reference/dense_crf_reference.py
"""

import json
import os
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "deeplab-core", "src", "test", "resources", "crf")


def exact_kernel(features):
    """[N, N] Gaussian kernel of features [N, D] already divided by their std devs."""
    sq = np.sum(features ** 2, axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * features @ features.T
    return np.exp(-0.5 * np.maximum(d2, 0.0))


def dense_crf(image, probabilities, s):
    h, w, c = probabilities.shape
    n = h * w
    ys, xs = np.mgrid[0:h, 0:w]
    pos = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    rgb = image.reshape(n, 3).astype(np.float64)
    kernels = []
    if s["appearance_weight"] > 0:
        f = np.concatenate([pos / s["appearance_xy_std"], rgb / s["appearance_rgb_std"]], axis=1)
        kernels.append((s["appearance_weight"], exact_kernel(f)))
    if s["smoothness_weight"] > 0:
        kernels.append((s["smoothness_weight"], exact_kernel(pos / s["smoothness_xy_std"])))
    log_p = np.log(np.maximum(probabilities.reshape(n, c).astype(np.float64), 1e-10))

    def softmax(e):
        e = e - e.max(axis=1, keepdims=True)
        q = np.exp(e)
        return q / q.sum(axis=1, keepdims=True)

    q = softmax(log_p)
    for _ in range(s["iterations"]):
        energy = log_p.copy()
        for weight, k in kernels:
            energy += weight * (k @ q) / k.sum(axis=1, keepdims=True)
        q = softmax(energy)
    return q.reshape(h, w, c)


def synthetic_case(rng, h, w, c, negligible=0):
    """Regions of flat colour with noise; probabilities that are right but blurred and noisy.

    The last `negligible` classes get probabilities of 1e-6 to 1e-4 everywhere (DenseCrf leaves
    classes below 1e-3 out of the filtering; the reference filters every class)."""
    ys, xs = np.mgrid[0:h, 0:w]
    labels = np.zeros((h, w), np.int64)
    labels[(xs - w * 0.4) ** 2 + (ys - h * 0.5) ** 2 < (min(h, w) * 0.3) ** 2] = 1
    if c > 2:
        labels[(xs > w * 0.7) & (ys < h * 0.6)] = 2
    colours = rng.integers(0, 256, size=(c, 3))
    image = colours[labels] + rng.normal(0, 6, size=(h, w, 3))
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    logits = 2.0 * np.eye(c)[labels]
    # A coarse prediction: the right labels smeared by a box blur, plus noise.
    k = 3
    padded = np.pad(logits, ((k, k), (k, k), (0, 0)), mode="edge")
    blurred = sum(padded[dy:dy + h, dx:dx + w] for dy in range(2 * k + 1)
                  for dx in range(2 * k + 1)) / (2 * k + 1) ** 2
    logits = 3.0 * blurred + rng.normal(0, 0.8, size=(h, w, c))
    if negligible:
        logits[:, :, c - negligible:] = -30.0
    e = np.exp(logits - logits.max(axis=2, keepdims=True))
    p = e / e.sum(axis=2, keepdims=True)
    if negligible:
        p[:, :, c - negligible:] = 10 ** rng.uniform(-6, -4, size=(h, w, negligible))
        p /= p.sum(axis=2, keepdims=True)
    return image, p.astype(np.float32)


CASES = {
    # Small image, DeepLab-v2's kernel weights and colour std, spatial stds scaled to its size.
    "regions_3class": dict(seed=1, h=24, w=32, c=3, settings=dict(
        iterations=10, appearance_weight=4.0, appearance_xy_std=8.0, appearance_rgb_std=10.0,
        smoothness_weight=3.0, smoothness_xy_std=1.0)),
    # DeepLab-v2's settings unchanged (bi_xy_std 67 covers the whole image).
    "deeplab_v2_5class": dict(seed=2, h=30, w=40, c=5, settings=dict(
        iterations=10, appearance_weight=4.0, appearance_xy_std=67.0, appearance_rgb_std=3.0,
        smoothness_weight=3.0, smoothness_xy_std=1.0)),
    # The smoothness kernel alone, wider, five updates.
    "smoothness_only": dict(seed=3, h=20, w=28, c=3, settings=dict(
        iterations=5, appearance_weight=0.0, appearance_xy_std=1.0, appearance_rgb_std=1.0,
        smoothness_weight=5.0, smoothness_xy_std=2.5)),
    # The appearance kernel alone.
    "appearance_only": dict(seed=4, h=26, w=22, c=4, settings=dict(
        iterations=10, appearance_weight=6.0, appearance_xy_std=5.0, appearance_rgb_std=15.0,
        smoothness_weight=0.0, smoothness_xy_std=1.0)),
    # Three of six classes negligible (below 1e-4) at every pixel.
    "negligible_classes": dict(seed=5, h=24, w=30, c=6, negligible=3, settings=dict(
        iterations=10, appearance_weight=4.0, appearance_xy_std=10.0, appearance_rgb_std=8.0,
        smoothness_weight=3.0, smoothness_xy_std=1.0)),
}


def main():
    for name, case in CASES.items():
        rng = np.random.default_rng(case["seed"])
        image, probabilities = synthetic_case(rng, case["h"], case["w"], case["c"],
                                              case.get("negligible", 0))
        marginals = dense_crf(image, probabilities, case["settings"])
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "image.npy"), image)
        np.save(os.path.join(d, "probabilities.npy"), probabilities)
        np.save(os.path.join(d, "marginals.npy"), marginals.astype(np.float32))
        with open(os.path.join(d, "settings.json"), "w") as f:
            json.dump(case["settings"], f, indent=2)
            f.write("\n")
        changed = np.mean(marginals.argmax(2) != probabilities.argmax(2))
        print(f"{name}: {case['h']}x{case['w']}x{case['c']}, labels changed by the CRF: "
              f"{changed:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
