"""Golden training step of PyTorch segmentation networks for deeplab-core's TorchTrainStepTest.

For each case, builds the model with torchvision's own code (tools/torch/torch_setup.py) or the
VainF reference (tools/torch/vainf_reference.py), sets every state-dict tensor by the formula of
make_torch_goldens.py, puts it in training mode (model.train(): batch norm on batch statistics,
running averages updated with momentum 0.1 from the unbiased batch variance) with dropout off
(p = 0, so the step is deterministic), and runs one forward and backward in float64 on a batch of
two images: formula_image(h, w) and its left-right mirror, with labels

  label[n, y, x] = (3x + 5y + n) mod C, or 255 (ignored) where (x + y) mod 7 == 0

and the loss F.cross_entropy(model(x)["out"], label, ignore_index=255) (the mean over the labelled
pixels of logits upsampled with align_corners=False). Writes the loss, the gradients of a few
1-D tensors (batch-norm weights and biases, conv biases, in every part of the network) and a few
running statistics after the step, and how far PyTorch's own float32 step is from them, as JSON:

  deeplab-core/src/test/resources/torch-golden/train_step_<case>.json

Run: .venv/bin/python tools/torch/make_train_step_golden.py   (seconds; deterministic)
"""

import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "reference"))
from make_torch_goldens import MEAN, STD, formula_tensor, torchvision_model, vainf_model  # noqa: E402
from torch_setup import torch, segmentation  # noqa: E402
from deeplab_net import formula_image  # noqa: E402

OUT = HERE.parents[1] / "deeplab-core/src/test/resources/torch-golden"

# (case, constructor, classes, size, gradients checked, running statistics checked)
CASES = [
    ("torchvision_deeplabv3_mobilenet_v3_large_c3_65",
     torchvision_model(segmentation.deeplabv3_mobilenet_v3_large), 3, 65,
     ["backbone.0.1.bias", "backbone.4.block.2.fc2.bias", "backbone.14.block.1.1.weight",
      "classifier.0.convs.2.1.weight", "classifier.0.project.1.bias", "classifier.2.weight",
      "classifier.4.bias"],
     ["backbone.0.1.running_mean", "backbone.0.1.running_var", "backbone.14.block.1.1.running_var",
      "classifier.0.convs.4.2.running_mean", "classifier.0.project.1.running_var"]),
    ("vainf_deeplabv3plus_mobilenet_os16_c3_129", vainf_model("mobilenet", 16), 3, 129,
     ["backbone.low_level_features.0.1.weight", "backbone.high_level_features.15.conv.1.1.weight",
      "classifier.project.1.bias", "classifier.aspp.convs.1.1.weight",
      "classifier.aspp.project.1.bias", "classifier.classifier.1.weight",
      "classifier.classifier.3.bias"],
     ["backbone.low_level_features.0.1.running_var",
      "backbone.high_level_features.15.conv.1.1.running_var",
      "classifier.aspp.convs.4.2.running_mean", "classifier.classifier.1.running_var"]),
]


def batch(size, classes):
    img = formula_image(size, size)[0].astype(np.float64)
    images = np.stack([img, img[:, ::-1]])                     # [2, h, w, 3]
    x = (images / 255.0 - MEAN) / STD
    y, xx = np.mgrid[0:size, 0:size]
    labels = np.stack([(3 * xx + 5 * y + n) % classes for n in range(2)])
    labels[:, (xx + y) % 7 == 0] = 255
    return (torch.from_numpy(x.transpose(0, 3, 1, 2).copy()),
            torch.from_numpy(labels.astype(np.int64)))


def step(build, classes, size, grads, buffers, dtype):
    model = build(num_classes=classes).to(dtype)
    for name, t in model.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            t.copy_(formula_tensor(name, tuple(t.shape)).to(dtype))
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    model.train()
    x, labels = batch(size, classes)
    out = model(x.to(dtype))
    out = out["out"] if isinstance(out, dict) else out
    loss = torch.nn.functional.cross_entropy(out, labels, ignore_index=255)
    loss.backward()
    params = dict(model.named_parameters())
    state = model.state_dict()
    return (loss.item(), {n: params[n].grad.double() for n in grads},
            {n: state[n].double() for n in buffers})


def golden(build, classes, size, grads, buffers):
    loss, g, r = step(build, classes, size, grads, buffers, torch.float64)
    _, g32, r32 = step(build, classes, size, grads, buffers, torch.float32)
    return {
        "loss": loss,
        "gradients": {n: g[n].numpy().tolist() for n in grads},
        "running": {n: r[n].numpy().tolist() for n in buffers},
        # how far PyTorch's own float32 step is from this float64 one (max |difference|): the
        # float32 noise of the step, which our float32 step cannot be expected to beat
        "float32_error": {n: float((g[n] - g32[n]).abs().max()) for n in grads}
        | {n: float((r[n] - r32[n]).abs().max()) for n in buffers},
    }


def main():
    for case, build, classes, size, grads, buffers in CASES:
        g = golden(build, classes, size, grads, buffers)
        (OUT / f"train_step_{case}.json").write_text(json.dumps(g))
        print(f"{case}: loss {g['loss']:.6f}")


if __name__ == "__main__":
    main()
