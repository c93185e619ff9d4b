#!/usr/bin/env python3
"""Our exported SavedModel as TF Serving would load it, against the Java results (TF 2.21).

Loads savedmodels/deeplabv3_mnv2_pascal/<latest version> with tf.saved_model.load (the loader
TF Serving's Python tooling uses; tag `serve`) and calls its three signatures:

  * serving_default: `image_bytes` string [batch] (encoded images, any sizes) ->
    `semantic_png_bytes` string [batch] (a palette PNG per image at its own size, pixel = class
    id), decoded here with PIL (mode 'P');
  * predict_images: `images` uint8 [batch, height, width, 3] -> `semantic` int32;
  * predict_probabilities: `images` -> `semantic`, `probabilities` float32.

It does so under each TensorFlow setting, in a fresh subprocess per setting (tf_settings.py):
Python TF's defaults (TF_ENABLE_ONEDNN_OPTS unset: oneDNN on), as users run it, and
TF_ENABLE_ONEDNN_OPTS=0. Every result line of steps 1 and 2 names its setting; a subprocess killed
by a signal (e.g. SIGFPE) fails the check with the setting and the signal.

If the committed model is still in the layout before these signatures (serving_default takes
`images`, as `saved_model_cli show` reports it), a fresh copy is re-exported from it first
(`tools/deeplab export --model`, into a temporary directory) and checked instead; a line says so.

Compared with `tools/deeplab segment --save-probabilities` (Java, TF Java 1.1.0 runtime, TF's
Eigen kernels; run once) on the same model, which writes <stem>_mask.png (palette PNG, pixel =
class id) and <stem>_probabilities.npy:

  1. the real photos of examples/photos/ (JPEGs converted to PNG first, so
     that Java and Python see the same pixels whatever their JPEG decoders do):
     predict_probabilities gives identical class ids, probabilities within 1e-5, and
     predict_images the same class ids; serving_default on the same PNG bytes returns a palette
     PNG of the image's size whose class ids are exactly predict_images' and whose palette is
     Java's mask's (the colours of the model's label set); on the original JPEG bytes its class ids
     are exactly those of tf.io.decode_jpeg + predict_images;
  2. a batch of 2 photos of different sizes padded (bottom/right, zeros) into one [2,H,W,3]
     tensor for predict_probabilities: each batch entry equals Java's result on that padded image
     saved as its own PNG (identical class ids, probabilities within 1e-5), and Python's batch-1
     result; the two photos' PNG bytes (unpadded, different sizes) in one serving_default request
     give two PNGs, each at its photo's size with exactly that photo's predict_images class ids;
  3. once: `saved_model_cli show --all` (the venv's): tag-set serve, exactly the three signatures
     with method name tensorflow/serving/predict and the expected dtypes and shapes
     (probabilities with the model's class count), no predict_image_bytes; and
     assets.extra/tf_serving_warmup_requests exists.

Exit status 1 on any failure. Run by tools/python/run_checks.sh with cwd = repository root.
"""

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tf_settings  # noqa: E402

BASE = "savedmodels/deeplabv3_mnv2_pascal"
PHOTOS = "examples/photos"
DEEPLAB = os.path.join("tools", "deeplab")
PROB_TOL = 1e-5
BATCH = ("chelsea", "pets")  # 451x300 and 512x430: different sizes in both dimensions
SIGNATURES = ("serving_default", "predict_images", "predict_probabilities")
WARMUP = os.path.join("assets.extra", "tf_serving_warmup_requests")


def latest_version(base):
    versions = [int(d) for d in os.listdir(base) if d.isdigit()
                and os.path.isfile(os.path.join(base, d, "saved_model.pb"))]
    if not versions:
        raise SystemExit(f"no SavedModel version under {base}")
    return os.path.join(base, str(max(versions)))


def cli_show(version_dir):
    """(exit status, stdout, stderr) of the venv's `saved_model_cli show --all`."""
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    p = subprocess.run([cli, "show", "--all", "--dir", version_dir], capture_output=True,
                       text=True)
    return p.returncode, p.stdout, p.stderr


def parse_signatures(text):
    """{signature: (method name, {(inputs|outputs, key): (dtype, shape)})} of saved_model_cli."""
    sigs = {}
    for m in re.finditer(r"signature_def\['([^']+)'\]:(.*?)Method name is: (\S+)", text, re.S):
        tensors = {}
        for t in re.finditer(r"(inputs|outputs)\['([^']+)'\] tensor_info:\s*dtype: (\S+)\s*"
                             r"shape: (\([^)]*\))", m.group(2)):
            tensors[(t.group(1), t.group(2))] = (t.group(3), t.group(4))
        sigs[m.group(1)] = (m.group(3), tensors)
    return sigs


def default_takes_bytes(shown):
    """True when serving_default takes `image_bytes` (the current layout), or when
    saved_model_cli failed (check_cli_show then fails)."""
    rc, text, _ = shown
    sigs = parse_signatures(text)
    return rc != 0 or ("serving_default" in sigs
                       and ("inputs", "image_bytes") in sigs["serving_default"][1])


def model_to_check(work):
    """(model base for Java, version dir, saved_model_cli output): the committed model, or a
    fresh re-export of it."""
    version_dir = latest_version(BASE)
    shown = cli_show(version_dir)
    if default_takes_bytes(shown):
        return BASE, version_dir, shown
    fresh = os.path.join(work, "model")
    p = subprocess.run([DEEPLAB, "export", "--model", BASE, "-o", fresh], capture_output=True,
                       text=True, env=tf_settings.java_env())
    if p.returncode != 0:
        raise SystemExit("tools/deeplab export failed (%d): %s" % (p.returncode,
                                                                   p.stderr.strip()[-800:]))
    print("note %s is in the old layout (serving_default takes images): checking a fresh "
          "re-export of it instead" % version_dir)
    version_dir = latest_version(fresh)
    return fresh, version_dir, cli_show(version_dir)


def java_segment(model, images, out_dir):
    """Runs the Java CLI on PNG files, writing <stem>_mask.png and <stem>_probabilities.npy."""
    cmd = [DEEPLAB, "segment", "--model", model, "--save-probabilities", "--output", out_dir] \
        + images
    p = subprocess.run(cmd, capture_output=True, text=True, env=tf_settings.java_env())
    if p.returncode != 0:
        raise SystemExit("java segment failed (%d): %s" % (p.returncode, p.stderr.strip()[-800:]))


def java_results(images, out_dir):
    """{stem: (class ids [H,W], probabilities [H,W,C], palette of the mask PNG)} of java_segment."""
    results = {}
    for image in images:
        stem = os.path.splitext(os.path.basename(image))[0]
        mask = Image.open(os.path.join(out_dir, stem + "_mask.png"))
        ids = np.array(mask)  # palette indices
        prob = np.load(os.path.join(out_dir, stem + "_probabilities.npy"))
        results[stem] = (ids.astype(np.int32), prob, mask.getpalette())
    return results


def decode_mask(png):
    """(class ids [H,W] int32, palette) of a returned palette PNG; ids None unless mode 'P'."""
    im = Image.open(io.BytesIO(png))
    im.load()
    if im.mode != "P":
        return None, None
    return np.array(im).astype(np.int32), im.getpalette()


def compare(label, sem, prob, java):
    """[ok, text] of Python's semantic and probabilities against Java's."""
    ids, jprob = java[:2]
    same_shape = sem.shape == ids.shape and prob.shape == jprob.shape
    diff_ids = int((sem != ids).sum()) if same_shape else -1
    max_d = float(np.abs(prob - jprob).max()) if same_shape else float("inf")
    ok = same_shape and diff_ids == 0 and max_d <= PROB_TOL
    return [ok, "%-34s %s: class ids differ at %d of %d pixels, max |probability diff| %.2g"
            % (label, "x".join(str(d) for d in prob.shape), diff_ids, sem.size, max_d)]


def check_cli_show(shown, version_dir, num_classes):
    rc, text, stderr = shown
    if rc != 0:
        print("FAIL saved_model_cli show --all exited %d: %s" % (rc, stderr[-400:]))
        return False
    sigs = parse_signatures(text)
    ids = ("DT_INT32", ["(-1, -1, -1)"])
    images = ("DT_UINT8", ["(-1, -1, -1, 3)"])
    expected = {
        "serving_default": {("inputs", "image_bytes"): ("DT_STRING", ["(-1)", "(-1,)"]),
                            ("outputs", "semantic_png_bytes"): ("DT_STRING", ["(-1)", "(-1,)"])},
        "predict_images": {("inputs", "images"): images, ("outputs", "semantic"): ids},
        "predict_probabilities": {("inputs", "images"): images, ("outputs", "semantic"): ids,
                                  ("outputs", "probabilities"): (
                                      "DT_FLOAT", ["(-1, -1, -1, %d)" % num_classes])},
    }
    ok = "MetaGraphDef with tag-set: 'serve'" in text
    print("%s saved_model_cli show --all: tag-set 'serve' %s" % ("ok  " if ok else "FAIL",
                                                              "found" if ok else "missing"))
    found_keys = sorted(k for k in sigs if k != "__saved_model_init_op")
    good = found_keys == sorted(expected)
    print("%s saved_model_cli signatures: %s (expected exactly %s)" % (
        "ok  " if good else "FAIL", ", ".join(found_keys), ", ".join(sorted(expected))))
    ok &= good
    for key, tensors in expected.items():
        method, found = sigs.get(key, (None, {}))
        good = method == "tensorflow/serving/predict" and set(found) == set(tensors)
        for k, (dtype, shapes) in tensors.items():
            good &= k in found and found[k][0] == dtype and found[k][1] in shapes
        print("%s saved_model_cli signature %-22s method %s; %s" % (
            "ok  " if good else "FAIL", key, method, "; ".join(
                "%s %s %s %s" % (k[0][:-1], k[1], *found.get(k, ("?", "?")))
                for k in sorted(found))))
        ok &= good
    warmup = os.path.join(version_dir, WARMUP)
    good = os.path.isfile(warmup) and os.path.getsize(warmup) > 0
    print("%s %s %s" % ("ok  " if good else "FAIL", WARMUP,
                        "exists (%d bytes)" % os.path.getsize(warmup) if good
                        else "missing or empty"))
    ok &= good
    return ok


def evaluate(job):
    """Steps 1 and 2 under one TensorFlow setting (a tf_settings subprocess).

    Returns {"lines": [[ok, text], ...]} (ok None: an information line)."""
    import tensorflow as tf
    lines = []
    java = java_results(job["pngs"] + job["padded_pngs"], job["java_dir"])
    t = time.monotonic()
    model = tf.saved_model.load(job["version"])
    lines.append([None, "loaded %s with tf.saved_model.load (tf %s) in %.1f s" % (
        job["version"], tf.__version__, time.monotonic() - t)])
    by_bytes = model.signatures["serving_default"]
    by_images = model.signatures["predict_images"]
    with_probs = model.signatures["predict_probabilities"]

    alone = {}  # stem -> predict_images class ids of the photo alone
    for png in job["pngs"]:
        stem = os.path.splitext(os.path.basename(png))[0]
        original = job["originals"][stem]
        tf_settings.step("1. photo " + os.path.basename(original))
        rgb = np.array(Image.open(png))
        r = with_probs(images=tf.constant(rgb[None]))
        sem, prob = r["semantic"].numpy()[0], r["probabilities"].numpy()[0]
        lines.append(compare("photo " + os.path.basename(original), sem, prob, java[stem]))
        ids = by_images(images=tf.constant(rgb[None]))["semantic"].numpy()[0]
        alone[stem] = ids
        same_images = np.array_equal(ids, sem)
        with open(png, "rb") as f:
            pb = by_bytes(image_bytes=tf.constant([f.read()]))["semantic_png_bytes"].numpy()
        mask, palette = decode_mask(pb[0]) if len(pb) == 1 else (None, None)
        same_bytes = mask is not None and np.array_equal(mask, ids)
        same_palette = palette is not None and palette == java[stem][2]
        line = "predict_images == predict_probabilities: %s; serving_default(PNG) -> %s " \
            "mask PNG == predict_images: %s, palette == Java mask's: %s" % (
                same_images, "x".join(str(d) for d in mask.shape[::-1])
                if mask is not None else "no palette (%d PNGs)" % len(pb), same_bytes,
                same_palette)
        same = same_images and same_bytes and same_palette
        if original.lower().endswith((".jpg", ".jpeg")):
            with open(original, "rb") as f:
                raw = f.read()
            rj = by_bytes(image_bytes=tf.constant([raw]))["semantic_png_bytes"].numpy()
            mj = decode_mask(rj[0])[0] if len(rj) == 1 else None
            dj = by_images(images=tf.io.decode_jpeg(raw, channels=3)[None])[
                "semantic"].numpy()[0]
            same_j = mj is not None and np.array_equal(mj, dj)
            agree = float((dj == sem).mean())
            line += "; on the JPEG bytes == decode_jpeg + predict_images: %s (class ids " \
                "agree with the PIL-decoded PNG at %.4f of pixels)" % (same_j, agree)
            same &= same_j
        lines.append([same, "     " + line])

    tf_settings.step("2. padded batch")
    batch = np.load(job["batch"])
    sizes = job["sizes"]
    r = with_probs(images=tf.constant(batch))
    sems, probs = r["semantic"].numpy(), r["probabilities"].numpy()
    lines.append([None, "padded batch %s -> semantic %s, probabilities %s" % (
        list(batch.shape), list(sems.shape), list(probs.shape))])
    for i, s in enumerate(BATCH):
        stem = "padded_%d_%s" % (i, s)
        lines.append(compare("batch[%d] (%s, %dx%d padded)" % (i, s, sizes[i][1], sizes[i][0]),
                             sems[i], probs[i], java[stem]))
        single = with_probs(images=tf.constant(batch[i:i + 1]))
        d = float(np.abs(single["probabilities"].numpy()[0] - probs[i]).max())
        same = np.array_equal(single["semantic"].numpy()[0], sems[i]) and d <= PROB_TOL
        lines.append([same, "     batch[%d] == the same image alone (batch 1): ids %s, max |d| "
                      "%.2g" % (i, np.array_equal(single["semantic"].numpy()[0], sems[i]), d)])

    tf_settings.step("2. serving_default on 2 PNGs")
    encoded = []
    for s in BATCH:
        with open(os.path.join(job["work"], s + ".png"), "rb") as f:
            encoded.append(f.read())
    pb = by_bytes(image_bytes=tf.constant(encoded))["semantic_png_bytes"].numpy()
    good = len(pb) == len(BATCH)
    lines.append([good, "serving_default on %d PNGs of different sizes (%s) -> %d PNGs" % (
        len(BATCH), ", ".join("%s %dx%d" % (s, sz[1], sz[0]) for s, sz in zip(BATCH, sizes)),
        len(pb))])
    for i, s in enumerate(BATCH[:len(pb)]):
        mask = decode_mask(pb[i])[0]
        same = mask is not None and np.array_equal(mask, alone[s])
        lines.append([same, "     [%d] %s: mask PNG %s == predict_images on the photo alone: %s"
                      % (i, s, "x".join(str(d) for d in mask.shape[::-1])
                         if mask is not None else "(not a palette PNG)", same)])
    return {"lines": lines}


def main():
    start = time.monotonic()
    ok = True
    work = tempfile.mkdtemp(prefix="deeplab_serving_check_")
    try:
        model_base, version_dir, shown = model_to_check(work)
        print("SavedModel %s, loaded with tf.saved_model.load under %s" % (
            version_dir, " and ".join(s for s, _ in tf_settings.SETTINGS)))
        with open(os.path.join(version_dir, "assets", "deeplab_model.json")) as f:
            num_classes = json.load(f)["config"]["num_classes"]

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
        np.save(os.path.join(work, "batch.npy"), batch)
        java_dir = os.path.join(work, "java")
        java_segment(model_base, pngs + padded_pngs, java_dir)

        job = {"label": "SavedModel signatures vs Java", "version": version_dir, "pngs": pngs,
               "originals": originals, "padded_pngs": padded_pngs, "java_dir": java_dir,
               "batch": os.path.join(work, "batch.npy"), "sizes": [list(s) for s in sizes],
               "work": work}
        for setting, value in tf_settings.SETTINGS:
            run = tf_settings.run_setting(__file__, "evaluate", [job], setting, value)
            outcome = run.outcomes[0]
            ok &= run.setting_ok
            if outcome.failure:
                print(tf_settings.failure_line(setting, outcome.label, outcome.failure))
                ok = False
                continue
            for good, text in outcome.result["lines"]:
                print("%s %s %s" % ("    " if good is None else tf_settings.status(good),
                                    tf_settings.tag(setting), text))
                ok &= good is not False

        ok &= check_cli_show(shown, version_dir, num_classes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("check_savedmodel_serving: %s (%.0f s)" % ("PASSED" if ok else "FAILED",
                                                    time.monotonic() - start))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
