#!/usr/bin/env python3
"""TensorBoard event files of `deeplab train` and `deeplab eval --watch`, read by Python TF 2.21.

  1. runs `tools/deeplab train` for 2 steps of a tiny MobileNetV2 on voc-mini downscaled to the
     65x65 crop (so that crops show objects), a checkpoint every step, image summaries every 2
     steps, label set pascal_voc;
  2. runs `tools/deeplab eval --model <checkpoint dir> --watch --json`, which evaluates both
     checkpoints and stops after the final step's, printing one JSON report per checkpoint;
  3. reads every event file with tf.compat.v1.train.summary_iterator (which checks each record's
     CRCs) and checks:
     - eval/: the official tags eval/miou_1.0_overall and eval/miou_1.0_class_<c> for c in 0..20
       at steps 1 and 2 exactly; the overall value is the printed mean_iou, and each class value
       is TP / (TP + FP + FN) from the printed counts (NaN when the class has no label pixel),
       as float32;
     - the training events: loss at the final step 2; samples/image, samples/label and
       samples/prediction at step 2 only, 65x65 RGB as tf.io.decode_png decodes them; the label
       and prediction pixels are colours of the PASCAL VOC colour map (computed here from its
       definition), the label showing more than one colour.

Exit status 1 on any failure. Run by tools/python/run_checks.sh (cwd = repository root).
"""

import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tf_settings  # noqa: E402
from make_tflite_golden import voc_palette  # noqa: E402

DEEPLAB = os.path.join("tools", "deeplab")
VOC_MINI = "deeplab-core/src/test/resources/voc-mini"
CROP = 65
CLASSES = 21


def downscaled_voc_mini(root):
    """voc-mini with images (bilinear) and labels (nearest) resized to CROP x CROP."""
    from PIL import Image
    ids = open(os.path.join(VOC_MINI, "ImageSets/Segmentation/train.txt")).read().split()
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        os.makedirs(os.path.join(root, sub))
    for i in ids:
        image = Image.open(os.path.join(VOC_MINI, "JPEGImages", i + ".jpg")).convert("RGB")
        image.resize((CROP, CROP), Image.BILINEAR).save(os.path.join(root, "JPEGImages", i + ".png"))
        label = Image.open(os.path.join(VOC_MINI, "SegmentationClass", i + ".png"))
        label.resize((CROP, CROP), Image.NEAREST).save(
            os.path.join(root, "SegmentationClass", i + ".png"))
    for split in ("train", "val"):
        with open(os.path.join(root, "ImageSets/Segmentation", split + ".txt"), "w") as f:
            f.write("\n".join(ids) + "\n")
    return root


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, env=tf_settings.java_env())
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(cmd[:2]), p.returncode,
                                                  p.stderr.strip()[-800:]))
    return p.stdout


def events(directory):
    import tensorflow as tf
    out = []
    for f in sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*"))):
        out.extend(tf.compat.v1.train.summary_iterator(f))
    return out


def check_eval(eval_dir, reports, failures):
    scalars = {}
    for e in events(eval_dir):
        for v in e.summary.value:
            scalars.setdefault(e.step, {})[v.tag] = v.simple_value
    expected_tags = {"eval/miou_1.0_overall"} | {
        "eval/miou_1.0_class_%d" % c for c in range(CLASSES)}
    if sorted(scalars) != [1, 2]:
        failures.append("eval steps %s, expected [1, 2]" % sorted(scalars))
        return
    for report in reports:
        step = report["step"]
        got = scalars[step]
        if set(got) != expected_tags:
            failures.append("step %d: tags %s" % (step, sorted(set(got) ^ expected_tags)))
            continue
        if got["eval/miou_1.0_overall"] != np.float32(report["mean_iou"]):
            failures.append("step %d: miou %r, printed %r" % (
                step, got["eval/miou_1.0_overall"], report["mean_iou"]))
        for c in report["classes"]:
            tp, fp, fn = c["true_positives"], c["false_positives"], c["false_negatives"]
            want = np.float32("nan") if tp + fn == 0 else np.float32(tp / (tp + fp + fn))
            value = np.float32(got["eval/miou_1.0_class_%d" % c["id"]])
            if not (value == want or (np.isnan(value) and np.isnan(want))):
                failures.append("step %d class %d: %r, expected %r" % (step, c["id"], value, want))
        print("ok   eval step %d: eval/miou_1.0_overall %.4f = printed mIoU, %d class IoUs" % (
            step, got["eval/miou_1.0_overall"], CLASSES))


def check_training(run_dir, failures):
    import tensorflow as tf
    flat = voc_palette()
    palette = {tuple(flat[i:i + 3]) for i in range(0, len(flat), 3)}
    losses = {}
    images = {}
    for e in events(run_dir):
        for v in e.summary.value:
            if v.tag == "loss":
                losses[e.step] = v.simple_value
            elif v.HasField("image"):
                images[(e.step, v.tag)] = v.image
    if 2 not in losses:
        failures.append("no loss at the final step 2 (steps %s)" % sorted(losses))
    tags = ["samples/image", "samples/label", "samples/prediction"]
    if sorted(images) != [(2, t) for t in tags]:
        failures.append("images %s, expected %s at step 2" % (sorted(images), tags))
        return
    for tag in tags:
        image = images[(2, tag)]
        pixels = tf.io.decode_png(image.encoded_image_string, channels=3).numpy()
        if pixels.shape != (CROP, CROP, 3) or (image.height, image.width) != (CROP, CROP):
            failures.append("%s: shape %s (header %dx%d)" % (tag, pixels.shape, image.width,
                                                             image.height))
            continue
        colors = {tuple(int(x) for x in p) for p in pixels.reshape(-1, 3)}
        if tag == "samples/image":
            ok = len(colors) > 1
        else:
            ok = colors <= palette and (tag != "samples/label" or len(colors) > 1)
        if not ok:
            failures.append("%s: colours %s" % (tag, sorted(colors)[:10]))
        else:
            print("ok   %s at step 2: %dx%d, %d colours%s" % (
                tag, CROP, CROP, len(colors),
                "" if tag == "samples/image" else ", all of the VOC colour map"))


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="deeplab-events-") as work:
        run_dir = os.path.join(work, "run")
        data = downscaled_voc_mini(os.path.join(work, "voc"))
        run([DEEPLAB, "train", "--variant", "mobilenet_v2", "--depth-multiplier", "0.25",
             "--data", data, "--labels", "pascal_voc", "--batch-size", "2",
             "--crop-size", str(CROP), "--steps", "2", "--checkpoint-every", "1",
             "--image-summaries-every", "2", "--checkpoint-dir", run_dir, "--seed", "1"])
        out = run([DEEPLAB, "eval", "--model", run_dir, "--data", VOC_MINI, "--watch",
                   "--interval", "0.1", "--json"])
        reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        if [r["step"] for r in reports] != [1, 2]:
            failures.append("eval --watch printed steps %s" % [r["step"] for r in reports])
        else:
            check_eval(os.path.join(run_dir, "eval"), reports, failures)
        check_training(run_dir, failures)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
