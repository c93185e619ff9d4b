#!/usr/bin/env python3
"""Live agreement of our float SavedModel with the quantised TFLite original (Python TF 2.21).

On the exact 513x513 fixtures in deeplab-core/src/test/resources/tflite-golden/images (see
make_tflite_golden.py) this runs

  * the ORIGINAL deeplabv3_mnv2_pascal_quant.tflite with tf.lite.Interpreter (TFLite's own
    kernels, whatever TF_ENABLE_ONEDNN_OPTS says: run once, in the default setting's subprocess),
    and
  * our bundled SavedModel savedmodels/deeplabv3_mnv2_pascal/<latest> with tf.saved_model.load
    (signature predict_images, input `images` uint8, output `semantic`) under each TensorFlow
    setting, in a fresh subprocess per setting (tf_settings.py): Python TF's defaults
    (TF_ENABLE_ONEDNN_OPTS unset: oneDNN on), as users run it, and TF_ENABLE_ONEDNN_OPTS=0; if it
    is still in the layout before that signature (serving_default takes `images`), a fresh copy
    re-exported from it (`tools/deeplab export --model`, into a temporary directory) instead, with
    a line saying so,

and prints, per image and overall, the fraction of pixels whose class ids agree, one column per
setting (and how many pixels the two settings' maps differ at). It fails (exit 1) below the
floor PretrainedAgreementTest uses (0.99 overall, 0.98 for any image) under either setting, or
when a subprocess fails (a crash names the setting and the signal, e.g. SIGFPE). It also checks
that the live TFLite maps of both depth multipliers still match the stored golden maps that the
Java test reads (so stale fixtures show up here).

Run by tools/python/run_checks.sh with cwd = repository root.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tf_settings  # noqa: E402

GOLDEN = "deeplab-core/src/test/resources/tflite-golden"
MODEL_DIR = "deeplab-core/src/test/resources/dev/deeplab/models"
TFLITE = {"dm10": "deeplabv3_mnv2_pascal_quant.tflite",
          "dm05": "deeplabv3_mnv2_dm05_pascal_quant.tflite"}
SAVED_MODEL_BASE = "savedmodels/deeplabv3_mnv2_pascal"
DEEPLAB = os.path.join("tools", "deeplab")
OVERALL_FLOOR = 0.99
IMAGE_FLOOR = 0.98
# TF Lite itself should reproduce the stored maps; allow for kernel differences between builds.
GOLDEN_FLOOR = 0.999


def latest_version(base):
    versions = [int(d) for d in os.listdir(base) if d.isdigit()
                and os.path.isfile(os.path.join(base, d, "saved_model.pb"))]
    if not versions:
        raise SystemExit(f"no SavedModel version under {base}")
    return os.path.join(base, str(max(versions)))


def has_predict_images(version_dir):
    """True when the SavedModel has the predict_images signature (the current layout)."""
    from tensorflow.core.protobuf import saved_model_pb2
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(version_dir, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    return "predict_images" in sm.meta_graphs[0].signature_def


def reexport(work, saved):
    """A fresh re-export of the bundled SavedModel (old layout)."""
    fresh = os.path.join(work, "model")
    p = subprocess.run([DEEPLAB, "export", "--model", SAVED_MODEL_BASE, "-o", fresh],
                       capture_output=True, text=True, env=tf_settings.java_env())
    if p.returncode != 0:
        raise SystemExit("tools/deeplab export failed (%d): %s" % (p.returncode,
                                                                   p.stderr.strip()[-800:]))
    print(f"note: {saved} is in the old layout (no predict_images signature): checking a fresh "
          "re-export of it instead")
    return latest_version(fresh)


def tflite_runner(file):
    import tensorflow as tf
    interpreter = tf.lite.Interpreter(model_path=os.path.join(MODEL_DIR, file), num_threads=2)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]

    def run(rgb):
        interpreter.set_tensor(inp["index"], rgb[None])
        interpreter.invoke()
        return interpreter.get_tensor(out["index"]).reshape(rgb.shape[:2])

    return run


def load_images(names):
    return {n: np.asarray(Image.open(os.path.join(GOLDEN, "images", n + ".png")).convert("RGB"))
            for n in names}


def evaluate(job):
    """In a tf_settings subprocess: the SavedModel's (kind "saved") or the TFLite files' (kind
    "tflite") class-id maps of the fixtures, written to job["out"] (.npz); returns its path, or
    {"old_layout": True} for a SavedModel without predict_images."""
    import tensorflow as tf
    images = load_images(job["names"])
    maps = {}
    if job["kind"] == "tflite":
        for key, file in TFLITE.items():
            run = tflite_runner(file)
            for n in job["names"]:
                tf_settings.step("TFLite %s %s" % (key, n))
                maps[key + "_" + n] = run(images[n])
    else:
        if not has_predict_images(job["saved"]):
            return {"old_layout": True}
        serve = tf.saved_model.load(job["saved"]).signatures["predict_images"]
        for n in job["names"]:
            tf_settings.step("SavedModel predict_images " + n)
            rgb = images[n]
            maps[n] = serve(images=tf.constant(rgb[None]))["semantic"].numpy().reshape(
                rgb.shape[:2])
    np.savez(job["out"], **maps)
    return {"maps": job["out"]}


def run_all(work, saved, names):
    """Runs per setting: the SavedModel under each, TFLite under the default's subprocess.
    None if the SavedModel turned out to be in the old layout."""
    runs = []
    for setting, value in tf_settings.SETTINGS:
        tag = value or "default"
        jobs = [{"label": "SavedModel %s predict_images" % saved, "kind": "saved",
                 "saved": saved, "names": names, "out": os.path.join(work, tag + ".npz")}]
        if not runs:
            jobs.append({"label": "TFLite interpreter", "kind": "tflite", "names": names,
                         "out": os.path.join(work, "tflite.npz")})
        run = tf_settings.run_setting(__file__, "evaluate", jobs, setting, value)
        if any(o.result and o.result.get("old_layout") for o in run.outcomes):
            return None
        runs.append((run, jobs))
    return runs


def main():
    work = tempfile.mkdtemp(prefix="deeplab_tflite_check_")
    try:
        return check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check(work):
    start = time.monotonic()
    names = sorted(f[:-4] for f in os.listdir(os.path.join(GOLDEN, "images")) if f.endswith(".png"))
    if not names:
        print(f"FAIL: no fixtures in {GOLDEN}/images")
        return 1
    failures = []

    saved = latest_version(SAVED_MODEL_BASE)
    runs = run_all(work, saved, names)
    if runs is None:
        saved = reexport(work, saved)
        runs = run_all(work, saved, names)
        if runs is None:
            print(f"FAIL: the re-export {saved} has no predict_images signature either")
            return 1
    ours, tflite = {}, None
    for run, jobs in runs:
        if not run.setting_ok:
            failures.append(f"{tf_settings.tag(run.setting)} oneDNN in use although "
                            "TF_ENABLE_ONEDNN_OPTS=0")
        for job, outcome in zip(jobs, run.outcomes):
            if outcome.failure:
                print(tf_settings.failure_line(run.setting, job["label"], outcome.failure))
                failures.append(f"{tf_settings.tag(run.setting)} {job['label']}: subprocess "
                                "failed")
            elif job["kind"] == "saved":
                ours[run.setting] = dict(np.load(outcome.result["maps"]))
            else:
                tflite = dict(np.load(outcome.result["maps"]))

    settings = [s for s, _ in tf_settings.SETTINGS if s in ours]
    if tflite is not None and settings:
        print(f"float SavedModel {saved} vs TFLite {TFLITE['dm10']} (argmax agreement):")
        print(("  %-14s %s" % ("", "  ".join("%-24s" % tf_settings.tag(s)
                                             for s in settings))).rstrip())
        same = {s: 0 for s in settings}
        total = 0
        for n in names:
            theirs = tflite["dm10_" + n]
            fracs = []
            for s in settings:
                agree = int(np.sum(ours[s][n] == theirs))
                frac = agree / theirs.size
                same[s] += agree
                fracs.append(frac)
                if frac < IMAGE_FLOOR:
                    failures.append(f"{tf_settings.tag(s)} {n}: agreement {frac:.4f} < "
                                    f"{IMAGE_FLOOR}")
            total += theirs.size
            print(("  %-14s %s" % (n, "  ".join("%-24.4f" % f for f in fracs))).rstrip())
        for s in settings:
            overall = same[s] / total
            print(f"  overall {tf_settings.tag(s):26s} {overall:.4f} ({same[s]} of {total} "
                  "pixels)")
            if overall < OVERALL_FLOOR:
                failures.append(f"{tf_settings.tag(s)} overall agreement {overall:.4f} < "
                                f"{OVERALL_FLOOR}")
        if len(settings) == 2:
            a, b = settings
            diff = sum(int(np.sum(ours[a][n] != ours[b][n])) for n in names)
            print(f"  SavedModel class ids {tf_settings.tag(a)} vs {tf_settings.tag(b)}: differ "
                  f"at {diff} of {total} pixels")

    if tflite is not None:
        for key in TFLITE:
            worst = 1.0
            for n in names:
                stored = np.asarray(Image.open(os.path.join(GOLDEN, key, n + ".png")))
                worst = min(worst, float(np.mean(tflite[key + "_" + n] == stored)))
            print(f"live TFLite {key} vs stored golden maps: worst image {worst:.4f}")
            if worst < GOLDEN_FLOOR:
                failures.append(f"stored {key} golden maps are stale (worst {worst:.4f}); "
                                "rerun tools/interop/make_tflite_golden.py")

    for f in failures:
        print("FAIL: " + f)
    print("check_tflite_agreement: %s (%.0f s)" % ("FAILED" if failures else "PASSED",
                                                  time.monotonic() - start))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
