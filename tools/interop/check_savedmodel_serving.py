#!/usr/bin/env python3
"""Our exported SavedModel as TF Serving would load it, against the Java results (TF 2.21).

Loads savedmodels/deeplabv3_mnv2_pascal/<latest version> with tf.saved_model.load (the loader
TF Serving's Python tooling uses; tag `serve`) and calls its two signatures:

  * serving_default: `images` uint8 [batch, height, width, 3] -> `semantic` int32, `probabilities`
  * predict_image_bytes: `image_bytes` string [1] (one encoded image) -> the same outputs

Compared with `tools/deeplab segment --save-probabilities` (Java, TF Java 1.1.0 runtime), which
writes <stem>_mask.png (palette PNG, pixel = class id) and <stem>_probabilities.npy:

  1. the real photos of examples/photos/ (JPEGs converted to PNG first, so
     that Java and Python see the same pixels whatever their JPEG decoders do): identical class
     ids, probabilities within 1e-5; the bytes signature on the same PNG bytes gives exactly the
     serving_default result, and on the original JPEG bytes the result of tf.io.decode_jpeg +
     serving_default;
  2. a batch of 2 photos of different sizes padded (bottom/right, zeros) into one [2,H,W,3]
     tensor: each batch entry equals Java's result on that padded image saved as its own PNG
     (identical class ids, probabilities within 1e-5), and Python's batch-1 result;
  3. `saved_model_cli show --all` (the venv's): tag-set serve, both signatures with method name
     tensorflow/serving/predict and the expected dtypes and shapes.

Exit status 1 on any failure. Run by tools/python/run_checks.sh with cwd = repository root.
"""

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image
import tensorflow as tf

BASE = "savedmodels/deeplabv3_mnv2_pascal"
PHOTOS = "examples/photos"
DEEPLAB = os.path.join("tools", "deeplab")
PROB_TOL = 1e-5
BATCH = ("chelsea", "pets")  # 451x300 and 512x430: different sizes in both dimensions


def latest_version(base):
    versions = [int(d) for d in os.listdir(base) if d.isdigit()
                and os.path.isfile(os.path.join(base, d, "saved_model.pb"))]
    if not versions:
        raise SystemExit(f"no SavedModel version under {base}")
    return os.path.join(base, str(max(versions)))


def java_segment(images, out_dir):
    """Runs the Java CLI on PNG files; returns {stem: (class ids [H,W], probabilities [H,W,C])}."""
    cmd = [DEEPLAB, "segment", "--model", BASE, "--save-probabilities", "--output", out_dir] \
        + images
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("java segment failed (%d): %s" % (p.returncode, p.stderr.strip()[-800:]))
    results = {}
    for image in images:
        stem = os.path.splitext(os.path.basename(image))[0]
        ids = np.array(Image.open(os.path.join(out_dir, stem + "_mask.png")))  # palette indices
        prob = np.load(os.path.join(out_dir, stem + "_probabilities.npy"))
        results[stem] = (ids.astype(np.int32), prob)
    return results


def compare(label, sem, prob, java):
    ids, jprob = java
    same_shape = sem.shape == ids.shape and prob.shape == jprob.shape
    diff_ids = int((sem != ids).sum()) if same_shape else -1
    max_d = float(np.abs(prob - jprob).max()) if same_shape else float("inf")
    ok = same_shape and diff_ids == 0 and max_d <= PROB_TOL
    print("%s %-34s %s: class ids differ at %d of %d pixels, max |probability diff| %.2g"
          % ("ok  " if ok else "FAIL", label, "x".join(str(d) for d in prob.shape), diff_ids,
             sem.size, max_d))
    return ok


def check_cli_show(version_dir):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    p = subprocess.run([cli, "show", "--all", "--dir", version_dir], capture_output=True,
                       text=True)
    text = p.stdout
    if p.returncode != 0:
        print("FAIL saved_model_cli show --all exited %d: %s" % (p.returncode, p.stderr[-400:]))
        return False
    sigs = {}
    for m in re.finditer(r"signature_def\['([^']+)'\]:(.*?)Method name is: (\S+)", text, re.S):
        tensors = {}
        for t in re.finditer(r"(inputs|outputs)\['([^']+)'\] tensor_info:\s*dtype: (\S+)\s*"
                             r"shape: (\([^)]*\))", m.group(2)):
            tensors[(t.group(1), t.group(2))] = (t.group(3), t.group(4))
        sigs[m.group(1)] = (m.group(3), tensors)
    expected = {
        "serving_default": {("inputs", "images"): ("DT_UINT8", ["(-1, -1, -1, 3)"]),
                            ("outputs", "semantic"): ("DT_INT32", ["(-1, -1, -1)"]),
                            ("outputs", "probabilities"): ("DT_FLOAT", ["(-1, -1, -1, -1)",
                                                                       "(-1, -1, -1, 21)"])},
        "predict_image_bytes": {("inputs", "image_bytes"): ("DT_STRING", ["(1)", "(1,)"]),
                                ("outputs", "semantic"): ("DT_INT32", ["(-1, -1, -1)"]),
                                ("outputs", "probabilities"): ("DT_FLOAT",
                                                               ["(-1, -1, -1, -1)",
                                                                "(-1, -1, -1, 21)"])},
    }
    ok = "MetaGraphDef with tag-set: 'serve'" in text
    print("%s saved_model_cli show --all: tag-set 'serve' %s" % ("ok  " if ok else "FAIL",
                                                              "found" if ok else "missing"))
    for key, tensors in expected.items():
        method, found = sigs.get(key, (None, {}))
        good = method == "tensorflow/serving/predict" and set(found) == set(tensors)
        for k, (dtype, shapes) in tensors.items():
            good &= k in found and found[k][0] == dtype and found[k][1] in shapes
        print("%s saved_model_cli signature %-20s method %s; %s" % (
            "ok  " if good else "FAIL", key, method, "; ".join(
                "%s %s %s %s" % (k[0][:-1], k[1], *found.get(k, ("?", "?")))
                for k in sorted(found))))
        ok &= good
    return ok


def main():
    version_dir = latest_version(BASE)
    print("SavedModel %s, loaded with tf.saved_model.load (tf %s)" % (version_dir, tf.__version__))
    model = tf.saved_model.load(version_dir)
    default = model.signatures["serving_default"]
    by_bytes = model.signatures["predict_image_bytes"]
    ok = True
    work = tempfile.mkdtemp(prefix="deeplab_serving_check_")
    try:
        # 1. Real photos, as PNG so that both sides decode the same pixels.
        pngs, originals = [], {}
        for name in sorted(os.listdir(PHOTOS)):
            stem, ext = os.path.splitext(name)
            if ext.lower() not in (".png", ".jpg", ".jpeg"):
                continue
            path = os.path.join(PHOTOS, name)
            rgb = np.array(Image.open(path).convert("RGB"))
            png = os.path.join(work, stem + ".png")
            Image.fromarray(rgb).save(png)
            pngs.append(png)
            originals[stem] = path
        # 2. The padded batch: each padded image also as its own PNG for Java.
        sizes = [np.array(Image.open(os.path.join(work, s + ".png"))).shape for s in BATCH]
        bh, bw = max(s[0] for s in sizes), max(s[1] for s in sizes)
        batch = np.zeros((len(BATCH), bh, bw, 3), np.uint8)
        padded_pngs = []
        for i, s in enumerate(BATCH):
            rgb = np.array(Image.open(os.path.join(work, s + ".png")))
            batch[i, :rgb.shape[0], :rgb.shape[1]] = rgb
            f = os.path.join(work, "padded_%d_%s.png" % (i, s))
            Image.fromarray(batch[i]).save(f)
            padded_pngs.append(f)
        java = java_segment(pngs + padded_pngs, os.path.join(work, "java"))

        for png in pngs:
            stem = os.path.splitext(os.path.basename(png))[0]
            rgb = np.array(Image.open(png))
            r = default(images=tf.constant(rgb[None]))
            sem, prob = r["semantic"].numpy()[0], r["probabilities"].numpy()[0]
            ok &= compare("photo " + os.path.basename(originals[stem]), sem, prob, java[stem])
            with open(png, "rb") as f:
                rb = by_bytes(image_bytes=tf.constant([f.read()]))
            same = np.array_equal(rb["semantic"].numpy()[0], sem) and np.array_equal(
                rb["probabilities"].numpy()[0], prob)
            line = "predict_image_bytes(PNG) == serving_default: %s" % same
            if originals[stem].lower().endswith((".jpg", ".jpeg")):
                with open(originals[stem], "rb") as f:
                    raw = f.read()
                rj = by_bytes(image_bytes=tf.constant([raw]))
                dj = default(images=tf.io.decode_jpeg(raw, channels=3)[None])
                same_j = np.array_equal(rj["semantic"].numpy(), dj["semantic"].numpy()) and \
                    np.array_equal(rj["probabilities"].numpy(), dj["probabilities"].numpy())
                agree = float((dj["semantic"].numpy()[0] == sem).mean())
                line += "; on the JPEG bytes == decode_jpeg + serving_default: %s (class ids " \
                    "agree with the PIL-decoded PNG at %.4f of pixels)" % (same_j, agree)
                same &= same_j
            print("%s      %s" % ("ok  " if same else "FAIL", line))
            ok &= same

        r = default(images=tf.constant(batch))
        sems, probs = r["semantic"].numpy(), r["probabilities"].numpy()
        print("     padded batch %s -> semantic %s, probabilities %s" % (
            list(batch.shape), list(sems.shape), list(probs.shape)))
        for i, s in enumerate(BATCH):
            stem = "padded_%d_%s" % (i, s)
            ok &= compare("batch[%d] (%s, %dx%d padded)" % (i, s, sizes[i][1], sizes[i][0]),
                          sems[i], probs[i], java[stem])
            single = default(images=tf.constant(batch[i:i + 1]))
            d = float(np.abs(single["probabilities"].numpy()[0] - probs[i]).max())
            same = np.array_equal(single["semantic"].numpy()[0], sems[i]) and d <= PROB_TOL
            print("%s      batch[%d] == the same image alone (batch 1): ids %s, max |d| %.2g" % (
                "ok  " if same else "FAIL", i,
                np.array_equal(single["semantic"].numpy()[0], sems[i]), d))
            ok &= same

        ok &= check_cli_show(version_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("check_savedmodel_serving: %s" % ("PASSED" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
