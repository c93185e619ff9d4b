#!/usr/bin/env python3
"""Import of PyTorch-trained DeepLab models into SavedModels (PyTorch vs Python TF).

For torchvision's deeplabv3_resnet50 (21 classes, with its auxiliary FCNHead) and, when named,
deeplabv3_resnet101 (4 classes), VainF's DeepLabV3+ ResNet-50 (output stride 8, 5 classes) and
MobileNetV2 (output stride 16, 21 classes, saved as VainF's {"model_state": ...} checkpoint with a
numpy best_score), and torchvision's deeplabv3_mobilenet_v3_large (21 classes, with its aux head)
and lraspp_mobilenet_v3_large (3 classes), this

  1. builds the model with torchvision 0.28's own code (tools/torch/torch_setup.py), or VainF's
     with tools/torch/vainf_reference.py, from seeded random weights; gives its batch norms
     non-trivial statistics: the running means and variances of a batch of two real photos (a
     train-mode forward pass), and random scales and shifts of every batch norm's weight and
     bias (applied after the statistics, or before them for STATISTICS_LAST); scales the last conv to logits of standard deviation 4 (as a trained model's: random
     ones are in the hundreds); saves the state dict with torch.save;
  2. computes PyTorch's probabilities, softmax(model(x)["out"]), in eval mode, in float64 from
     the saved float32 weights (the exact values our float32 graph approximates), on real photos
     (examples/photos) resized to even and odd sizes, x normalised with the ImageNet mean and std;
  3. runs `tools/deeplab import --pytorch FILE --arch ... --output <tmp>` (Java);
  4. under each TensorFlow setting (tf_settings.py: Python TF's defaults, oneDNN on, and
     TF_ENABLE_ONEDNN_OPTS=0), loads the SavedModel with tf.saved_model.load and compares its
     predict_probabilities outputs with PyTorch's: max |probability difference| <= 1e-4, class ids
     identical except at near-ties (top-2 probability gap below 1e-4); and serving_default on the
     PNG bytes of all photos in one request (different sizes): its palette PNGs decode to the same
     class ids as predict_probabilities.

Arguments: optionally the architectures to check (default: all). Exit status 1 on any failure. Run by tools/python/run_checks.sh; needs torch and torchvision
(installed from the local index); prints SKIPPED when they cannot be imported, except under CI=true.
"""

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tf_settings  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEEPLAB = os.path.join(ROOT, "tools", "deeplab")
PHOTOS = os.path.join(ROOT, "examples", "photos")
# (photo, height, width): even and odd sizes, landscape and portrait
IMAGES = [("pets.jpg", 120, 160), ("parrot.jpg", 129, 97), ("chelsea.png", 101, 133)]
CASES = [
    # arch, builder, classes, extra import options, saved as VainF's checkpoint
    ("torchvision_deeplabv3_resnet50", ("torchvision", "deeplabv3_resnet50", True), 21, [], False),
    ("vainf_deeplabv3plus_resnet50", ("vainf", "resnet50", 8), 5, ["--output-stride", "8"],
     False),
    ("vainf_deeplabv3plus_mobilenet", ("vainf", "mobilenet", 16), 21, [], True),
    ("torchvision_deeplabv3_mobilenet_v3_large",
     ("torchvision", "deeplabv3_mobilenet_v3_large", True), 21, [], False),
    ("torchvision_lraspp_mobilenet_v3_large", ("torchvision", "lraspp_mobilenet_v3_large", False),
     3, [], False),
]
# Checked only when named on the command line (the test command's time).
NAMED_ONLY = [
    # the same code as resnet50 with more blocks
    ("torchvision_deeplabv3_resnet101", ("torchvision", "deeplabv3_resnet101", False), 4, [],
     False),
]
# Networks whose batch-norm statistics are measured after the random scales and shifts, i.e. of
# the weights in use, as a trained model's are. Measured before (the others), MobileNetV3's
# activations drift far from its running statistics through Hardswish and squeeze-and-excitation
# layer after layer, and the model becomes ill-conditioned in float32: PyTorch's own float32
# probabilities then differ from its float64 ones by up to 6e-4 on these photos, as ours did (up
# to 8e-4; class ids identical). Measured after, PyTorch's float32 error is below 3e-5 for both
# MobileNetV3 networks (VainF's MobileNetV2 goes the other way: 1.2e-4 measured after, 2.7e-5
# before).
STATISTICS_LAST = {"torchvision_deeplabv3_mobilenet_v3_large",
                   "torchvision_lraspp_mobilenet_v3_large"}
LOGIT_STD = 4.0
ONLY = sys.argv[1:]   # optional: the architectures to check (default: all)
TOL = 1e-4
NEAR_TIE = 1e-4


def photos():
    from PIL import Image
    out = []
    for name, h, w in IMAGES:
        img = Image.open(os.path.join(PHOTOS, name)).convert("RGB").resize((w, h),
                                                                          Image.BILINEAR)
        out.append((name, np.asarray(img, dtype=np.uint8)))
    return out


def torch_reference(work, images):
    """Saves each case's state dict and PyTorch's probabilities; returns the jobs."""
    sys.path.insert(0, os.path.join(ROOT, "tools", "torch"))
    from torch_setup import torch, segmentation
    mean = np.array([0.485, 0.456, 0.406])
    std = np.array([0.229, 0.224, 0.225])

    def tensor(img):
        x = (img.astype(np.float64) / 255.0 - mean) / std
        return torch.from_numpy(x.transpose(2, 0, 1)[None].copy())

    from vainf_reference import vainf_deeplabv3plus

    def build(builder, classes):
        if builder[0] == "torchvision":
            extra = {"aux_loss": True} if builder[2] else {}
            return getattr(segmentation, builder[1])(weights=None, weights_backbone=None,
                                                     num_classes=classes, **extra)
        return vainf_deeplabv3plus(builder[1], classes, builder[2])

    def forward(model, x):
        y = model(x)
        return y["out"] if isinstance(y, dict) else y

    jobs = []
    for seed, (arch, builder, classes, options, wrapped) in enumerate(CASES + NAMED_ONLY):
        if (ONLY and arch not in ONLY) or (not ONLY and seed >= len(CASES)):
            continue
        torch.manual_seed(18 + seed)
        model = build(builder, classes).double()
        bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for m in bns:
            m.momentum = None  # cumulative average of the calibration batches
        model.train()
        with torch.no_grad():
            # one batch of two photos (the image-pooling branch's batch norm needs two values)
            from PIL import Image
            h, w = images[0][1].shape[:2]
            second = np.asarray(Image.fromarray(images[1][1]).resize((w, h), Image.BILINEAR))
            calibration = torch.cat([tensor(images[0][1]), tensor(second)])
            if arch not in STATISTICS_LAST:
                model(calibration)
            for m in bns:
                m.weight.mul_(torch.empty_like(m.weight).uniform_(0.5, 1.5))
                m.bias.add_(0.1 * torch.randn_like(m.bias))
            if arch in STATISTICS_LAST:
                model(calibration)
            model.eval()
            # Scale the last layer to logits of standard deviation LOGIT_STD on the calibration
            # photo, as a trained model's (random ones give logits in the hundreds, saturated
            # probabilities and float32 noise far above a trained model's).
            last = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1]
            scale = LOGIT_STD / forward(model, tensor(images[0][1])).std().item()
            last.weight.mul_(scale)
            last.bias.mul_(scale)
        state = os.path.join(work, arch + ".pth")
        model.float()
        sd = model.state_dict()                   # float32, as trained models are
        if wrapped:   # as VainF's main.py saves its checkpoints
            sd = {"cur_itrs": 30000, "model_state": sd, "optimizer_state": {},
                  "best_score": np.float64(0.75)}
        torch.save(sd, state)
        model.double()  # the reference: the same float32 weights, computed in float64
        refs = []
        with torch.no_grad():
            for name, img in images:
                p = torch.softmax(forward(model, tensor(img)), dim=1)[0]
                path = os.path.join(work, "%s_%s.npy" % (arch, name))
                np.save(path, p.numpy().transpose(1, 2, 0))
                refs.append(path)
        var_spread = float(np.mean([m.running_var.std().item() for m in bns]))
        jobs.append({"label": arch, "arch": arch, "state": state, "refs": refs,
                     "options": options, "bn_var_spread": var_spread})
    return jobs


def evaluate(job):
    import tensorflow as tf
    from PIL import Image
    tf_settings.step(job["label"] + ": tf.saved_model.load")
    model = tf.saved_model.load(job["version"])
    probs_fn = model.signatures["predict_probabilities"]
    bytes_fn = model.signatures["serving_default"]
    rows = []
    pngs = []
    sem_all = []
    for (name, img), ref_path in zip(photos(), job["refs"]):
        tf_settings.step(job["label"] + ": predict_probabilities " + name)
        out = probs_fn(images=tf.constant(img[None]))
        p = out["probabilities"].numpy()[0]
        sem = out["semantic"].numpy()[0]
        ref = np.load(ref_path)
        top2 = np.sort(ref, axis=-1)[..., -2:]
        tie = (top2[..., 1] - top2[..., 0]) < NEAR_TIE
        ref_ids = ref.argmax(-1)
        rows.append({"image": name, "size": list(img.shape[:2]),
                     "max_abs": float(np.abs(p - ref).max()),
                     "sem_diff": int((sem != ref_ids).sum()),
                     "bad": int(((sem != ref_ids) & ~tie).sum()),
                     "ties": int(tie.sum()), "classes": int(len(np.unique(ref_ids))),
                     "mean_top": float(ref.max(-1).mean())})
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        pngs.append(buf.getvalue())
        sem_all.append(sem)
    tf_settings.step(job["label"] + ": serving_default on %d PNGs" % len(pngs))
    masks = bytes_fn(image_bytes=tf.constant(pngs))["semantic_png_bytes"].numpy()
    png_diff = 0
    for m, sem in zip(masks, sem_all):
        ids = np.asarray(Image.open(io.BytesIO(m)))  # palette indices (mode P)
        png_diff += int((ids != sem).sum()) if ids.shape == sem.shape else sem.size
    return {"rows": rows, "png_diff": png_diff}


def main():
    start = time.monotonic()
    probe = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r); "
                            "import torch_setup" % os.path.join(ROOT, "tools", "torch")],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["?"])[-1]
        if os.environ.get("CI") == "true":
            print("check_pytorch_import: FAILED: torch/torchvision do not import: " + reason)
            return 1
        print("SKIPPED: check_pytorch_import: torch/torchvision do not import: " + reason)
        return 0
    failures = []
    work = tempfile.mkdtemp(prefix="deeplab_pytorch_import_")
    try:
        images = photos()
        t0 = time.time()
        jobs = torch_reference(work, images)
        print("     PyTorch: %d models, %d photos in %.0fs" % (len(jobs), len(images),
                                                             time.time() - t0))
        ready = []
        for job in jobs:
            out = os.path.join(work, "saved_" + job["arch"])
            t0 = time.time()
            p = subprocess.run([DEEPLAB, "import", "--pytorch", job["state"], "--arch",
                                job["arch"], "--output", out] + job["options"],
                               capture_output=True, text=True, env=tf_settings.java_env())
            if p.returncode != 0:
                failures.append(job["label"])
                print("FAIL %s: import exited %d: %s" % (job["label"], p.returncode,
                                                          p.stderr.strip()[-500:]))
                continue
            print("ok   %s: import %.0fs: %s (batch-norm variance spread %.3g)" % (
                job["label"], time.time() - t0, p.stdout.strip().splitlines()[1],
                job["bn_var_spread"]), flush=True)
            job["version"] = os.path.join(out, "1")
            ready.append(job)
        for setting, value in tf_settings.SETTINGS:
            run = tf_settings.run_setting(__file__, "evaluate", ready, setting, value)
            if not run.setting_ok:
                failures.append(run.setting)
            for job, outcome in zip(ready, run.outcomes):
                where = "%s %s" % (tf_settings.tag(run.setting), job["label"])
                if outcome.failure:
                    failures.append(where)
                    print(tf_settings.failure_line(run.setting, job["label"], outcome.failure))
                    continue
                r = outcome.result
                for row in r["rows"]:
                    ok = row["max_abs"] <= TOL and row["bad"] == 0
                    print("%s %s %s %dx%d: max |p - p_torch| %.2g; class ids differ at %d "
                          "pixels (%d near-ties, %d outside them); %d classes, mean top "
                          "probability %.3f" % (tf_settings.status(ok), where, row["image"],
                                                row["size"][0], row["size"][1], row["max_abs"],
                                                row["sem_diff"], row["ties"], row["bad"],
                                                row["classes"], row["mean_top"]))
                    if not ok:
                        failures.append(where + " " + row["image"])
                ok = r["png_diff"] == 0
                print("%s %s serving_default (%d PNGs of different sizes in one request): "
                      "masks differ from predict_probabilities' class ids at %d pixels"
                      % (tf_settings.status(ok), where, len(r["rows"]), r["png_diff"]),
                      flush=True)
                if not ok:
                    failures.append(where + " serving_default")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("check_pytorch_import: FAILED: " + ", ".join(failures))
        return 1
    print("check_pytorch_import: %d PyTorch models match PyTorch under %s (%.0f s)" % (
        len(ONLY or CASES), " and ".join(s for s, _ in tf_settings.SETTINGS),
        time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
