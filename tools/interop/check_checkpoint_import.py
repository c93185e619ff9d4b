#!/usr/bin/env python3
"""Import of official-layout TF1 checkpoints into SavedModels (Python TF 2.21).

For a MobileNetV2, an Xception and a ResNet golden case (deeplab-core/src/test/resources/golden/<case>), this

  1. writes a checkpoint under the official variable names with the formula weights, using
     tools/reference/deeplab_reference.py, with the extras real official checkpoints carry
     (global_step and a <var>/Momentum slot for every trainable variable): MobileNetV2 in
     tensor-bundle V2 and in the older V1 format, Xception-41 in V2, ResNet-50-beta in V1;
  2. runs `tools/deeplab import --checkpoint PREFIX --variant ... --output <tmp>` with the case's
     architecture options;
  3. loads the exported SavedModel with tf.saved_model.load (signature predict_probabilities:
     `images` uint8 -> `semantic`, `probabilities`) and feeds the case's formula input image
     (integer pixels, so uint8 is exact);
  4. compares its `probabilities` with the reference's own softmax of the align-corners
     upsampled float64 logits: relative L2 error <= 1e-4, and identical argmax (`semantic` and
     the argmax of `probabilities`) except at near-ties (top-2 logit gap below 1e-4 of the
     largest logit).

It also checks that the import refused nothing silently: every model variable of the
SavedModel equals the checkpoint's value, and no slot or global_step made it into the model.
Exit status 1 on any failure. Run by tools/python/run_checks.sh (cwd = repository root,
PYTHONPATH includes tools/reference).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

# As deeplab_reference.py: its shape probe crashes (SIGFPE) in oneDNN's conv on this TF build.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import deeplab_net as net  # noqa: E402
import deeplab_reference as ref  # noqa: E402

GOLDEN = "deeplab-core/src/test/resources/golden"
DEEPLAB = os.path.join("tools", "deeplab")
# (case, formats). Writing the formula checkpoint of a large backbone takes about a minute, so
# each of those is written once; the small MobileNetV2 case is written in both formats.
CASES = [
    ("mobilenet_v2_os16_65", ("v2", "v1")),
    ("xception_41_os8_65", ("v2",)),
    ("resnet_v1_50_beta_os16_dec_64", ("v1",)),
]
REL_TOL = 1e-4
NEAR_TIE = 1e-4


def cli_options(cfg):
    """The `deeplab import` architecture options of a golden config.json."""
    opts = ["--variant", cfg["variant"], "--output-stride", str(cfg["output_stride"]),
            "--num-classes", str(cfg["num_classes"]),
            "--crop-size", "%dx%d" % tuple(cfg["crop_size"])]
    if cfg["atrous_rates"]:
        opts += ["--atrous-rates", ",".join(str(r) for r in cfg["atrous_rates"])]
    if cfg.get("multi_grid"):
        opts += ["--multi-grid", ",".join(str(r) for r in cfg["multi_grid"])]
    opts.append("--decoder" if cfg.get("decoder_output_stride") else "--no-decoder")
    opts.append("--separable-aspp" if cfg["aspp_with_separable_conv"] else "--no-separable-aspp")
    opts.append("--separable-decoder" if cfg["decoder_use_separable_conv"]
                else "--no-separable-decoder")
    if cfg["variant"].startswith("mobilenet"):
        opts += ["--depth-multiplier", str(cfg["depth_multiplier"])]
    return opts


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def check_values(saved_model_dir, prefix):
    """Every variable of the SavedModel equals the checkpoint's; no training state inside."""
    model = tf.train.load_checkpoint(os.path.join(saved_model_dir, "variables", "variables"))
    ckpt = tf.train.load_checkpoint(prefix)
    names = sorted(model.get_variable_to_shape_map())
    worst = 0.0
    for n in names:
        worst = max(worst, float(np.abs(model.get_tensor(n) - ckpt.get_tensor(n)).max()))
    extra = [n for n in names if n == "global_step" or n.endswith("/Momentum")]
    return len(names), worst, extra


def main():
    failures = []
    work = tempfile.mkdtemp(prefix="deeplab_ckpt_import_")
    reference_cache = {}
    try:
        for case, formats in CASES:
            with open(os.path.join(GOLDEN, case, "config.json")) as f:
                cfg = json.load(f)
            h, w = cfg["input_size"]
            image = net.formula_image(h, w)
            assert np.array_equal(image, np.round(image)) and image.max() <= 255
            if case not in reference_cache:
                _, up, _, _ = ref.run_case(cfg, net.FormulaParams())
                reference_cache[case] = up[0]
            up = reference_cache[case]
            ref_prob = softmax(up.astype(np.float64))
            ref_arg = up.argmax(-1)
            s = np.sort(up, axis=-1)
            tie = (s[..., -1] - s[..., -2]) < NEAR_TIE * np.abs(up).max()
            for fmt in formats:
                label = "%s %s+extras" % (case, fmt)
                t0 = time.time()
                prefix = ref.write_checkpoint(os.path.join(work, case + "_" + fmt), case, fmt,
                                              with_extras=True)
                t_write = time.time() - t0
                entries = len(tf.train.load_checkpoint(prefix).get_variable_to_shape_map())
                out = os.path.join(work, "saved_" + case + "_" + fmt)
                cmd = [DEEPLAB, "import", "--checkpoint", prefix] + cli_options(cfg) + [
                    "--output", out]
                t0 = time.time()
                p = subprocess.run(cmd, capture_output=True, text=True)
                t_import = time.time() - t0
                if p.returncode != 0:
                    failures.append(label)
                    print("FAIL %s: import exited %d: %s" % (label, p.returncode,
                                                              p.stderr.strip()[-500:]))
                    continue
                summary = [l for l in p.stdout.splitlines() if l.startswith("restored")]
                version_dir = os.path.join(out, "1")
                loaded = tf.saved_model.load(version_dir)
                sig = loaded.signatures["predict_probabilities"]
                result = sig(images=tf.constant(image.astype(np.uint8)))
                prob = result["probabilities"].numpy()[0].astype(np.float64)
                semantic = result["semantic"].numpy()[0]
                rel = np.linalg.norm(prob - ref_prob) / np.linalg.norm(ref_prob)
                max_abs = np.abs(prob - ref_prob).max()
                arg_diff = (prob.argmax(-1) != ref_arg)
                sem_diff = (semantic != ref_arg)
                bad = int((arg_diff & ~tie).sum() + (sem_diff & ~tie).sum())
                n_vars, worst, extra = check_values(version_dir, prefix)
                ok = rel <= REL_TOL and bad == 0 and worst == 0.0 and not extra \
                    and prob.shape == ref_prob.shape
                print("%s %-40s checkpoint %d entries (write %.0fs), import %.0fs: %s"
                      % ("ok  " if ok else "FAIL", label, entries, t_write, t_import,
                         summary[0] if summary else p.stdout.strip().splitlines()[-1]))
                print("     probabilities %s vs reference softmax(upsampled float64 logits): "
                      "rel L2 error %.3g (max |d| %.2g); argmax differs at %d, semantic at %d "
                      "of %d pixels (%d near-ties, %d differences outside them); mean top "
                      "probability %.4f; %d SavedModel variables == checkpoint (max |d| %g), "
                      "training state inside: %s"
                      % (list(prob.shape), rel, max_abs, int(arg_diff.sum()),
                         int(sem_diff.sum()), h * w, int(tie.sum()), bad,
                         float(ref_prob.max(-1).mean()), n_vars, worst, extra or "none"))
                if not ok:
                    failures.append(label)
                shutil.rmtree(os.path.dirname(prefix), ignore_errors=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("check_checkpoint_import: FAILED: " + ", ".join(failures))
        return 1
    print("check_checkpoint_import: %d imports match the reference" % sum(
        len(f) for _, f in CASES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
