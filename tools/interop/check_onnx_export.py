#!/usr/bin/env python3
"""Our ONNX export (`deeplab export --format onnx`) against our SavedModels in Python TF 2.21.

For the pretrained MobileNetV2 model and, with deterministic random LeCun weights (`deeplab bench
--export`), Xception-65 and ResNet-v1-101 DeepLabv3+ at a 129 crop:

  1. `tools/deeplab export --format onnx --probabilities` and without --probabilities write files
     that ONNX's checker accepts with full shape inference (onnx.checker.check_model(...,
     full_check=True)), opset 17, inputs/outputs as documented (images uint8 [batch, height,
     width, 3] -> semantic int32 [batch, height, width], probabilities float32 [..., classes],
     logits float32 [batch, logits height, logits width, classes]);
  2. Python onnxruntime (CPU provider, the one users would pick) runs them on real photos at their
     own sizes (examples/photos, PNG-decoded here), on an odd-sized crop and on an image larger
     than the model's crop, and on a batch of 3 same-size images; the SavedModel's
     predict_probabilities signature, under each TensorFlow setting (Python TF's defaults: oneDNN
     on; and TF_ENABLE_ONEDNN_OPTS=0, in a fresh subprocess per setting for the three models,
     tf_settings.py), runs the same inputs. Probabilities agree within 1e-4, class ids are identical except at near-ties (top-2
     probability gap below 1e-3 in TF's output, or at the
     region pixel an id comes from, recomputed in numpy from the file's logits), the class-ids-only file gives exactly the ids
     of the file with probabilities, and each batch entry equals its batch-1 result.

Exit status 1 on any failure. Run by tools/python/run_checks.sh with cwd = repository root.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

import tf_settings

DEEPLAB = os.path.join("tools", "deeplab")
PHOTOS = os.path.join("examples", "photos")
PROB_TOL = 1e-4
TIE = 1e-3
MODELS = [
    ("mobilenet_v2 (pretrained)", None),
    ("xception_65", ["bench", "--variant", "xception_65", "--output-stride", "16", "--decoder",
                     "--crop-size", "129", "--export", "DIR"]),
    ("resnet_v1_101", ["bench", "--variant", "resnet_v1_101", "--output-stride", "16",
                       "--decoder", "--crop-size", "129", "--export", "DIR"]),
]


def run(cmd):
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=tf_settings.java_env())
    return p, time.monotonic() - t


def latest_version(base):
    versions = [int(d) for d in os.listdir(base) if d.isdigit()]
    return os.path.join(base, str(max(versions))) if versions else None


def images():
    """name -> uint8 [1, h, w, 3]: the photos, an odd crop, an upscaled photo, a batch of 3."""
    out = {}
    for f in sorted(os.listdir(PHOTOS)):
        if f.lower().endswith((".png", ".jpg", ".jpeg")):
            out[f] = np.asarray(Image.open(os.path.join(PHOTOS, f)).convert("RGB"))[None]
    pets = out["pets.jpg"][0]
    out["pets 201x157 crop"] = np.ascontiguousarray(pets[17:174, 31:232])[None]
    big = Image.fromarray(pets).resize((700, 561), Image.NEAREST)
    out["pets 700x561"] = np.asarray(big)[None]
    crop = out["pets 201x157 crop"][0]
    out["batch of 3"] = np.stack([crop, crop[::-1].copy(), crop[:, ::-1].copy()])
    return out


def evaluate(job):
    """In a tf_settings worker: predict_probabilities of the SavedModel on every input."""
    import tensorflow as tf
    model = tf.saved_model.load(job["savedmodel"])
    fn = model.signatures["predict_probabilities"]
    data = np.load(job["inputs"])
    result = {}
    for name in data.files:
        tf_settings.step(name)
        out = fn(images=tf.constant(data[name]))
        path = os.path.join(job["work"], "tf_%s_%s.npz" % (job["setting_id"], len(result)))
        np.savez(path, semantic=out["semantic"].numpy(), probabilities=out["probabilities"].numpy())
        result[name] = path
    return result


def interpolation(out, n):
    """[out, n] align-corners bilinear weights in float64 (source y * (n - 1) / (out - 1))."""
    m = np.zeros((out, n))
    s = np.arange(out) * (n - 1) / max(out - 1, 1)
    lo = np.minimum(np.floor(s).astype(int), n - 1)
    hi = np.minimum(lo + 1, n - 1)
    a = s - lo
    np.add.at(m, (np.arange(out), lo), 1 - a)
    np.add.at(m, (np.arange(out), hi), a)
    return m


def region_ties(logits, crop, height, width):
    """Near-ties at the image size [height, width] of an image's class ids, found where the ids
    are decided: the official post-processing redone in numpy from the file's `logits` [lh, lw,
    C] (upsampled to the crop, cut to the fitted region, softmax; top-2 gap below TIE), mapped to
    the image by align-corners nearest neighbour as the ids are. For an image larger than the
    crop, one region pixel becomes several image pixels whose interpolated probabilities need
    not show its tie."""
    scale = np.float32(min(1.0, np.float32(crop[0]) / np.float32(height),
                           np.float32(crop[1]) / np.float32(width)))
    fit = [int(np.clip(np.round(np.float32(side) * scale), 1, c))
           for side, c in ((height, crop[0]), (width, crop[1]))]
    up = np.einsum("yi,ijc,xj->yxc", interpolation(crop[0], logits.shape[0])[:fit[0]],
                   logits.astype(np.float64), interpolation(crop[1], logits.shape[1])[:fit[1]])
    p = np.exp(up - up.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    top2 = np.sort(p, axis=-1)[..., -2:]
    tie = (top2[..., 1] - top2[..., 0]) < TIE
    rows = np.minimum(np.floor(np.arange(height) * (fit[0] - 1) / max(height - 1, 1) + 0.5),
                      fit[0] - 1).astype(int)
    cols = np.minimum(np.floor(np.arange(width) * (fit[1] - 1) / max(width - 1, 1) + 0.5),
                      fit[1] - 1).astype(int)
    return tie[rows][:, cols]


def compare(label, ids_tf, p_tf, ids_ort, p_ort, unstable):
    """(ok, text): probabilities within PROB_TOL, ids equal outside near-ties: pixels whose top-2
    probability gap is below TIE, at the image size or at the region pixel the id comes from
    (`unstable` holds those, region_ties), or whose class differs between TF's own two kernel
    settings."""
    if p_tf.shape != p_ort.shape:
        return False, "shapes %s vs %s" % (p_tf.shape, p_ort.shape)
    dp = float(np.abs(p_tf - p_ort).max())
    top2 = np.sort(p_tf, axis=-1)[..., -2:]
    tie = ((top2[..., 1] - top2[..., 0]) < TIE) | unstable
    differ = ids_tf != ids_ort
    bad = int((differ & ~tie).sum())
    ok = dp <= PROB_TOL and bad == 0
    return ok, "max |dp| %.1e, ids differ at %d px (%d outside near-ties) of %d" % (
        dp, int(differ.sum()), bad, ids_tf.size)


def check_file(path, classes, probabilities):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    opset = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]
    ins = {i.name: i for i in m.graph.input}
    outs = {o.name: o for o in m.graph.output}
    want_outs = {"semantic", "logits"} | ({"probabilities"} if probabilities else set())
    ok = (opset == [17] and set(ins) == {"images"} and set(outs) == want_outs
          and ins["images"].type.tensor_type.elem_type == onnx.TensorProto.UINT8
          and outs["semantic"].type.tensor_type.elem_type == onnx.TensorProto.INT32)
    ok = ok and outs["logits"].type.tensor_type.shape.dim[3].dim_value == classes
    if probabilities:
        dims = outs["probabilities"].type.tensor_type.shape.dim
        ok = ok and dims[3].dim_value == classes
    return ok, "opset %s, inputs %s, outputs %s" % (opset, sorted(ins), sorted(outs))


def main():
    work = tempfile.mkdtemp(prefix="check_onnx_")
    try:
        return check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check(work):
    """Steps 1 and 2 of the module docstring; exports and results are written under work."""
    import onnxruntime as ort
    failures = 0
    inputs = images()
    inputs_path = os.path.join(work, "inputs.npz")
    np.savez(inputs_path, **inputs)
    print("onnxruntime %s, %d inputs: %s" % (ort.__version__, len(inputs), ", ".join(
        "%s %s" % (k, "x".join(map(str, v.shape[:3]))) for k, v in inputs.items())), flush=True)
    jobs = []
    for label, export_args in MODELS:
        if export_args is None:
            savedmodel = latest_version(os.path.join("savedmodels", "deeplabv3_mnv2_pascal"))
        else:
            base = os.path.join(work, label)
            p, dt = run([DEEPLAB] + [base if a == "DIR" else a for a in export_args])
            savedmodel = latest_version(base) if p.returncode == 0 else None
            if savedmodel is None:
                print("FAIL %s: deeplab bench --export: %s" % (label, (p.stderr + p.stdout)[-400:]))
                failures += 1
                continue
        files = {}
        for probs in (True, False):
            f = os.path.join(work, "%s%s.onnx" % (label.split()[0], "_p" if probs else ""))
            p, dt = run([DEEPLAB, "export", "--format", "onnx", "--model", savedmodel, "-o", f]
                        + (["--probabilities"] if probs else []))
            if p.returncode != 0:
                print("FAIL %s: export --format onnx: %s" % (label, (p.stderr + p.stdout)[-400:]))
                failures += 1
                continue
            classes = json.load(open(os.path.join(savedmodel, "assets", "deeplab_model.json")))[
                "config"]["num_classes"]
            ok, text = check_file(f, classes, probs)
            print("%s %s: %s written in %.1f s, onnx.checker full_check: %s" % (
                tf_settings.status(ok), label, os.path.basename(f), dt, text), flush=True)
            failures += not ok
            files[probs] = f
        if len(files) != 2:
            continue
        sess_p = ort.InferenceSession(files[True], providers=["CPUExecutionProvider"])
        sess_i = ort.InferenceSession(files[False], providers=["CPUExecutionProvider"])
        config = json.load(open(os.path.join(savedmodel, "assets", "deeplab_model.json")))[
            "config"]
        crop = (config["crop_height"], config["crop_width"])
        ort_out, ties = {}, {}
        for name, x in inputs.items():
            ids, probs, logits = sess_p.run(["semantic", "probabilities", "logits"],
                                            {"images": x})
            (ids_only,) = sess_i.run(["semantic"], {"images": x})
            ort_out[name] = (ids, probs)
            ties[name] = np.stack([region_ties(lg, crop, x.shape[1], x.shape[2])
                                   for lg in logits])
            if not np.array_equal(ids, ids_only):
                print("FAIL %s %s: class-ids-only file differs from the file with probabilities"
                      % (label, name))
                failures += 1
            if x.shape[0] > 1:
                for b in range(x.shape[0]):
                    i1, p1 = sess_p.run(["semantic", "probabilities"], {"images": x[b:b + 1]})
                    same = np.array_equal(i1[0], ids[b]) and np.abs(p1[0] - probs[b]).max() < 1e-6
                    if not same:
                        print("FAIL %s %s: batch entry %d differs from its batch-1 run"
                              % (label, name, b))
                        failures += 1
        jobs.append({"label": label, "savedmodel": savedmodel, "ort": ort_out, "ties": ties})
    # Every SavedModel in one subprocess per TensorFlow setting (one TF start per setting).
    tf_out = {job["label"]: {} for job in jobs}
    for setting, value in tf_settings.SETTINGS:
        run_jobs = [{"label": job["label"], "savedmodel": job["savedmodel"], "inputs": inputs_path,
                     "work": work, "setting_id": "%s_%s" % (job["label"].split()[0], value or "default")}
                    for job in jobs]
        r = tf_settings.run_setting(__file__, "evaluate", run_jobs, setting, value)
        failures += not r.setting_ok
        for job, outcome in zip(jobs, r.outcomes):
            if outcome.failure:
                print(tf_settings.failure_line(setting, job["label"], outcome.failure))
                failures += 1
                continue
            tf_out[job["label"]][setting] = {name: np.load(path)
                                             for name, path in outcome.result.items()}
    for job in jobs:
        label, ort_out, model_tf = job["label"], job["ort"], tf_out[job["label"]]
        if len(model_tf) != len(tf_settings.SETTINGS):
            continue
        for name in inputs:
            runs = [model_tf[setting][name]["semantic"] for setting, _ in tf_settings.SETTINGS]
            tf_disagrees = np.zeros(runs[0].shape, bool)
            for other in runs[1:]:
                tf_disagrees |= other != runs[0]
            for setting, _ in tf_settings.SETTINGS:
                t = model_tf[setting][name]
                ok, text = compare(label, t["semantic"], t["probabilities"], *ort_out[name],
                                   tf_disagrees | job["ties"][name])
                print("%s %s %s %s: onnxruntime vs TF predict_probabilities: %s%s" % (
                    tf_settings.status(ok), tf_settings.tag(setting), label, name, text,
                    "; TF's settings disagree at %d px" % tf_disagrees.sum()
                    if tf_disagrees.any() else ""), flush=True)
                failures += not ok
    print("check_onnx_export: %s" % ("ok" if failures == 0 else "%d failure(s)" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
