#!/usr/bin/env python3
"""CPU inference engines side by side, 513x513, batch 1 (issue 14's comparison).

In rounds (default 3), alternating so that a noisy shared machine affects all alike:
  * Java: `tools/deeplab bench --engine tensorflow,onnxruntime --precision fp32,int8` (our
    Segmenter on TF Java, on ONNX Runtime's Java API in fp32 and in int8 calibrated on the bundled
    photos, interleaved inside the JVM) on the model's SavedModel;
  * Python: onnxruntime (with our engine's session settings: all optimisations, a thread per
    core, worker threads that sleep rather than spin, no memory patterns) on the same fp32 and
    int8 ONNX files our export writes (their class ids, computed in the graph; ours finish them
    in Java from a logits-only model),
    and TF Lite (XNNPACK, 2 threads) on the official quantised MobileNetV2 file, interleaved; and,
    where torch is installed, onnxruntime on the same weights exported by `torch.onnx.export` from
    the independent PyTorch implementation (tools/bench/torch_deeplab.py: network, align-corners
    upsampling to the image and argmax at the crop size), the issue's comparison point.
Every figure is the median of --runs timed runs after --warmup; the last lines give each median
over the rounds and its ratio to ours on TensorFlow.

Usage: .venv/bin/python tools/bench/engines_bench.py [--model DIR] [--rounds 3] [--runs 30]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEEPLAB = os.path.join(ROOT, "tools", "deeplab")
PHOTOS = os.path.join(ROOT, "examples", "photos")
TFLITE = os.path.join(ROOT, "deeplab-core", "src", "test", "resources", "dev", "deeplab",
                      "models", "deeplabv3_mnv2_pascal_quant.tflite")


def java(model, runs, warmup):
    cmd = [DEEPLAB, "bench", "--engine", "tensorflow,onnxruntime", "--precision", "fp32,int8",
           "--calibration", PHOTOS, "--runs", str(runs), "--warmup", str(warmup),
           "--json"] + (["--model", model] if model else [])
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = [l for l in p.stdout.splitlines() if l.startswith("{")][-1]
    return {"ours/" + r["engine"]: r["median_ms"] for r in json.loads(line)["results"]}


def torch_export(model, path):
    """The PyTorch implementation with the SavedModel's weights as ONNX, or None without torch."""
    try:
        import torch
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import torch_deeplab
    except ImportError:
        return None
    cfg, weights, _ = torch_deeplab.read_savedmodel(model)
    net = torch_deeplab.Net(dict(cfg), weights, False).eval()
    x = torch.zeros((1, 513, 513, 3), dtype=torch.uint8)
    torch.onnx.export(net, (x,), path, input_names=["images"], output_names=["semantic"],
                      opset_version=17, dynamo=False)
    return path


def python(onnx_file, int8_file, torch_file, tflite, runs, warmup):
    import onnxruntime as ort
    so = ort.SessionOptions()
    # as our Java engine (OnnxRuntimeNetwork, CpuCores): one thread per core (ONNX Runtime's own
    # default ran one thread on this 2-core VM), idle worker threads that sleep rather than spin,
    # no memory patterns
    so.intra_op_num_threads = len(os.sched_getaffinity(0))
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.enable_mem_pattern = False
    sess = ort.InferenceSession(onnx_file, so, providers=["CPUExecutionProvider"])
    sess8 = ort.InferenceSession(int8_file, so, providers=["CPUExecutionProvider"])
    x = np.random.RandomState(1).randint(0, 256, (1, 513, 513, 3)).astype(np.uint8)
    fns = {"python onnxruntime (same file)": lambda: sess.run(["semantic"], {"images": x}),
           "python onnxruntime int8 (same file)":
               lambda: sess8.run(["semantic"], {"images": x})}
    if torch_file:
        sesst = ort.InferenceSession(torch_file, so, providers=["CPUExecutionProvider"])
        fns["python onnxruntime, torch.onnx.export of torch_deeplab.py"] = \
            lambda: sesst.run(["semantic"], {"images": x})
    if tflite:
        import tensorflow as tf
        interp = tf.lite.Interpreter(model_path=tflite, num_threads=2)
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]
        xq = x.astype(inp["dtype"])
        def run_tflite():
            interp.set_tensor(inp["index"], xq)
            interp.invoke()
        fns["python tflite uint8 (official file, XNNPACK)"] = run_tflite
    times = {k: [] for k in fns}
    for i in range(warmup + runs):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            if i >= warmup:
                times[k].append((time.perf_counter() - t) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--model", help="SavedModel (default: the pretrained model)")
    a.add_argument("--rounds", type=int, default=3)
    a.add_argument("--runs", type=int, default=30)
    a.add_argument("--warmup", type=int, default=5)
    args = a.parse_args()
    work = tempfile.mkdtemp(prefix="engines_bench_")
    onnx_file = os.path.join(work, "model.onnx")
    model = args.model or os.path.join(ROOT, "savedmodels", "deeplabv3_mnv2_pascal")
    int8_file = os.path.join(work, "model_int8.onnx")
    subprocess.run([DEEPLAB, "export", "--format", "onnx", "--model", model, "-o", onnx_file],
                   check=True, capture_output=True)
    subprocess.run([DEEPLAB, "export", "--format", "onnx", "--model", model, "--precision",
                    "int8", "--calibration", PHOTOS, "-o", int8_file],
                   check=True, capture_output=True)
    tflite = TFLITE if args.model is None else None
    torch_file = torch_export(model, os.path.join(work, "torch.onnx"))
    rounds = []
    for r in range(args.rounds):
        row = java(args.model, args.runs, args.warmup)
        row.update(python(onnx_file, int8_file, torch_file, tflite, args.runs, args.warmup))
        rounds.append(row)
        load = os.getloadavg()[0]
        print("round %d (load %.1f): %s" % (r + 1, load, ", ".join(
            "%s %.1f ms" % kv for kv in row.items())), flush=True)
    base = statistics.median(r["ours/tensorflow"] for r in rounds)
    print("%-46s %10s %8s" % ("engine", "median ms", "ratio"))
    for k in rounds[0]:
        m = statistics.median(r[k] for r in rounds)
        print("%-46s %10.1f %8.3f" % (k, m, m / base))


if __name__ == "__main__":
    sys.exit(main())
