#!/usr/bin/env python3
"""Live agreement of our float SavedModel with the quantised TFLite original (Python TF 2.21).

On the exact 513x513 fixtures in deeplab-core/src/test/resources/tflite-golden/images (see
make_tflite_golden.py) this runs

  * the ORIGINAL deeplabv3_mnv2_pascal_quant.tflite with tf.lite.Interpreter, and
  * our bundled SavedModel savedmodels/deeplabv3_mnv2_pascal/<latest> with tf.saved_model.load
    (signature predict_images, input `images` uint8, output `semantic`); if it is still in the
    layout before that signature (serving_default takes `images`), a fresh copy re-exported from
    it (`tools/deeplab export --model`, into a temporary directory) instead, with a line saying
    so,

and prints, per image and overall, the fraction of pixels whose class ids agree. It fails (exit 1)
below the floor PretrainedAgreementTest uses (0.99 overall, 0.98 for any image). It also checks
that the live TFLite maps of both depth multipliers still match the stored golden maps that the
Java test reads (so stale fixtures show up here).

Run by tools/python/run_checks.sh with cwd = repository root.
"""

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

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
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(version_dir, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    return "predict_images" in sm.meta_graphs[0].signature_def


def saved_model_to_check(work):
    """The bundled SavedModel's latest version, or a fresh re-export of it (old layout)."""
    saved = latest_version(SAVED_MODEL_BASE)
    if has_predict_images(saved):
        return saved
    fresh = os.path.join(work, "model")
    p = subprocess.run([DEEPLAB, "export", "--model", SAVED_MODEL_BASE, "-o", fresh],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("tools/deeplab export failed (%d): %s" % (p.returncode,
                                                                   p.stderr.strip()[-800:]))
    print(f"note: {saved} is in the old layout (no predict_images signature): checking a fresh "
          "re-export of it instead")
    return latest_version(fresh)


def tflite_runner(file):
    interpreter = tf.lite.Interpreter(model_path=os.path.join(MODEL_DIR, file), num_threads=2)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]

    def run(rgb):
        interpreter.set_tensor(inp["index"], rgb[None])
        interpreter.invoke()
        return interpreter.get_tensor(out["index"]).reshape(rgb.shape[:2])

    return run


def main():
    work = tempfile.mkdtemp(prefix="deeplab_tflite_check_")
    try:
        return check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check(work):
    names = sorted(f[:-4] for f in os.listdir(os.path.join(GOLDEN, "images")) if f.endswith(".png"))
    if not names:
        print(f"FAIL: no fixtures in {GOLDEN}/images")
        return 1
    images = {n: np.asarray(Image.open(os.path.join(GOLDEN, "images", n + ".png")).convert("RGB"))
              for n in names}
    failures = []

    saved = saved_model_to_check(work)
    serve = tf.saved_model.load(saved).signatures["predict_images"]
    tflite = tflite_runner(TFLITE["dm10"])
    same = total = 0
    print(f"float SavedModel {saved} vs TFLite {TFLITE['dm10']} (argmax agreement):")
    for n in names:
        rgb = images[n]
        ours = serve(images=tf.constant(rgb[None]))["semantic"].numpy().reshape(rgb.shape[:2])
        theirs = tflite(rgb)
        agree = int(np.sum(ours == theirs))
        frac = agree / ours.size
        same += agree
        total += ours.size
        print(f"  {n:14s} {frac:.4f}")
        if frac < IMAGE_FLOOR:
            failures.append(f"{n}: agreement {frac:.4f} < {IMAGE_FLOOR}")
    overall = same / total
    print(f"  overall        {overall:.4f} ({same} of {total} pixels)")
    if overall < OVERALL_FLOOR:
        failures.append(f"overall agreement {overall:.4f} < {OVERALL_FLOOR}")

    for key, file in TFLITE.items():
        run = tflite if key == "dm10" else tflite_runner(file)
        worst = 1.0
        for n in names:
            stored = np.asarray(Image.open(os.path.join(GOLDEN, key, n + ".png")))
            worst = min(worst, float(np.mean(run(images[n]) == stored)))
        print(f"live TFLite {key} vs stored golden maps: worst image {worst:.4f}")
        if worst < GOLDEN_FLOOR:
            failures.append(f"stored {key} golden maps are stale (worst {worst:.4f}); "
                            "rerun tools/interop/make_tflite_golden.py")

    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
