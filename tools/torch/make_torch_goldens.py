"""Golden outputs of PyTorch segmentation networks for deeplab-core's TorchGoldenTest.

For each case, builds the model with torchvision's own code (tools/torch/torch_setup.py), or
VainF's DeepLabV3+ with tools/torch/vainf_reference.py, sets
every parameter and buffer of its state dict by the shared formula of tools/reference/deeplab_net.py
(FNV-1a + splitmix64 of the state-dict name, element i in PyTorch's own OIHW order):

  conv / linear weight   s * sqrt(6 / fan_in), fan_in = in_channels/groups * kh * kw
  bias, running_mean     0.1 * s
  BN weight, running_var 1 + 0.25 * s
  num_batches_tracked    left as it is (not read)

with s = 2u - 1 in [-1, 1), runs it in eval mode in float64 on formula_image(h, w) (pixels 0..255)
normalised with the ImageNet mean and std, and writes model(x)["out"] (logits upsampled to the
input size, align_corners=False; VainF's models return them directly) as float32 NHWC:

  deeplab-core/src/test/resources/torch-golden/<case>.npy

The Java test sets the same weights from the same formula, converting OIHW to HWIO as the importer
does, so a mistake in the layout conversion, the names or the network shows as different logits.

Run: .venv/bin/python tools/torch/make_torch_goldens.py   (about a minute; deterministic)
"""

import math
import os
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "reference"))
from torch_setup import torch, segmentation  # noqa: E402
from deeplab_net import formula_uniform, formula_image  # noqa: E402
from vainf_reference import vainf_deeplabv3plus  # noqa: E402

OUT = HERE.parents[1] / "deeplab-core/src/test/resources/torch-golden"
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])

# (case, constructor, kwargs, height, width)
def torchvision_model(build):
    return lambda **kw: build(weights=None, weights_backbone=None, aux_loss=False, **kw)


def vainf_model(backbone, output_stride):
    return lambda num_classes: vainf_deeplabv3plus(backbone, num_classes, output_stride)


CASES = [
    ("torchvision_deeplabv3_resnet50_c3_37x45",
     torchvision_model(segmentation.deeplabv3_resnet50), dict(num_classes=3), 37, 45),
    ("torchvision_deeplabv3_resnet101_c2_33x40",
     torchvision_model(segmentation.deeplabv3_resnet101), dict(num_classes=2), 33, 40),
    ("torchvision_deeplabv3_mobilenet_v3_large_c3_37x45",
     torchvision_model(segmentation.deeplabv3_mobilenet_v3_large), dict(num_classes=3), 37, 45),
    ("torchvision_lraspp_mobilenet_v3_large_c4_41x34",
     torchvision_model(segmentation.lraspp_mobilenet_v3_large), dict(num_classes=4), 41, 34),
    ("vainf_deeplabv3plus_resnet50_os16_c3_37x45", vainf_model("resnet50", 16),
     dict(num_classes=3), 37, 45),
    ("vainf_deeplabv3plus_resnet101_os8_c2_33x40", vainf_model("resnet101", 8),
     dict(num_classes=2), 33, 40),
    ("vainf_deeplabv3plus_mobilenet_os16_c3_37x45", vainf_model("mobilenet", 16),
     dict(num_classes=3), 37, 45),
    ("vainf_deeplabv3plus_mobilenet_os8_c4_41x34", vainf_model("mobilenet", 8),
     dict(num_classes=4), 41, 34),
]


def formula_tensor(name, shape):
    n = int(np.prod(shape)) if shape else 1
    s = 2.0 * formula_uniform(name, n) - 1.0
    leaf = name.rsplit(".", 1)[-1]
    if leaf == "weight" and len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        v = s * math.sqrt(6.0 / fan_in)
    elif leaf in ("bias", "running_mean"):
        v = 0.1 * s
    elif leaf in ("weight", "running_var"):
        v = 1.0 + 0.25 * s
    else:
        raise ValueError(name)
    # float32 values, as the Java side makes them, then computed in float64
    return torch.from_numpy(v.astype(np.float32).astype(np.float64).reshape(shape))


def golden(build, kwargs, h, w):
    model = build(**kwargs).double().eval()
    sd = model.state_dict()
    for name, t in sd.items():
        if name.endswith("num_batches_tracked"):
            continue
        t.copy_(formula_tensor(name, tuple(t.shape)))
    img = formula_image(h, w)[0].astype(np.float64)          # [h, w, 3] 0..255
    x = (img / 255.0 - MEAN) / STD
    x = torch.from_numpy(x.transpose(2, 0, 1)[None].copy())
    with torch.no_grad():
        out = model(x)
        out = out["out"] if isinstance(out, dict) else out
    return out[0].numpy().transpose(1, 2, 0)[None].astype(np.float32)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    only = sys.argv[1:]
    for case, build, kwargs, h, w in CASES:
        if only and case not in only:
            continue
        y = golden(build, kwargs, h, w)
        np.save(OUT / (case + ".npy"), y)
        print(f"{case}: logits {y.shape}, |max| {np.abs(y).max():.4g}")


if __name__ == "__main__":
    main()
