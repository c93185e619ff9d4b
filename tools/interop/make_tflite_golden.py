#!/usr/bin/env python3
"""Makes the TF Lite agreement fixtures in deeplab-core/src/test/resources/tflite-golden/ (run by hand).

For a few bundled photos and the 4 voc-mini val images this writes

  images/<name>.png         the exact 513x513 RGB input, 8-bit PNG (photos: centre-cropped to a
                            square and resized to 513x513 once, with PIL's bicubic filter;
                            voc-mini: the JPEG as PIL decodes it, stored losslessly because
                            JPEG decoders differ between PIL/libjpeg and Java ImageIO)
  dm10/<name>.png           the argmax of the ORIGINAL quantised depth-multiplier-1.0 .tflite file,
  dm05/<name>.png           ... and of the depth-multiplier-0.5 file, run by tf.lite.Interpreter;
                            palette PNGs with the VOC colour map, pixel value = class id
  manifest.json             names, sources, models and class histograms

The inputs are exactly the TFLite input size, so the official preprocessing is only the uint8
quantisation (scale 1/128, zero point 128) that the file itself applies: the float SavedModel
and the quantised original see the same pixels. PretrainedAgreementTest (Java) and
check_tflite_agreement.py (Python, live) compare our float models against these maps.

Usage: python tools/interop/make_tflite_golden.py   (cwd = repository root; Python TF 2.21)
"""

import json
import os
import sys

import numpy as np
from PIL import Image
import tensorflow as tf

SIZE = 513
PHOTOS = ["astronaut.png", "chelsea.png", "owl.jpg", "pets.jpg"]
PHOTO_DIR = "examples/photos"
VOC_DIR = "deeplab-core/src/test/resources/voc-mini/JPEGImages"
MODEL_DIR = "deeplab-core/src/test/resources/dev/deeplab/models"
MODELS = {
    "dm10": "deeplabv3_mnv2_pascal_quant.tflite",
    "dm05": "deeplabv3_mnv2_dm05_pascal_quant.tflite",
}
OUT = "deeplab-core/src/test/resources/tflite-golden"


def voc_palette(n=256):
    """The PASCAL VOC colour map (bit-interleaved class id)."""
    pal = []
    for i in range(n):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


def square_513(path):
    """A photo centre-cropped to a square and resized to 513x513 (bicubic); 513x513 kept as is."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if (w, h) == (SIZE, SIZE):
        return im
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    return im.crop((left, top, left + s, top + s)).resize((SIZE, SIZE), Image.BICUBIC)


def run_tflite(interpreter, rgb):
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    assert tuple(inp["shape"]) == (1, SIZE, SIZE, 3) and inp["dtype"] == np.uint8, inp
    interpreter.set_tensor(inp["index"], rgb[None])
    interpreter.invoke()
    ids = interpreter.get_tensor(out["index"])
    return ids.reshape(SIZE, SIZE)


def main():
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    sources = [(os.path.splitext(p)[0], os.path.join(PHOTO_DIR, p)) for p in PHOTOS]
    sources += [(os.path.splitext(p)[0], os.path.join(VOC_DIR, p))
                for p in sorted(os.listdir(VOC_DIR)) if p.endswith(".jpg")]
    images = {}
    for name, path in sources:
        im = square_513(path)
        im.save(os.path.join(OUT, "images", name + ".png"), optimize=True)
        # Re-read what was written: the fixture is the truth, not the in-memory image.
        written = Image.open(os.path.join(OUT, "images", name + ".png"))
        images[name] = np.asarray(written.convert("RGB"))
    palette = voc_palette()
    manifest = {"size": SIZE, "images": {n: p for n, p in sources}, "models": MODELS,
                "histograms": {}}
    for key, file in MODELS.items():
        os.makedirs(os.path.join(OUT, key), exist_ok=True)
        interpreter = tf.lite.Interpreter(model_path=os.path.join(MODEL_DIR, file), num_threads=2)
        interpreter.allocate_tensors()
        manifest["histograms"][key] = {}
        for name, rgb in images.items():
            ids = run_tflite(interpreter, rgb)
            assert ids.min() >= 0 and ids.max() < 21, (name, ids.min(), ids.max())
            mask = Image.fromarray(ids.astype(np.uint8), mode="P")
            mask.putpalette(palette)
            mask.save(os.path.join(OUT, key, name + ".png"), optimize=True)
            hist = np.bincount(ids.ravel(), minlength=21)
            manifest["histograms"][key][name] = {str(c): int(n) for c, n in enumerate(hist) if n}
            print(f"{key} {name}: classes {sorted(int(c) for c in np.nonzero(hist)[0])}")
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    sys.exit(main())
