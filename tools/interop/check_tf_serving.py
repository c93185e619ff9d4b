#!/usr/bin/env python3
"""Our SavedModels as TF Serving's REST API serves them, against the Java results (TF 2.21).

Exports four models with the Java CLI into a temporary directory: resnet_v1_101_beta and
xception_65 (output stride 16, decoder, crop 257) and mobilenet_v2 (crop 513) with random
weights (`tools/deeplab bench ... --export`, deterministic), and the pretrained
savedmodels/deeplabv3_mnv2_pascal re-exported (`tools/deeplab export --model`). Java masks come
from `tools/deeplab segment --json --save-probabilities` (TF Java runtime, TF_ENABLE_ONEDNN_OPTS
unset) on PNG test images: "wide" 700x450 (larger than the crop: scaled down into it), "small"
and "small2" 97x61, "chelsea" 451x300, and for the pretrained model also the other photos of
examples/photos/ (JPEGs converted to PNG, so that both sides see the same pixels whatever their
JPEG decoders do); plus a 300x200 JPEG, a 160x290 GIF and a 133x77 BMP made with PIL, for which
only the outputs' validity and size are checked, sent to the two MobileNet models only (decoding
is the same graph whatever the backbone). The network always runs on the full crop: at 513x513
resnet and xception take ~1.2 s an image with oneDNN and ~3.5 s with TF_ENABLE_ONEDNN_OPTS=0 on
2 cores, so they run at a 257x257 crop (a quarter of the work; the serving graph around the
network is the same at any crop, and the two MobileNet models cover 513) and get few images (16
network runs per setting, warmup replay included). At 257 "chelsea" is larger than the crop too.

Each model is then loaded with tf.saved_model.load in a subprocess per TensorFlow setting: Python
TF's defaults (TF_ENABLE_ONEDNN_OPTS unset: oneDNN on) and TF_ENABLE_ONEDNN_OPTS=0. A subprocess
that dies (e.g. SIGFPE inside a oneDNN kernel) fails the check for that model and setting, with
the signal. Requests go through tools/serving/rest_standin.py (TF Serving's REST predict API:
`predict`, and `predict_batch` for the server-side batching session), with the bodies clients
send:

  a. row format, one image, no signature_name (serving_default), for wide and for small:
     {"instances": [{"b64": <PNG>}]} -> 200 {"predictions": [{"b64": <mask PNG>}]}; the mask is a
     palette PNG PIL verifies (chunk CRCs) and loads, of the image's size, palette = the
     model's "colors" (assets/deeplab_model.json), class ids = the Java mask;
  b. row format with several images of different sizes in one request (small2, chelsea; the
     JPEG, GIF and BMP for the MobileNet models; the other photos for the pretrained one); columnar {"inputs": [small, chelsea]} ->
     {"outputs": [...]} (small's PNG bytes = the row answer's); predict_images with [h][w][3]
     instances (small, then small and small2 in one batch) -> int class ids = the Java masks;
     predict_probabilities for small: probabilities sum to 1 per pixel, argmax = semantic (ties
     of the printed 6-digit values excepted), semantic = the Java mask, probabilities within
     JAVA_PROB_TOL of Java's (the largest difference is printed);
  c. rest_standin.predict_batch with two single-image serving_default requests of different
     image sizes (strings batch) -> both answers identical to the requests served alone;
  d. hostile input, sent first (before any inference raises the peak RSS): a valid PNG whose
     IHDR says 20000x20000 RGB (IDAT = the whole 1.2 GB of zero rows, deflated to ~1.2 MB), alone
     and in a batch with a good image; a GIF whose header says 32767x32767; random bytes -> 400
     fast (the first request also pays the function's set-up, timed again once warm), the error
     text naming the pixel limit (max_pixels), the process's peak RSS (ru_maxrss) rising by less
     than RSS_LIMIT_MB over the four requests;
  e. warmup: assets.extra/tf_serving_warmup_requests read with tf.data.TFRecordDataset (record
     CRCs verified), each record parsed as tensorflow.serving.PredictionLog with message classes
     built here from hand-written descriptors (prediction_log.proto, predict.proto, model.proto
     field numbers; TensorProto from tensorflow.core.framework; no tensorflow-serving-api), no
     unknown fields, one record per signature, every input converted with tf.make_ndarray, the
     request replayed: it runs and its outputs have the batch size of its inputs.

Class ids must equal Java's (and a batched answer the answer served alone) except at near-ties:
a pixel may differ only where the two classes' probabilities are within TIE_TOL. Those come from
Java's probabilities where the image fits the crop (the softmax at that very pixel), else from
Python's own softmax at the region pixel the mask pixel is taken from (align-corners nearest
neighbour), fetched from the predict_probabilities graph pruned to its Softmax and ArgMax. The
float32 results of different kernels (TF Java's runtime, oneDNN or not, batch size) differ by
~1e-5 in probability; a class flip needs a margin of that order.

CHECK_TF_SERVING_MODELS=label,... limits the run to those models (for development).

Exit status 1 on any failure. Run by tools/python/run_checks.sh with cwd = repository root.
"""

import base64
import io
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zlib

import numpy as np
from PIL import Image

import tf_settings

DEEPLAB = os.path.join("tools", "deeplab")
PHOTOS = "examples/photos"
PRETRAINED = "savedmodels/deeplabv3_mnv2_pascal"
TIE_TOL = 1e-4          # probability margin under which a differing class id is a near-tie
PROB_TOL = 1e-4         # |sum of probabilities - 1| (JSON values have 6 significant digits)
# max |Python - Java| probability (predict_probabilities): float32 round-off of different kernels
# (oneDNN 3.7 vs Eigen) moved probabilities by at most 6e-6 here. The random-weight exports use
# LeCun weights (`deeplab bench --export`), which keep logits of order 1 through every block.
JAVA_PROB_TOL = 2e-5
RSS_LIMIT_MB = 300
HOSTILE_WARM_S = 2.0    # a refused request once the function is set up
HOSTILE_COLD_S = 60.0   # the first request of the process (function instantiation included)
WORKER_TIMEOUT_S = 400

# label, CLI arguments (DIR is replaced), test images (None: all), JPEG/GIF/BMP requests too.
BASIC_IMAGES = ["wide", "small", "small2", "chelsea"]
MODELS = [
    ("resnet_v1_101_beta", ["bench", "--variant", "resnet_v1_101_beta", "--output-stride", "16",
                            "--decoder", "--crop-size", "257", "--export", "DIR"],
     BASIC_IMAGES, False),
    ("xception_65", ["bench", "--variant", "xception_65", "--output-stride", "16", "--decoder",
                     "--crop-size", "257", "--export", "DIR"], BASIC_IMAGES, False),
    ("mobilenet_v2", ["bench", "--variant", "mobilenet_v2", "--crop-size", "513", "--export",
                      "DIR"], BASIC_IMAGES, True),
    ("deeplabv3_mnv2_pascal", ["export", "--model", PRETRAINED, "-o", "DIR"], None, True),
]

# Roles of the test images (names of the PNGs made by make_images).
SINGLES = ["wide", "small"]            # a. one image per request; c. batched together
COLUMNAR = ["small", "chelsea"]        # b. columnar request
PAIR = ["small", "small2"]             # b. predict_images batch of two of one size
FORMATS = ["jpeg", "gif", "bmp"]       # b. row batch: validity and size only


def status(ok):
    return "ok  " if ok else "FAIL"


# ---------------------------------------------------------------------------------------------
# Test inputs.
# ---------------------------------------------------------------------------------------------

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width, height, rows_per_block=100):
    """A valid RGB PNG of zero pixels whose IDAT deflates the whole image (filter 0 rows).

    Blocks of rows_per_block rows are compressed once with a full flush (which resets the
    compressor), so every block after the first compresses to the same bytes and is repeated; then
    an empty final block and the Adler-32 of the data (all zeros: a = 1, b = length mod 65521).
    """
    row = 1 + 3 * width
    block = bytes(row * rows_per_block)
    co = zlib.compressobj(9)
    first = co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)
    repeat = co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)
    adler = (((row * height) % 65521) << 16) | 1
    data = first + repeat * (height // rows_per_block - 1) + b"\x03\x00" + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", data)
            + png_chunk(b"IEND", b""))


def gif_header_bomb(width, height):
    """A GIF89a with logical screen and one frame of width x height, and a tiny LZW stream."""
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # 2-colour table
            + b"\x00\x00\x00\xff\xff\xff"
            + b"," + struct.pack("<HHHHB", 0, 0, width, height, 0)
            + b"\x02\x01\x2c\x00"  # min code size 2; one sub-block: clear (4), end (5)
            + b";")


def make_images(work):
    """Writes the test images; returns {name: {path, width, height, kind}}."""
    images = {}

    def save(name, im, kind, **kw):
        path = os.path.join(work, "images", name + "." + kind)
        im.save(path, **kw)
        images[name] = {"path": path, "width": im.size[0], "height": im.size[1], "kind": kind}

    os.makedirs(os.path.join(work, "images"))
    rgb = {}
    for name in sorted(os.listdir(PHOTOS)):
        stem, ext = os.path.splitext(name)
        if ext.lower() in (".png", ".jpg", ".jpeg"):
            rgb[stem] = Image.open(os.path.join(PHOTOS, name)).convert("RGB")
            save(stem, rgb[stem], "png")
    save("wide", rgb["coffee"].resize((700, 450), Image.BILINEAR), "png")
    save("small", rgb["chelsea"].resize((97, 61), Image.BILINEAR), "png")
    save("small2", rgb["pets"].resize((97, 61), Image.BILINEAR), "png")
    save("jpeg", rgb["astronaut"].resize((300, 200), Image.BILINEAR), "jpeg", quality=90)
    save("gif", rgb["parrot"].resize((160, 290), Image.BILINEAR).quantize(64), "gif")
    save("bmp", rgb["pets"].resize((133, 77), Image.BILINEAR), "bmp")
    hostile = {"png_20000x20000": png_bomb(20000, 20000),
               "gif_32767x32767": gif_header_bomb(32767, 32767),
               "random_bytes": b"\x00" + np.random.default_rng(0).bytes(4095)}
    for name, data in hostile.items():
        with open(os.path.join(work, "images", name), "wb") as f:
            f.write(data)
    return images, {n: os.path.join(work, "images", n) for n in hostile}


# ---------------------------------------------------------------------------------------------
# The parent: exports, Java masks, one worker subprocess per model and setting.
# ---------------------------------------------------------------------------------------------

def latest_version(base):
    versions = [int(d) for d in os.listdir(base) if d.isdigit()
                and os.path.isfile(os.path.join(base, d, "saved_model.pb"))]
    return os.path.join(base, str(max(versions))) if versions else None


def export(label, args, base):
    cmd = [DEEPLAB] + [base if a == "DIR" else a for a in args]
    t = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, env=tf_settings.java_env())
    dt = time.monotonic() - t
    version = latest_version(base) if os.path.isdir(base) else None
    ok = p.returncode == 0 and version is not None
    print("%s export %-22s %s in %.1f s%s" % (
        status(ok), label, version or base, dt,
        "" if ok else ": exit %d %s" % (p.returncode, (p.stderr + p.stdout).strip()[-600:])),
        flush=True)
    return version if ok else None


def java_segment(label, version, names, images, out):
    paths = [images[n]["path"] for n in names]
    cmd = [DEEPLAB, "segment", "--model", version, "--json", "--save-probabilities", "-o", out]
    t = time.monotonic()
    p = subprocess.run(cmd + paths, capture_output=True, text=True, env=tf_settings.java_env())
    dt = time.monotonic() - t
    masks, problems = {}, []
    try:
        report = json.loads(p.stdout[p.stdout.index("{"):]) if "{" in p.stdout else None
    except ValueError as err:
        report, problems = None, ["unreadable JSON: %s" % err]
    entries = []
    if isinstance(report, dict):
        entries = next((v for v in report.values() if isinstance(v, list)), [])
    elif isinstance(report, list):
        entries = report
    by_path = {os.path.abspath(e.get("image", "")): e for e in entries if isinstance(e, dict)}
    for n in names:
        e = by_path.get(os.path.abspath(images[n]["path"]))
        if e is None or "error" in e:
            problems.append("%s: %s" % (n, "missing" if e is None else e["error"]))
            continue
        mask, prob = e["outputs"]["mask"], e["outputs"].get("probabilities")
        size = Image.open(mask).size
        if size != (images[n]["width"], images[n]["height"]) or \
                (e.get("width"), e.get("height")) != size:
            problems.append("%s: mask %s, image %dx%d" % (n, size, images[n]["width"],
                                                         images[n]["height"]))
            continue
        masks[n] = {"mask": mask, "probabilities": prob}
    ok = p.returncode == 0 and not problems
    print("%s java segment %-16s %d images in %.1f s%s" % (
        status(ok), label, len(masks), dt, "" if ok else ": exit %d; %s %s" % (
            p.returncode, "; ".join(problems), p.stderr.strip()[-400:])), flush=True)
    return masks if ok else None


def run_worker(job_path, label, setting, value):
    env = tf_settings.env_for(value)
    err_path, step_path = job_path + ".stderr", job_path + ".step"
    t = time.monotonic()
    timed_out = []
    with open(err_path, "w") as err:
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", job_path],
                             stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        watchdog = threading.Timer(WORKER_TIMEOUT_S, lambda: (timed_out.append(1), p.kill()))
        watchdog.start()
        for line in p.stdout:
            print(line, end="", flush=True)
        rc = p.wait()
        watchdog.cancel()
    dt = time.monotonic() - t
    with open(err_path, errors="replace") as f:
        noise = ("oneDNN custom operations are on", "absl::InitializeLog()")
        tail = " | ".join(line.strip() for line in f if line.strip()
                          and not any(n in line for n in noise))[-500:]
    step = ""
    if os.path.exists(step_path):
        with open(step_path) as f:
            step = f.read()
    where = "[%s, %s]" % (label, setting)
    if rc == 0:
        print("ok   %s subprocess exited 0 after %.1f s" % (where, dt), flush=True)
        return True
    if timed_out:
        print("FAIL %s subprocess killed at the %d s time limit, in step %r" % (
            where, WORKER_TIMEOUT_S, step), flush=True)
    elif rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = "signal %d" % -rc
        print("FAIL %s subprocess CRASHED with %s (exit %d) after %.1f s, in step %r; stderr: %s"
              % (where, name, rc, dt, step or "loading", tail or "(nothing)"), flush=True)
    else:
        print("FAIL %s subprocess exited %d after %.1f s%s" % (
            where, rc, dt, "" if rc == 1 else "; stderr: " + tail), flush=True)
    return False


def main():
    start = time.monotonic()
    ok = True
    work = tempfile.mkdtemp(prefix="deeplab_tf_serving_check_")
    try:
        images, hostile = make_images(work)
        photos = sorted(n for n, i in images.items()
                        if i["kind"] == "png" and n not in ("wide", "small", "small2"))
        print("     test images: %s" % ", ".join(
            "%s %dx%d %s" % (n, i["width"], i["height"], i["kind"].upper())
            for n, i in images.items()), flush=True)
        jobs = []
        only = [m for m in os.environ.get("CHECK_TF_SERVING_MODELS", "").split(",") if m]
        for label, args, names, formats in MODELS:
            if only and label not in only:
                continue
            version = export(label, args, os.path.join(work, "models", label))
            ok &= version is not None
            if version is None:
                continue
            names = names or ["wide", "small", "small2"] + photos
            masks = java_segment(label, version, names, images, os.path.join(work, "java", label))
            ok &= masks is not None
            if masks is None:
                continue
            jobs.append({"label": label, "version": version, "images": images,
                         "java": masks, "hostile": hostile, "formats": formats})
        for job in jobs:
            for setting, value in tf_settings.SETTINGS:
                job_path = os.path.join(work, "job_%s_%s.json" % (job["label"], value or "default"))
                with open(job_path, "w") as f:
                    json.dump(dict(job, setting=setting, step_file=job_path + ".step"), f)
                ok &= run_worker(job_path, job["label"], setting, value)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%s check_tf_serving: %.1f s in all" % (status(ok), time.monotonic() - start))
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------------
# The worker: one model under one TensorFlow setting.
# ---------------------------------------------------------------------------------------------

def prediction_log_class():
    """tensorflow.serving.PredictionLog, built from hand-written descriptors.

    Only the fields our warmup files use are declared (field numbers from tensorflow_serving/apis
    prediction_log.proto, predict.proto and model.proto); anything else parses as unknown fields,
    which the check counts. TensorProto comes from tensorflow.core.framework.tensor_pb2's file,
    added with its dependencies to a private descriptor pool.
    """
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from tensorflow.core.framework import tensor_pb2

    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(fd):
        if fd.name in added:
            return
        for dep in fd.dependencies:
            add(dep)
        pool.Add(descriptor_pb2.FileDescriptorProto.FromString(fd.serialized_pb))
        added.add(fd.name)

    add(tensor_pb2.DESCRIPTOR)
    F = descriptor_pb2.FieldDescriptorProto
    f = descriptor_pb2.FileDescriptorProto(
        name="check_tf_serving/prediction_log.proto", package="tensorflow.serving",
        syntax="proto3", dependency=[tensor_pb2.DESCRIPTOR.name])

    def message(name, fields, parent=None):
        m = (parent.nested_type if parent else f.message_type).add(name=name)
        for fname, number, ftype, label, type_name in fields:
            fd = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                fd.type_name = type_name
        return m

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("ModelSpec", [("name", 1, F.TYPE_STRING, opt, None),
                          ("signature_name", 3, F.TYPE_STRING, opt, None)])
    request = message("PredictRequest", [
        ("model_spec", 1, F.TYPE_MESSAGE, opt, ".tensorflow.serving.ModelSpec"),
        ("inputs", 2, F.TYPE_MESSAGE, rep, ".tensorflow.serving.PredictRequest.InputsEntry"),
        ("output_filter", 3, F.TYPE_STRING, rep, None)])
    entry = message("InputsEntry", [("key", 1, F.TYPE_STRING, opt, None),
                                    ("value", 2, F.TYPE_MESSAGE, opt, ".tensorflow.TensorProto")],
                    parent=request)
    entry.options.map_entry = True
    message("PredictLog", [("request", 1, F.TYPE_MESSAGE, opt,
                            ".tensorflow.serving.PredictRequest")])
    message("PredictionLog", [("predict_log", 6, F.TYPE_MESSAGE, opt,
                               ".tensorflow.serving.PredictLog")])
    pool.Add(f)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.PredictionLog"))


def unknown_field_count(msg):
    from google.protobuf import unknown_fields
    n = len(unknown_fields.UnknownFieldSet(msg))
    for field, value in msg.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = list(value.values()) if field.message_type.fields_by_name[
                "value"].message_type else []
        elif (field.is_repeated if hasattr(field, "is_repeated")
              else field.label == field.LABEL_REPEATED):
            values = list(value)
        else:
            values = [value]
        n += sum(unknown_field_count(v) for v in values)
    return n


class Worker:
    def __init__(self, job):
        import tensorflow as tf
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                        "serving"))
        import rest_standin
        self.tf, self.rs = tf, rest_standin
        self.job = job
        self.where = "[%s, %s]" % (job["label"], job["setting"])
        self.ok = True
        self.images = job["images"]
        self.bytes = {}
        for name, info in self.images.items():
            with open(info["path"], "rb") as f:
                self.bytes[name] = f.read()
        self.single_answers = {}
        self.region_cache = {}
        self.java = {}
        for name, m in job["java"].items():
            self.java[name] = (np.array(Image.open(m["mask"])).astype(np.int32),
                               np.load(m["probabilities"]))

    def report(self, ok, text):
        print("%s %s %s" % (status(ok), self.where, text), flush=True)
        self.ok &= bool(ok)
        return ok

    # -- helpers ---------------------------------------------------------------------------

    def b64(self, name):
        return {"b64": base64.b64encode(self.bytes[name]).decode("ascii")}

    def predict(self, body):
        t = time.monotonic()
        code, text = self.rs.predict(self.model, json.dumps(body))
        return code, json.loads(text), time.monotonic() - t

    def fits_crop(self, name):
        return self.images[name]["height"] <= self.crop[0] and \
            self.images[name]["width"] <= self.crop[1]

    def region_outputs(self, name):
        """Python's softmax and argmax at the image's region in the crop (before the resize to
        the image size), from the predict_probabilities graph pruned to those tensors."""
        if name not in self.region_cache:
            fn = self.model.signatures["predict_probabilities"]
            found = {}
            for out in fn.outputs:
                todo, seen = [out.op], set()
                while todo:
                    op = todo.pop()
                    if op.name in seen:
                        continue
                    seen.add(op.name)
                    if op.type in ("Softmax", "ArgMax") and op.type not in found:
                        found[op.type] = op.outputs[0].name
                        continue
                    todo.extend(t.op for t in op.inputs)
            prune = self.model.prune(fn.inputs[0].name, [found["Softmax"], found["ArgMax"]])
            rgb = np.array(Image.open(self.images[name]["path"]).convert("RGB"))[None]
            soft, arg = prune(self.tf.constant(rgb))
            self.region_cache[name] = (soft.numpy()[0], arg.numpy()[0])
        return self.region_cache[name]

    def tie_margins(self, name, ids, other, ys, xs):
        """Probability margins between the classes ids and other give at pixels (ys, xs), and
        where they come from: Java's probabilities where the image fits the crop (they are then
        the softmax at the pixel), else Python's softmax at the region pixel that align-corners
        nearest-neighbour resizing maps the pixel from."""
        a, b = ids[ys, xs], other[ys, xs]
        if self.fits_crop(name) and name in self.java:
            p = self.java[name][1][ys, xs]
            return np.abs(p[np.arange(len(ys)), a] - p[np.arange(len(ys)), b]), \
                "Java probability"
        soft, arg = self.region_outputs(name)
        h, w = ids.shape
        fh, fw = arg.shape
        sy = np.minimum(np.floor(ys * np.float32((fh - 1) / max(h - 1, 1)) + 0.5).astype(int),
                        fh - 1)
        sx = np.minimum(np.floor(xs * np.float32((fw - 1) / max(w - 1, 1)) + 0.5).astype(int),
                        fw - 1)
        p = soft[sy, sx]
        margin = np.abs(p[np.arange(len(ys)), a] - p[np.arange(len(ys)), b])
        # Where the mapping is off by one (float rounding), take the 3x3 neighbourhood's smallest.
        mapped = (arg[sy, sx] == a) | (arg[sy, sx] == b)
        for k in np.nonzero(~mapped)[0]:
            y0, x0 = max(sy[k] - 1, 0), max(sx[k] - 1, 0)
            q = soft[y0:sy[k] + 2, x0:sx[k] + 2]
            margin[k] = np.abs(q[..., a[k]] - q[..., b[k]]).min()
        return margin, "Python region softmax"

    def compare_ids(self, name, ids, other, what):
        """(ok, text): two class-id maps equal, or differing only at near-ties."""
        if ids.shape != other.shape:
            return False, "shape %s, %s %s" % (ids.shape, what, other.shape)
        diff = ids != other
        n = int(diff.sum())
        if n == 0:
            return True, "= %s (0 of %d pixels differ)" % (what, ids.size)
        ys, xs = np.nonzero(diff)
        c = len(self.colors)
        if int(ids.max()) >= c or int(other.max()) >= c:
            return False, "%d of %d pixels differ from %s, ids out of range" % (n, ids.size, what)
        margin, source = self.tie_margins(name, ids, other, ys, xs)
        worst = float(margin.max())
        return worst <= TIE_TOL, "%d of %d pixels differ from %s, %s margins there <= %.2g " \
            "(near-tie limit %g)%s" % (n, ids.size, what, source, worst, TIE_TOL,
                                       "" if worst <= TIE_TOL else ": NOT near-ties")

    def compare_java(self, name, ids):
        return self.compare_ids(name, ids, self.java[name][0], "the Java mask")

    def check_mask_png(self, name, data, what):
        """Decodes one served mask and checks it; returns class ids or None."""
        info = self.images[name]
        size = (info["width"], info["height"])
        try:
            Image.open(io.BytesIO(data)).verify()
            im = Image.open(io.BytesIO(data))
            im.load()
        except Exception as err:  # noqa: BLE001 - anything PIL rejects is a failure
            self.report(False, "%s %s: PIL rejects the mask PNG (%d bytes): %r" % (
                what, name, len(data), err))
            return None
        pal = im.getpalette() or []
        want = [int(c[i:i + 2], 16) for c in self.colors for i in (1, 3, 5)]
        ids = np.array(im).astype(np.int32) if im.mode == "P" else None
        good = im.mode == "P" and im.size == size and pal[:len(want)] == want and \
            int(ids.max()) < len(self.colors)
        text = "%s %s %dx%d %s: mask PNG %d bytes, mode %s, %dx%d, palette of %d entries %s" % (
            what, name, size[0], size[1], info["kind"].upper(), len(data), im.mode, im.size[0],
            im.size[1], len(pal) // 3, "starts with the model's %d colours" % len(self.colors)
            if pal[:len(want)] == want else "DIFFERS from the model's colours")
        if ids is not None and name in self.java:
            same, detail = self.compare_java(name, ids)
            good &= same
            text += "; " + detail
        self.report(good, text)
        return ids if good else None

    def served_pngs(self, code, doc, key, count, what):
        values = doc.get(key) if isinstance(doc, dict) else None
        good = code == 200 and isinstance(values, list) and len(values) == count and all(
            isinstance(v, dict) and set(v) == {"b64"} for v in values) and set(doc) == {key}
        if not good:
            self.report(False, "%s: status %d, expected 200 {\"%s\": [%d x {\"b64\": ...}]}, got "
                        "%s" % (what, code, key, count, json.dumps(doc)[:300]))
            return None
        return [base64.b64decode(v["b64"]) for v in values]

    # -- d. hostile input ------------------------------------------------------------------

    def hostile(self, warm=False):
        paths = self.job["hostile"]
        blobs = {}
        for name, path in paths.items():
            with open(path, "rb") as f:
                blobs[name] = f.read()

        def body(*items):
            return {"instances": [
                {"b64": base64.b64encode(blobs[i] if i in blobs else self.bytes[i]).decode()}
                for i in items]}

        cases = [("20000x20000 PNG (%.2f MB)" % (len(blobs["png_20000x20000"]) / 1e6),
                  body("png_20000x20000"), True),
                 ("[20000x20000 PNG, good 97x61 PNG]", body("png_20000x20000", "small"), True),
                 ("32767x32767 GIF header", body("gif_32767x32767"), True),
                 ("4 KB of random bytes", body("random_bytes"), False)]
        if warm:
            cases = cases[:1]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for i, (what, b, mentions_limit) in enumerate(cases):
            code, doc, dt = self.predict(b)
            err = doc.get("error", "") if isinstance(doc, dict) else ""
            limit_named = str(self.max_pixels) in err and "pixels" in err
            bound = HOSTILE_WARM_S if (warm or i > 0) else HOSTILE_COLD_S
            good = code == 400 and set(doc) == {"error"} and dt < bound and (
                limit_named or not mentions_limit)
            self.report(good, "d. hostile %s%s: status %d in %.2f s (limit %.0f s)%s; error: %s" % (
                what, " (warm)" if warm else " (first request of the process)" if i == 0 else "",
                code, dt, bound, "" if limit_named or not mentions_limit
                else "; error text does NOT name the %d-pixel limit" % self.max_pixels,
                err[:160].replace("\n", " ")))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if not warm:
            rise = (after - before) / 1024.0
            self.report(rise < RSS_LIMIT_MB, "d. peak RSS over the hostile requests: %.0f MB -> "
                        "%.0f MB, +%.1f MB (limit %d MB)" % (before / 1024.0, after / 1024.0, rise,
                                                             RSS_LIMIT_MB))

    # -- a, b, c ---------------------------------------------------------------------------

    def row_single(self):
        for name in SINGLES:
            code, doc, dt = self.predict({"instances": [self.b64(name)]})
            pngs = self.served_pngs(code, doc, "predictions", 1, "a. row 1 image %s" % name)
            if pngs:
                self.single_answers[name] = (code, doc)
                self.check_mask_png(name, pngs[0], "a. row 1 image, status 200 in %.2f s," % dt)

    def row_multi(self, names):
        code, doc, dt = self.predict({"instances": [self.b64(n) for n in names]})
        what = "b. row %d images in one request (%s)" % (len(names), ", ".join(
            "%dx%d %s" % (self.images[n]["width"], self.images[n]["height"],
                          self.images[n]["kind"].upper()) for n in names))
        pngs = self.served_pngs(code, doc, "predictions", len(names), what)
        if pngs:
            self.report(True, "%s: status 200 in %.2f s" % (what, dt))
            for name, data in zip(names, pngs):
                self.check_mask_png(name, data, "b.   row batch:")

    def columnar(self):
        code, doc, dt = self.predict({"inputs": [self.b64(n) for n in COLUMNAR]})
        what = "b. columnar {\"inputs\": [%s]}" % ", ".join(COLUMNAR)
        pngs = self.served_pngs(code, doc, "outputs", len(COLUMNAR), what)
        if pngs:
            self.report(True, "%s: status 200 in %.2f s" % (what, dt))
            self.columnar_pngs = dict(zip(COLUMNAR, pngs))
            for name, data in self.columnar_pngs.items():
                self.check_mask_png(name, data, "b.   columnar:")
            if "small" in self.single_answers:
                single = base64.b64decode(self.single_answers["small"][1]["predictions"][0]["b64"])
                self.report(single == self.columnar_pngs["small"],
                            "b.   columnar answer for small: same PNG bytes as the row answer: "
                            "%s" % (single == self.columnar_pngs["small"]))

    def predict_images(self):
        arrays = {n: np.array(Image.open(self.images[n]["path"]).convert("RGB")) for n in PAIR}
        for names in ([PAIR[0]], PAIR):
            body = {"signature_name": "predict_images",
                    "instances": [arrays[n].tolist() for n in names]}
            code, doc, dt = self.predict(body)
            what = "b. predict_images row %d x %s" % (len(names), "x".join(
                str(d) for d in arrays[names[0]].shape))
            preds = doc.get("predictions") if code == 200 and isinstance(doc, dict) else None
            if not isinstance(preds, list) or len(preds) != len(names):
                self.report(False, "%s: status %d, %s" % (what, code, json.dumps(doc)[:300]))
                continue
            for name, pred in zip(names, preds):
                ids = np.array(pred)
                shape_ok = ids.shape == arrays[name].shape[:2] and ids.dtype.kind == "i"
                same, detail = self.compare_java(name, ids.astype(np.int32)) if shape_ok else (
                    False, "")
                self.report(shape_ok and same, "%s: status 200 in %.2f s, %s semantic %s int; %s"
                            % (what, dt, name, "x".join(map(str, ids.shape)), detail))

    def predict_probabilities(self):
        name = PAIR[0]
        rgb = np.array(Image.open(self.images[name]["path"]).convert("RGB"))
        code, doc, dt = self.predict({"signature_name": "predict_probabilities",
                                      "instances": [rgb.tolist()]})
        what = "b. predict_probabilities row 1 x %s" % "x".join(map(str, rgb.shape))
        preds = doc.get("predictions") if code == 200 and isinstance(doc, dict) else None
        if not (isinstance(preds, list) and len(preds) == 1 and isinstance(preds[0], dict)
                and set(preds[0]) == {"semantic", "probabilities"}):
            self.report(False, "%s: status %d, %s" % (what, code, json.dumps(doc)[:300]))
            return
        sem = np.array(preds[0]["semantic"])
        prob = np.array(preds[0]["probabilities"], dtype=np.float64)
        c = len(self.colors)
        shapes_ok = sem.shape == rgb.shape[:2] and prob.shape == rgb.shape[:2] + (c,)
        if not shapes_ok:
            self.report(False, "%s: semantic %s, probabilities %s, expected %s and %s" % (
                what, sem.shape, prob.shape, rgb.shape[:2], rgb.shape[:2] + (c,)))
            return
        sums = np.abs(prob.sum(-1) - 1).max()
        arg = prob.argmax(-1)
        picked = np.take_along_axis(prob, sem[..., None], -1)[..., 0]
        ties = arg != sem
        tie_ok = bool((prob.max(-1) - picked)[ties].max() <= 1e-6) if ties.any() else True
        same, detail = self.compare_java(name, sem.astype(np.int32))
        jd = float(np.abs(prob - self.java[name][1]).max())
        good = sums <= PROB_TOL and tie_ok and same and jd <= JAVA_PROB_TOL
        self.report(good, "%s: status 200 in %.2f s, probabilities %s, max |sum - 1| %.1e, "
                    "argmax != semantic at %d pixels%s, max |probability - Java's| %.1e (limit %g); "
                    "semantic %s" % (what, dt, "x".join(map(str, prob.shape)), sums,
                                     int(ties.sum()), " (printed-value ties)" if ties.any() and
                                     tie_ok else "" if tie_ok else " (NOT ties)", jd,
                                     JAVA_PROB_TOL, detail))

    def batching(self):
        if len(self.single_answers) != len(SINGLES):
            self.report(False, "c. predict_batch: skipped, the single-image answers failed")
            return
        bodies = [json.dumps({"instances": [self.b64(n)]}) for n in SINGLES]
        t = time.monotonic()
        results = self.rs.predict_batch(self.model, bodies)
        dt = time.monotonic() - t
        for name, (code, text) in zip(SINGLES, results):
            doc = json.loads(text)
            alone = self.single_answers[name][1]
            same = code == 200 and doc == alone
            detail = "identical to the answer served alone"
            if code == 200 and not same:
                pngs = self.served_pngs(code, doc, "predictions", 1, "c. predict_batch " + name)
                if not pngs:
                    continue
                ids = self.check_mask_png(name, pngs[0], "c.   predict_batch answer:")
                single = self.check_mask_png(name, base64.b64decode(
                    alone["predictions"][0]["b64"]), "c.   (served alone)")
                if ids is None or single is None:
                    continue
                same, detail = self.compare_ids(name, ids, single, "the answer served alone")
                detail = "PNG bytes differ from the answer served alone; class ids " + detail
            self.report(same, "c. predict_batch of %s: answer for %s %dx%d: status %d, %s "
                        "(batch of 2 in %.2f s)" % (
                            "+".join(SINGLES), name, self.images[name]["width"],
                            self.images[name]["height"], code, detail, dt))

    # -- e. warmup -------------------------------------------------------------------------

    def warmup(self):
        tf = self.tf
        path = os.path.join(self.job["version"], "assets.extra", "tf_serving_warmup_requests")
        if not os.path.isfile(path):
            self.report(False, "e. warmup: %s is missing" % path)
            return
        from tensorflow.core.framework import tensor_pb2
        PredictionLog = prediction_log_class()
        try:
            records = [r.numpy() for r in tf.data.TFRecordDataset(path)]
        except tf.errors.OpError as err:
            self.report(False, "e. warmup: TFRecordDataset cannot read %s: %s" % (path, err))
            return
        self.report(len(records) > 0, "e. warmup file: %d TFRecord records, CRCs verified, "
                    "%d bytes" % (len(records), os.path.getsize(path)))
        seen = []
        for i, rec in enumerate(records):
            log = PredictionLog.FromString(rec)
            req = log.predict_log.request
            name = req.model_spec.signature_name or "serving_default"
            seen.append(name)
            unknown = unknown_field_count(log)
            if not log.HasField("predict_log") or name not in self.model.signatures:
                self.report(False, "e. warmup record %d: predict_log %s, signature %r %s" % (
                    i, log.HasField("predict_log"), name, "exists" if name in
                    self.model.signatures else "NOT in the model"))
                continue
            fn = self.model.signatures[name]
            specs = fn.structured_input_signature[1]
            try:
                arrays = {k: tf.make_ndarray(tensor_pb2.TensorProto.FromString(
                    v.SerializeToString())) for k, v in req.inputs.items()}
            except Exception as err:  # noqa: BLE001
                self.report(False, "e. warmup record %d (%s): make_ndarray fails: %r" % (
                    i, name, err))
                continue
            keys_ok = set(arrays) == set(specs) and all(
                arrays[k].dtype == specs[k].dtype.as_numpy_dtype for k in arrays) and all(
                specs[k].shape.is_compatible_with(arrays[k].shape) for k in arrays)
            t = time.monotonic()
            try:
                out = fn(**{k: tf.constant(v) for k, v in arrays.items()})
                err = None
            except Exception as e:  # noqa: BLE001
                out, err = {}, e
            dt = time.monotonic() - t
            batch = {a.shape[0] for a in arrays.values() if a.ndim}
            out_ok = err is None and len(out) > 0 and all(
                v.shape[0] in batch for v in out.values())
            detail = ""
            if err is None and "semantic_png_bytes" in out:
                sizes = []
                for enc, png in zip(arrays["image_bytes"], out["semantic_png_bytes"].numpy()):
                    a, b = Image.open(io.BytesIO(enc)).size, Image.open(io.BytesIO(png)).size
                    sizes.append("%dx%d" % a)
                    out_ok &= a == b
                detail = ", mask sizes = image sizes %s" % " ".join(sizes)
            self.report(keys_ok and out_ok and unknown == 0 and bool(req.model_spec.name),
                        "e. warmup record %d: model %r, signature %s, inputs %s, %d unknown "
                        "fields; replayed in %.2f s: %s%s" % (
                            i, req.model_spec.name, name, ", ".join(
                                "%s %s %s" % (k, v.dtype, list(v.shape))
                                for k, v in sorted(arrays.items())),
                            unknown, dt, "outputs " + ", ".join(
                                "%s %s" % (k, list(v.shape)) for k, v in sorted(out.items()))
                            if err is None else "FAILED: %r" % err, detail))
        want = sorted(self.model.signatures.keys())
        self.report(sorted(seen) == want, "e. warmup: one record per signature: records for %s, "
                    "signatures %s" % (sorted(seen), want))

    # -- all -------------------------------------------------------------------------------

    def run(self):
        tf = self.tf
        version = self.job["version"]
        with open(os.path.join(version, "assets", "deeplab_model.json")) as f:
            info = json.load(f)
        self.colors = info.get("colors", [])
        self.max_pixels = info.get("serving", {}).get("max_pixels")
        nclass = info["config"]["num_classes"]
        self.crop = (info["config"]["crop_height"], info["config"]["crop_width"])
        self.report(len(self.colors) == nclass == len(info.get("class_names", [])) and
                    self.max_pixels == 67108864,
                    "assets/deeplab_model.json: %d classes, %d class names, %d colours, "
                    "max_pixels %s" % (nclass, len(info.get("class_names", [])), len(self.colors),
                                       self.max_pixels))
        t = time.monotonic()
        self.model = tf.saved_model.load(version)
        print("     %s loaded %s with tf.saved_model.load (tf %s) in %.1f s; signatures %s" % (
            self.where, version, tf.__version__, time.monotonic() - t,
            sorted(self.model.signatures.keys())), flush=True)
        rest = [n for n in self.java if n not in SINGLES + PAIR[:1]]
        steps = [("d. hostile input", self.hostile), ("a. row, one image", self.row_single),
                 ("b. row, several images", lambda: self.row_multi(
                     rest + (FORMATS if self.job["formats"] else []))),
                 ("b. columnar", self.columnar), ("b. predict_images", self.predict_images),
                 ("b. predict_probabilities", self.predict_probabilities),
                 ("c. server-side batching", self.batching), ("e. warmup", self.warmup),
                 ("d. hostile input, warm", lambda: self.hostile(warm=True))]
        for what, step in steps:
            with open(self.job["step_file"], "w") as f:
                f.write(what)
            try:
                step()
            except Exception:  # noqa: BLE001 - a broken step fails, the others still run
                self.report(False, "%s: the check itself raised: %s" % (
                    what, traceback.format_exc().strip().replace("\n", " | ")[-700:]))
        return 0 if self.ok else 1


def worker_main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    try:
        return Worker(job).run()
    except Exception:  # noqa: BLE001 - loading failed: report it as a failure line
        print("FAIL [%s, %s] %s" % (job["label"], job["setting"], traceback.format_exc().strip()
                                    .replace("\n", " | ")[-900:]), flush=True)
        return 2


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(worker_main(sys.argv[2]))
    sys.exit(main())
