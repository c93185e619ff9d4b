#!/usr/bin/env python3
"""Import of official-layout TF1 checkpoints into SavedModels (Python TF 2.21).

For a MobileNetV2, an Xception and a ResNet golden case (deeplab-core/src/test/resources/golden/<case>), this

  1. writes a checkpoint under the official variable names with the formula weights, using
     tools/reference/deeplab_reference.py, with the extras real official checkpoints carry
     (global_step and a <var>/Momentum slot for every trainable variable): MobileNetV2 in
     tensor-bundle V2 and in the older V1 format, Xception-41 in V2, ResNet-50-beta in V1; and
     computes the reference's float64 logits of the case's formula input image, upsampled
     (align corners) to the input size. This reference work runs once, in one subprocess with
     TF_ENABLE_ONEDNN_OPTS=0, as deeplab_reference.py requires (its float32 ResNet graphs crash
     oneDNN 3.7 with SIGFPE on this CPU; the float64 logits used here do not reach oneDNN);
  2. runs `tools/deeplab import --checkpoint PREFIX --variant ... --output <tmp>` with the case's
     architecture options (Java, TF's Eigen kernels);
  3. under each TensorFlow setting, in a fresh subprocess per setting (tf_settings.py): Python
     TF's defaults (TF_ENABLE_ONEDNN_OPTS unset: oneDNN on) and TF_ENABLE_ONEDNN_OPTS=0, loads each
     exported SavedModel with tf.saved_model.load (signature predict_probabilities: `images` uint8
     -> `semantic`, `probabilities`) and feeds the formula input image (integer pixels, so uint8
     is exact);
  4. compares its `probabilities` with the reference's own softmax of the upsampled float64
     logits: relative L2 error <= 1e-4, and identical argmax (`semantic` and the argmax of
     `probabilities`) except at near-ties (top-2 logit gap below 1e-4 of the largest logit).

It also checks, in each setting's subprocess, that the import refused nothing silently: every
model variable of the SavedModel equals the checkpoint's value, and no slot or global_step made it
into the model. Every result line names its setting; a subprocess killed by a signal fails the
model it was evaluating, with the setting and the signal (the next model gets a fresh subprocess).
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

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tf_settings  # noqa: E402

# Imported only inside prepare(): deeplab_reference sets TF_ENABLE_ONEDNN_OPTS=0 when imported.
REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference")
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
    import tensorflow as tf
    model = tf.train.load_checkpoint(os.path.join(saved_model_dir, "variables", "variables"))
    ckpt = tf.train.load_checkpoint(prefix)
    names = sorted(model.get_variable_to_shape_map())
    worst = 0.0
    for n in names:
        worst = max(worst, float(np.abs(model.get_tensor(n) - ckpt.get_tensor(n)).max()))
    extra = [n for n in names if n == "global_step" or n.endswith("/Momentum")]
    return len(names), worst, extra


def prepare(job):
    """The reference work for one case; runs in a subprocess with TF_ENABLE_ONEDNN_OPTS=0.

    Saves the formula input image (uint8) and the reference's upsampled float64 logits as .npy and
    writes the case's checkpoints (with extras) in the job's formats.
    """
    sys.path.insert(0, REFERENCE)
    import tensorflow as tf
    import deeplab_net as net
    import deeplab_reference as ref
    cfg, case, work = job["config"], job["case"], job["work"]
    h, w = cfg["input_size"]
    image = net.formula_image(h, w)
    assert np.array_equal(image, np.round(image)) and image.max() <= 255
    paths = {"image": os.path.join(work, case + "_image.npy"),
             "up": os.path.join(work, case + "_reference_up.npy")}
    np.save(paths["image"], image.astype(np.uint8))
    t0 = time.time()
    _, up, _, _ = ref.run_case(cfg, net.FormulaParams())
    np.save(paths["up"], up[0])
    paths["reference_s"] = time.time() - t0
    paths["checkpoints"] = []
    for fmt in job["formats"]:
        t0 = time.time()
        prefix = ref.write_checkpoint(os.path.join(work, case + "_" + fmt), case, fmt,
                                      with_extras=True)
        t_write = time.time() - t0
        entries = len(tf.train.load_checkpoint(prefix).get_variable_to_shape_map())
        paths["checkpoints"].append({"format": fmt, "prefix": prefix, "entries": entries,
                                     "write_s": t_write})
    return paths


def evaluate(job):
    """One imported SavedModel against the reference; runs once per TensorFlow setting."""
    import tensorflow as tf
    image = np.load(job["image"])
    up = np.load(job["up"])
    ref_prob = softmax(up.astype(np.float64))
    ref_arg = up.argmax(-1)
    s = np.sort(up, axis=-1)
    tie = (s[..., -1] - s[..., -2]) < NEAR_TIE * np.abs(up).max()
    t0 = time.time()
    tf_settings.step(job["label"] + ": tf.saved_model.load + predict_probabilities")
    loaded = tf.saved_model.load(job["version"])
    sig = loaded.signatures["predict_probabilities"]
    result = sig(images=tf.constant(image))
    t_run = time.time() - t0
    prob = result["probabilities"].numpy()[0].astype(np.float64)
    semantic = result["semantic"].numpy()[0]
    rel = np.linalg.norm(prob - ref_prob) / np.linalg.norm(ref_prob)
    max_abs = np.abs(prob - ref_prob).max()
    arg_diff = (prob.argmax(-1) != ref_arg)
    sem_diff = (semantic != ref_arg)
    bad = int((arg_diff & ~tie).sum() + (sem_diff & ~tie).sum())
    tf_settings.step(job["label"] + ": variables vs the checkpoint")
    n_vars, worst, extra = check_values(job["version"], job["prefix"])
    return {"shape": list(prob.shape), "ref_shape": list(ref_prob.shape), "rel": rel,
            "max_abs": max_abs, "arg_diff": int(arg_diff.sum()), "sem_diff": int(sem_diff.sum()),
            "pixels": int(ref_arg.size), "ties": int(tie.sum()), "bad": bad,
            "mean_top": float(ref_prob.max(-1).mean()), "n_vars": n_vars, "worst": worst,
            "extra": extra, "run_s": t_run}


def main():
    start = time.monotonic()
    failures = []
    work = tempfile.mkdtemp(prefix="deeplab_ckpt_import_")
    try:
        # 1. Reference logits and checkpoints: once, with oneDNN off.
        prep_jobs = []
        for case, formats in CASES:
            with open(os.path.join(GOLDEN, case, "config.json")) as f:
                cfg = json.load(f)
            prep_jobs.append({"label": case + " reference", "case": case, "config": cfg,
                              "formats": list(formats), "work": work})
        prep = tf_settings.run_setting(__file__, "prepare", prep_jobs, *tf_settings.ONEDNN_OFF)
        # 2. Java imports.
        jobs = []
        for pjob, outcome in zip(prep_jobs, prep.outcomes):
            case, cfg = pjob["case"], pjob["config"]
            if outcome.failure:
                failures.append(case)
                print(tf_settings.failure_line(prep.setting, pjob["label"], outcome.failure))
                continue
            r = outcome.result
            print("     %s %s: reference float64 logits in %.0fs" % (
                tf_settings.tag(prep.setting), case, r["reference_s"]))
            for ck in r["checkpoints"]:
                label = "%s %s+extras" % (case, ck["format"])
                out = os.path.join(work, "saved_" + case + "_" + ck["format"])
                cmd = [DEEPLAB, "import", "--checkpoint", ck["prefix"]] + cli_options(cfg) + [
                    "--output", out]
                t0 = time.time()
                p = subprocess.run(cmd, capture_output=True, text=True,
                                   env=tf_settings.java_env())
                t_import = time.time() - t0
                if p.returncode != 0:
                    failures.append(label)
                    print("FAIL %s: import exited %d: %s" % (label, p.returncode,
                                                              p.stderr.strip()[-500:]))
                    continue
                summary = [l for l in p.stdout.splitlines() if l.startswith("restored")]
                print("ok   %-40s checkpoint %d entries (write %.0fs), import %.0fs: %s"
                      % (label, ck["entries"], ck["write_s"], t_import,
                         summary[0] if summary else p.stdout.strip().splitlines()[-1]),
                      flush=True)
                jobs.append({"label": label, "version": os.path.join(out, "1"),
                             "prefix": ck["prefix"], "image": r["image"], "up": r["up"]})
        # 3./4. The SavedModels under each TensorFlow setting.
        for setting, value in tf_settings.SETTINGS:
            run = tf_settings.run_setting(__file__, "evaluate", jobs, setting, value)
            if not run.setting_ok:
                failures.append(run.setting)
            for job, outcome in zip(jobs, run.outcomes):
                where = "%s %s" % (tf_settings.tag(run.setting), job["label"])
                if outcome.failure:
                    failures.append(where)
                    print(tf_settings.failure_line(run.setting, job["label"], outcome.failure))
                    continue
                r = outcome.result
                ok = r["rel"] <= REL_TOL and r["bad"] == 0 and r["worst"] == 0.0 \
                    and not r["extra"] and r["shape"] == r["ref_shape"]
                print("%s %s: tf.saved_model.load + predict_probabilities in %.1fs"
                      % (tf_settings.status(ok), where, r["run_s"]))
                print("     probabilities %s vs reference softmax(upsampled float64 logits): "
                      "rel L2 error %.3g (max |d| %.2g); argmax differs at %d, semantic at %d "
                      "of %d pixels (%d near-ties, %d differences outside them); mean top "
                      "probability %.4f; %d SavedModel variables == checkpoint (max |d| %g), "
                      "training state inside: %s"
                      % (r["shape"], r["rel"], r["max_abs"], r["arg_diff"], r["sem_diff"],
                         r["pixels"], r["ties"], r["bad"], r["mean_top"], r["n_vars"],
                         r["worst"], r["extra"] or "none"), flush=True)
                if not ok:
                    failures.append(where)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("check_checkpoint_import: FAILED: " + ", ".join(failures))
        return 1
    print("check_checkpoint_import: %d imports match the reference under %s (%.0f s)" % (
        sum(len(f) for _, f in CASES), " and ".join(s for s, _ in tf_settings.SETTINGS),
        time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
