#!/usr/bin/env python3
"""Our int8 ONNX export (`deeplab export --format onnx --precision int8`) against ONNX's and ONNX
Runtime's own tools, on the pretrained MobileNetV2 model calibrated on the six bundled photos:

  1. ONNX's checker accepts the file with full shape inference; it is in QDQ form (uint8
     activations through QuantizeLinear/DequantizeLinear, int8 weights with per-channel scales
     on axis 0, int32 biases); the stem (a dense conv over the 3 RGB channels) alone stays
     float;
  2. every convolution's int8 weights and scales equal those numpy computes here from the fp32
     file's weights by the documented rule (symmetric per output channel, scale max|w| / 127,
     values rounded half to even and clipped to [-127, 127]; a value may differ by one where
     float32 rounding lands on .5);
  3. Python onnxruntime runs it on the four held-out voc-mini images: its class ids agree with
     the fp32 file's on at least as many pixels as those of the model that onnxruntime's own
     `quantize_static` (QDQ, per-channel int8 weights, uint8 min-max activations, the same
     photos) writes, less 0.2 points; its pixel accuracy against the labels is within 0.005 of
     fp32's.

Exit status 1 on any failure. Run by tools/python/run_checks.sh with cwd = repository root.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper
from PIL import Image

import tf_settings

DEEPLAB = os.path.join("tools", "deeplab")
MODEL = os.path.join("savedmodels", "deeplabv3_mnv2_pascal")
PHOTOS = os.path.join("examples", "photos")
VOC = os.path.join("deeplab-core", "src", "test", "resources", "voc-mini")


def load(path):
    return np.asarray(Image.open(path).convert("RGB"))[None]


def photos():
    return sorted(p for p in glob.glob(os.path.join(PHOTOS, "*"))
                  if p.lower().endswith((".jpg", ".png")))


def export(out, *extra):
    cmd = [DEEPLAB, "export", "--format", "onnx", "--model", MODEL, "-o", out, *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, env=tf_settings.java_env())
    if p.returncode != 0:
        sys.exit("FAILED: %s: %s" % (" ".join(cmd), p.stderr.strip()[-2000:]))
    print(p.stdout.strip())


def check_weights(fp32_path, int8_path):
    """Every conv's int8 weights and scales against numpy's quantisation of the fp32 weights."""
    fp32 = {t.name: numpy_helper.to_array(t) for t in onnx.load(fp32_path).graph.initializer}
    int8 = onnx.load(int8_path)
    inits = {t.name: numpy_helper.to_array(t) for t in int8.graph.initializer}
    dq = {n.output[0]: n for n in int8.graph.node if n.op_type == "DequantizeLinear"}
    convs = [n for n in int8.graph.node if n.op_type == "Conv"]
    checked = kept_float = 0
    for conv in convs:
        node = dq.get(conv.input[1])
        groups = ([a.i for a in conv.attribute if a.name == "group"] or [1])[0]
        over_rgb = groups == 1 and inits[conv.input[1]].shape[1] < 8 if node is None else False
        if node is None:
            # the documented exception: a dense conv over fewer than 8 input channels (the stem
            # over the RGB image) stays float, its weights those of the fp32 file
            if over_rgb and np.array_equal(inits[conv.input[1]], fp32[conv.input[1]]):
                kept_float += 1
            continue
        name = conv.input[1][: -len("/dequantized")]
        w = fp32[name].astype(np.float64)
        q, scale = inits[node.input[0]], inits[node.input[1]]
        axis = [a.i for a in node.attribute if a.name == "axis"]
        if q.dtype != np.int8 or axis != [0] or scale.shape != (w.shape[0],):
            sys.exit("FAILED: %s is not int8 per-channel on axis 0" % name)
        amax = np.abs(w.reshape(w.shape[0], -1)).max(1)
        want_scale = np.where(amax > 0, amax / 127, 1).astype(np.float32)
        if np.abs(scale - want_scale).max() > 1e-6 * want_scale.max():
            sys.exit("FAILED: %s: scales differ from max|w|/127" % name)
        want = np.clip(np.rint(w / want_scale.reshape(-1, *[1] * (w.ndim - 1))), -127, 127)
        diff = np.abs(q.astype(np.int32) - want.astype(np.int32))
        if diff.max() > 1:
            sys.exit("FAILED: %s: int8 weights differ by %d" % (name, diff.max()))
        checked += 1
    ops = {}
    for n in int8.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print("QDQ form: %d convolutions with int8 per-channel weights (numpy agrees), %d over the "
          "RGB image kept float, %d QuantizeLinear, %d DequantizeLinear" % (
              checked, kept_float, ops.get("QuantizeLinear", 0), ops.get("DequantizeLinear", 0)))
    if kept_float != 1 or checked + kept_float != len(convs) or ops.get("QuantizeLinear", 0) < 50:
        sys.exit("FAILED: %d of %d convolutions quantised, %d kept float (want all but the stem)"
                 % (checked, len(convs), kept_float))


def main():
    work = tempfile.mkdtemp(prefix="onnx_int8_")
    try:
        check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check(work):
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    fp32, ours, theirs = (os.path.join(work, n) for n in ("fp32.onnx", "int8.onnx", "ort.onnx"))
    export(fp32)
    export(ours, "--precision", "int8", "--calibration", PHOTOS)
    onnx.checker.check_model(onnx.load(ours), full_check=True)
    print("onnx.checker (full_check): ok")
    check_weights(fp32, ours)

    class Photos(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"images": load(p)} for p in photos()])

        def get_next(self):
            return next(self.it, None)

    quantize_static(fp32, theirs, Photos(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["Conv", "Add", "Concat"])
    sessions = {k: ort.InferenceSession(f, providers=["CPUExecutionProvider"])
                for k, f in (("fp32", fp32), ("ours", ours), ("onnxruntime", theirs))}
    agree = {"ours": [0, 0], "onnxruntime": [0, 0]}
    correct = {k: [0, 0] for k in sessions}
    for jpg in sorted(glob.glob(os.path.join(VOC, "JPEGImages", "*.jpg"))):
        label = np.asarray(Image.open(jpg.replace("JPEGImages", "SegmentationClass")
                                      .replace(".jpg", ".png")))
        x = load(jpg)
        ids = {k: s.run(["semantic"], {"images": x})[0][0] for k, s in sessions.items()}
        valid = label != 255
        for k in sessions:
            correct[k][0] += int((ids[k] == label)[valid].sum())
            correct[k][1] += int(valid.sum())
        for k in agree:
            agree[k][0] += int((ids[k] == ids["fp32"]).sum())
            agree[k][1] += ids["fp32"].size
        print("%s: agreement with fp32: ours %.4f, onnxruntime's quantize_static %.4f" % (
            os.path.basename(jpg), (ids["ours"] == ids["fp32"]).mean(),
            (ids["onnxruntime"] == ids["fp32"]).mean()))
    a = {k: v[0] / v[1] for k, v in agree.items()}
    acc = {k: v[0] / v[1] for k, v in correct.items()}
    print("voc-mini pixel accuracy: fp32 %.4f, ours int8 %.4f, onnxruntime's int8 %.4f" % (
        acc["fp32"], acc["ours"], acc["onnxruntime"]))
    print("agreement with fp32: ours %.4f, onnxruntime's %.4f" % (a["ours"], a["onnxruntime"]))
    if a["ours"] < a["onnxruntime"] - 0.002:
        sys.exit("FAILED: our int8 model agrees with fp32 less than onnxruntime's")
    if abs(acc["ours"] - acc["fp32"]) > 0.005:
        sys.exit("FAILED: int8 pixel accuracy %.4f vs fp32 %.4f" % (acc["ours"], acc["fp32"]))
    print("check_onnx_int8: passed")


if __name__ == "__main__":
    main()
