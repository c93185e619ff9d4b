"""Imports torch and torchvision's model code on a machine where torchvision's C++ ops do not load.

The torchvision 0.28 wheel of the local index is a CUDA build; its compiled ops (torchvision::nms
...) fail to load beside the CPU torch 2.13, and torchvision registers fake (meta) kernels for them
with torch.library.register_fake at import time, which then raises. The model code we use is pure
Python, so replacing register_fake by a decorator that does nothing lets torchvision import; the
detection ops that needed it are never called.
"""

import torch

torch.backends.nnpack.set_flags(False)  # NNPACK warns on every conv on CPUs it does not support


def _no_op_register_fake(*args, **kwargs):
    def decorate(fn):
        return fn
    return decorate


torch.library.register_fake = _no_op_register_fake

import torchvision  # noqa: E402  (after the patch, on purpose)
from torchvision.models import segmentation  # noqa: E402,F401

__all__ = ["torch", "torchvision", "segmentation"]
