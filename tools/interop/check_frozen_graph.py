#!/usr/bin/env python3
"""An official-shape frozen graph, wrapped as a SavedModel by `deeplab import --frozen-graph`.

  1. tools/reference/deeplab_reference.py writes a frozen GraphDef shaped like the official
     export_model.py output (ImageTensor uint8 [1,?,?,3] -> pad to the crop with the mean pixel ->
     network -> SemanticPredictions int32 [1,H,W]; weights as Const nodes) for each of CASES
     (MobileNetV2 with decoder, MobileNetV3 with the zoo head, the dense prediction cell),
     and the case's formula image, once, in a subprocess with TF_ENABLE_ONEDNN_OPTS=0 (the
     reference always runs with oneDNN off, as deeplab_reference.py requires: its float32 ResNet
     graphs crash oneDNN 3.7 with SIGFPE on this CPU);
  2. `tools/deeplab import --frozen-graph` wraps it (crop size given, since a frozen graph does
     not record it);
  3. `tools/deeplab segment --model <wrapped>` segments images that fit the crop (the case's
     formula image and a crop of a real photo) and a real photo larger than the crop (Java, TF's
     Eigen kernels, once);
  4. under each TensorFlow setting, in one fresh subprocess per setting for all the cases
     (tf_settings.py): Python TF's defaults (TF_ENABLE_ONEDNN_OPTS unset: oneDNN on) and
     TF_ENABLE_ONEDNN_OPTS=0, Python runs the frozen graph directly (tf.compat.v1.import_graph_def + Session, feeding
     ImageTensor:0): class ids must be identical to Java's except at near-ties (the two largest
     upsampled logits, the graph's argmax input, within 1e-4 relative: oneDNN's convolutions
     round differently from the Eigen kernels Java runs). For the photo larger than the crop,
     which the bare official graph refuses, Python scales it down as the wrapper documents
     (align-corners bilinear to round(side * crop / longest-fitting side), rounded to uint8), runs
     the frozen graph and maps the ids back by align-corners nearest neighbour: identical too;
  5. in the same subprocesses, the wrapped SavedModel loaded with tf.saved_model.load gives the
     same ids through predict_images (the pixels, uint8 [1,h,w,3]) and serving_default (the PNG
     bytes as a string tensor [1] -> one palette PNG of the image's size, decoded with PIL: mode
     'P', pixel = class id);
  6. once: saved_model_cli shows exactly these two signatures (the frozen graph has no
     SemanticProbabilities, so no predict_probabilities) with method name
     tensorflow/serving/predict and the batch-1 dtypes and shapes, and
     assets.extra/tf_serving_warmup_requests exists.

Every line of steps 4-5 names its setting; a subprocess killed by a signal (e.g. SIGFPE) fails
the check with the setting and the signal. Exit status 1 on any failure. Run by
tools/python/run_checks.sh with cwd = repository root.
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

# Imported only inside prepare(): deeplab_reference sets TF_ENABLE_ONEDNN_OPTS=0 when imported.
REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference")
# MobileNetV2 with the decoder; MobileNetV3-large with the zoo's head (squeeze-and-excitation
# image pooling, sum-merge decoder whose output is the logits, OS 32); the zoo's dense prediction
# cell (asymmetric rates) on MobileNetV2 0.5 with the decoder.
CASES = ["mobilenet_v2_dm05_os8_dec_64", "mobilenet_v3_large_seg_os32_dec8_zoo_65",
         "mobilenet_v2_dpc_dm05_os16_dec_65"]
GOLDEN = "deeplab-core/src/test/resources/golden"
PHOTO = "examples/photos/chelsea.png"
DEEPLAB = os.path.join("tools", "deeplab")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, env=tf_settings.java_env())
    if p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (" ".join(cmd[:2]), p.returncode,
                                                 p.stderr.strip()[-800:]))
    return p.stdout


def frozen_session(path):
    import tensorflow as tf
    gd = tf.compat.v1.GraphDef()
    with open(path, "rb") as f:
        gd.ParseFromString(f.read())
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.import_graph_def(gd, name="")
    return tf.compat.v1.Session(graph=g)


# Near-ties: pixels whose two largest upsampled logits (the input of the graph's argmax) are
# within this fraction of the largest's magnitude (plus one). Java runs TF's Eigen kernels,
# Python's default oneDNN, whose convolutions round differently: a class may flip there.
TIE = 1e-4


def frozen_ids(sess, images):
    """SemanticPredictions [1,h,w] and its near-ties [1,h,w] (bool) for uint8 images [1,h,w,3]
    (the official graph takes the argmax at the crop size and then slices the image's region at
    the top left)."""
    argmax = [op for op in sess.graph.get_operations() if op.type == "ArgMax"][-1]
    ids, logits = sess.run(["SemanticPredictions:0", argmax.inputs[0]], {"ImageTensor:0": images})
    top2 = np.sort(logits, axis=-1)[..., -2:]
    ties = (top2[..., 1] - top2[..., 0]) <= TIE * (1 + np.abs(top2[..., 1]))
    return ids, ties[:, :ids.shape[1], :ids.shape[2]]


def fitted_python(sess, rgb, crop_h, crop_w):
    """The wrapper's documented behaviour for an image larger than the crop, in Python TF:
    ids [h,w], their near-ties [h,w] and the fitted size."""
    import tensorflow as tf
    h, w = rgb.shape[:2]
    scale = min(1.0, crop_h / h, crop_w / w)
    nh = int(min(max(np.round(np.float32(h) * np.float32(scale)), 1), crop_h))
    nw = int(min(max(np.round(np.float32(w) * np.float32(scale)), 1), crop_w))
    small = tf.compat.v1.image.resize_bilinear(rgb[None], [nh, nw], align_corners=True)
    small = tf.cast(tf.clip_by_value(tf.round(small), 0, 255), tf.uint8).numpy()
    ids, ties = frozen_ids(sess, small)
    back = [tf.compat.v1.image.resize_nearest_neighbor(m[..., None], [h, w], align_corners=True)
            .numpy()[0, :, :, 0] for m in (ids, ties.astype(np.int32))]
    return back[0], back[1].astype(bool), (nh, nw)


def decode_mask(png):
    """Class ids [H,W] int32 of a returned palette PNG (PIL mode 'P'), or None if it is not one."""
    im = Image.open(io.BytesIO(png))
    im.load()
    return np.array(im).astype(np.int32) if im.mode == "P" else None


def prepare(job):
    """Writes the frozen graph and the formula image (.npy); runs with TF_ENABLE_ONEDNN_OPTS=0."""
    sys.path.insert(0, REFERENCE)
    import deeplab_net as net
    import deeplab_reference as ref
    pb = ref.write_frozen_graph(os.path.join(job["work"], "frozen_inference_graph.pb"),
                                job["case"])
    image = os.path.join(job["work"], "formula.npy")
    np.save(image, net.formula_image(job["crop_h"], job["crop_w"])[0].astype(np.uint8))
    return {"pb": pb, "formula": image}


def evaluate(job):
    """Python runs of the frozen graph and of the wrapped SavedModel against Java's masks; runs
    once per TensorFlow setting. Returns {"lines": [[ok, text], ...]}."""
    import tensorflow as tf
    crop_h, crop_w = job["crop_h"], job["crop_w"]
    lines = []
    sess = frozen_session(job["pb"])
    model = tf.saved_model.load(job["version"])
    by_images = model.signatures["predict_images"]
    by_bytes = model.signatures["serving_default"]
    for name, png in job["images"]:
        rgb = np.array(Image.open(png))
        java = np.array(Image.open(os.path.join(job["seg_dir"], name + "_mask.png"))).astype(
            np.int32)
        h, w = rgb.shape[:2]
        tf_settings.step(name + ": frozen graph")
        if h <= crop_h and w <= crop_w:
            py, ties = frozen_ids(sess, rgb[None])
            py, ties = py[0], ties[0]
            how = "frozen graph run directly"
        else:
            py, ties, (nh, nw) = fitted_python(sess, rgb, crop_h, crop_w)
            how = "scaled to %dx%d, frozen graph, ids scaled back" % (nw, nh)
        differ = java != py if java.shape == py.shape else None
        diff = int(differ.sum()) if differ is not None else -1
        outside_ties = int((differ & ~ties).sum()) if differ is not None else -1
        tf_settings.step(name + ": wrapped SavedModel")
        sm = by_images(images=tf.constant(rgb[None]))["semantic"].numpy()[0]
        with open(png, "rb") as f:
            pngs = by_bytes(image_bytes=tf.constant([f.read()]))["semantic_png_bytes"].numpy()
        sb = decode_mask(pngs[0]) if len(pngs) == 1 else None
        same_sm = np.array_equal(sm, py) and sb is not None and np.array_equal(sb, py)
        good = outside_ties == 0 and same_sm
        lines.append([good, "%-18s %dx%d: Java segment vs Python (%s): class ids differ at %d of "
                      "%d pixels (%d outside near-ties; %d classes present); tf.saved_model.load "
                      "predict_images and serving_default (PNG bytes -> palette PNG) identical: %s"
                      % (name, w, h, how, diff, h * w, outside_ties, len(np.unique(py)),
                         same_sm)])
    sess.close()
    return {"lines": lines}


def check_cli_show(version):
    """saved_model_cli show --all: exactly the wrapper's batch-1 signatures; the warmup file."""
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    show = subprocess.run([cli, "show", "--all", "--dir", version], capture_output=True,
                          text=True).stdout
    sigs = {}
    for m in re.finditer(r"signature_def\['([^']+)'\]:(.*?)Method name is: (\S+)", show, re.S):
        tensors = {}
        for t in re.finditer(r"(inputs|outputs)\['([^']+)'\] tensor_info:\s*dtype: (\S+)\s*"
                             r"shape: (\([^)]*\))", m.group(2)):
            tensors[(t.group(1), t.group(2))] = (t.group(3), t.group(4))
        sigs[m.group(1)] = (m.group(3), tensors)
    expected = {
        "serving_default": {("inputs", "image_bytes"): ("DT_STRING", ("(1)", "(1,)")),
                            ("outputs", "semantic_png_bytes"): ("DT_STRING", ("(1)", "(1,)"))},
        "predict_images": {("inputs", "images"): ("DT_UINT8", ("(1, -1, -1, 3)",)),
                           ("outputs", "semantic"): ("DT_INT32", ("(1, -1, -1)",))},
    }
    keys = sorted(k for k in sigs if k != "__saved_model_init_op")
    ok = keys == sorted(expected)
    print("%s saved_model_cli show --all: signatures %s (expected exactly %s)" % (
        "ok  " if ok else "FAIL", ", ".join(keys), ", ".join(sorted(expected))))
    for key, tensors in expected.items():
        method, found = sigs.get(key, (None, {}))
        good = method == "tensorflow/serving/predict" and set(found) == set(tensors)
        for k, (dtype, shapes) in tensors.items():
            good &= k in found and found[k][0] == dtype and found[k][1] in shapes
        print("%s saved_model_cli signature %-16s method %s; %s" % (
            "ok  " if good else "FAIL", key, method, "; ".join(
                "%s %s %s %s" % (k[0][:-1], k[1], *found[k]) for k in sorted(found))))
        ok &= good
    warmup = os.path.join(version, "assets.extra", "tf_serving_warmup_requests")
    good = os.path.isfile(warmup) and os.path.getsize(warmup) > 0
    print("%s assets.extra/tf_serving_warmup_requests %s" % (
        "ok  " if good else "FAIL", "exists (%d bytes)" % os.path.getsize(warmup) if good
        else "missing or empty"))
    return ok and good


def wrap_and_segment(case, pb, formula, work, crop_h, crop_w):
    """Steps 2-3 for one case (Java): the evaluation job of step 4-5."""
    wrapped = os.path.join(work, "wrapped")
    out = run([DEEPLAB, "import", "--frozen-graph", pb, "--crop-size",
               "%dx%d" % (crop_h, crop_w), "--output", wrapped])
    print("     " + "\n     ".join(out.strip().splitlines()))
    images = {}
    images["formula_%dx%d" % (crop_w, crop_h)] = np.load(formula)
    photo = np.array(Image.open(PHOTO).convert("RGB"))
    images["photo_crop_50x57"] = photo[100:157, 200:250]
    images["photo_451x300"] = photo
    files = []
    for name, rgb in images.items():
        f = os.path.join(work, name + ".png")
        Image.fromarray(rgb).save(f)
        files.append([name, f])
    seg_dir = os.path.join(work, "seg")
    run([DEEPLAB, "segment", "--model", wrapped, "--output", seg_dir] + [f for _, f in files])
    return {"label": "frozen graph and wrapped SavedModel (%s)" % case, "case": case, "pb": pb,
            "version": os.path.join(wrapped, "1"), "images": files, "seg_dir": seg_dir,
            "crop_h": crop_h, "crop_w": crop_w}


def main():
    """Steps 1-6 for every case; the Python TF work of all cases runs in one subprocess for the
    reference (step 1) and one per TensorFlow setting (steps 4-5), so TF starts three times."""
    start = time.monotonic()
    ok = True
    work = tempfile.mkdtemp(prefix="deeplab_frozen_check_")
    try:
        prep_jobs = []
        for case in CASES:
            with open(os.path.join(GOLDEN, case, "config.json")) as f:
                crop_h, crop_w = json.load(f)["crop_size"]
            os.makedirs(os.path.join(work, case))
            prep_jobs.append({"label": "frozen graph " + case, "case": case,
                              "work": os.path.join(work, case), "crop_h": crop_h,
                              "crop_w": crop_w})
        prep = tf_settings.run_setting(__file__, "prepare", prep_jobs, *tf_settings.ONEDNN_OFF)
        jobs = []
        for pjob, outcome in zip(prep_jobs, prep.outcomes):
            if outcome.failure:
                print(tf_settings.failure_line(prep.setting, outcome.label, outcome.failure))
                ok = False
                continue
            pb = outcome.result["pb"]
            print("frozen graph %s for %s: %.1f MB" % (os.path.basename(pb), pjob["case"],
                                                        os.path.getsize(pb) / 1e6))
            jobs.append(wrap_and_segment(pjob["case"], pb, outcome.result["formula"],
                                         pjob["work"], pjob["crop_h"], pjob["crop_w"]))
        for setting, value in tf_settings.SETTINGS:
            run_ = tf_settings.run_setting(__file__, "evaluate", jobs, setting, value)
            ok &= run_.setting_ok
            for job, outcome in zip(jobs, run_.outcomes):
                if outcome.failure:
                    print(tf_settings.failure_line(setting, outcome.label, outcome.failure))
                    ok = False
                    continue
                for good, text in outcome.result["lines"]:
                    print("%s %s %s %s" % (tf_settings.status(good), tf_settings.tag(setting),
                                           job["case"], text))
                    ok &= good
        for job in jobs:
            ok &= check_cli_show(job["version"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("check_frozen_graph: %s (%.0f s)" % ("PASSED" if ok else "FAILED",
                                              time.monotonic() - start))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
