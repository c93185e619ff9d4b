#!/usr/bin/env python3
"""The PNGs `deeplab segment` writes (our own encoder, dev.deeplab.image.PngEncoder), read by PIL.

Runs `tools/deeplab segment --json` once on the photos of examples/photos/ (the bundled model) and
checks each photo's outputs with Python alone:

  1. every chunk's CRC-32 (zlib.crc32), the chunk order IHDR [PLTE] IDAT... IEND, and the IDAT
     zlib stream inflated by Python's zlib to exactly height * (1 + row bytes);
  2. <stem>_mask.png: PIL mode 'P' at the photo's size; its palette's first 21 colours are PASCAL
     VOC's, computed here by the bit-interleaving of the official create_pascal_label_colormap
     (research/deeplab/utils/get_dataset_colormap.py); its per-class pixel counts are the report's;
  3. <stem>_overlay.png: PIL mode 'RGB', equal to the overlay recomputed here from the photo as PIL
     decodes it and the mask as PIL decodes it: round(0.5 * photo + 0.5 * colour), background
     (class 0) left as it is.

Exit status 1 on any failure. Run by tools/python/run_checks.sh with cwd = repository root.
"""

import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image

DEEPLAB = os.path.join("tools", "deeplab")


def voc_colormap(n):
    """create_pascal_label_colormap: bits of the class id spread over the channels' high bits."""
    cmap = np.zeros((n, 3), dtype=np.int64)
    ind = np.arange(n, dtype=np.int64)
    for shift in reversed(range(8)):
        for channel in range(3):
            cmap[:, channel] |= ((ind >> channel) & 1) << shift
        ind >>= 3
    return cmap


def chunks(path):
    """The chunk types, IHDR's fields and the inflated IDAT stream; fails on a bad CRC."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("%s: no PNG signature" % path)
    at, types, idat, ihdr = 8, [], b"", None
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind = data[at + 4:at + 8]
        body = data[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise AssertionError("%s: bad CRC in a %s chunk" % (path, kind.decode()))
        types.append(kind.decode())
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    return types, ihdr, zlib.decompress(idat)


def check_structure(path, width, height, colour_type):
    types, ihdr, raw = chunks(path)
    expected_head = ["IHDR", "PLTE"] if colour_type == 3 else ["IHDR"]
    middle = types[len(expected_head):-1]
    if types[:len(expected_head)] != expected_head or types[-1] != "IEND" or not middle \
            or set(middle) != {"IDAT"}:
        raise AssertionError("%s: chunks %s" % (path, types))
    if ihdr != (width, height, 8, colour_type, 0, 0, 0):
        raise AssertionError("%s: IHDR %s" % (path, ihdr))
    row = width * (3 if colour_type == 2 else 1)
    if len(raw) != height * (1 + row):
        raise AssertionError("%s: %d bytes inflated, %d expected" % (path, len(raw),
                                                                    height * (1 + row)))


def main():
    photos = sorted(p for p in glob.glob("examples/photos/*") if p.endswith((".jpg", ".png")))
    out = tempfile.mkdtemp(prefix="check_png_writer_")
    try:
        p = subprocess.run([DEEPLAB, "segment", "--json", "-o", out] + photos,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise SystemExit("tools/deeplab segment failed (%d): %s" % (p.returncode,
                                                                        p.stderr[-2000:]))
        report = json.loads(p.stdout[p.stdout.index("{"):])
        colours = voc_colormap(256)
        failures = 0
        for entry in report["images"]:
            photo = np.asarray(Image.open(entry["image"]).convert("RGB")).astype(np.int64)
            h, w = photo.shape[:2]
            mask_path, overlay_path = entry["outputs"]["mask"], entry["outputs"]["overlay"]
            try:
                check_structure(mask_path, w, h, 3)
                check_structure(overlay_path, w, h, 2)
                mask_image = Image.open(mask_path)
                if mask_image.mode != "P" or mask_image.size != (w, h):
                    raise AssertionError("mask is %s %s" % (mask_image.mode, mask_image.size))
                palette = np.array(mask_image.getpalette()[:21 * 3]).reshape(21, 3)
                if not np.array_equal(palette, colours[:21]):
                    raise AssertionError("mask palette is not PASCAL VOC's")
                mask = np.asarray(mask_image).astype(np.int64)
                counts = {c["id"]: c["pixels"] for c in entry["classes"]}
                found = {int(c): int(n) for c, n in zip(*np.unique(mask, return_counts=True))}
                if found != counts:
                    raise AssertionError("mask counts %s, report %s" % (found, counts))
                overlay_image = Image.open(overlay_path)
                if overlay_image.mode != "RGB":
                    raise AssertionError("overlay mode %s" % overlay_image.mode)
                blended = np.floor(0.5 * photo + 0.5 * colours[mask] + 0.5).astype(np.int64)
                expected = np.where(mask[..., None] == 0, photo, blended)
                overlay = np.asarray(overlay_image).astype(np.int64)
                if not np.array_equal(overlay, expected):
                    raise AssertionError("overlay differs from the recomputed one at %d values "
                                         "(max %d)" % (np.sum(overlay != expected),
                                                       np.abs(overlay - expected).max()))
                print("OK   %s (%dx%d): mask and overlay PNGs read by PIL as expected, classes %s"
                      % (entry["image"], w, h, sorted(counts)))
            except AssertionError as e:
                failures += 1
                print("FAIL %s: %s" % (entry["image"], e))
        if len(report["images"]) != len(photos):
            failures += 1
            print("FAIL: %d photos, %d reported" % (len(photos), len(report["images"])))
        print("check_png_writer: %s" % ("FAILED" if failures else "all %d photos OK"
                                        % len(photos)))
        return 1 if failures else 0
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
