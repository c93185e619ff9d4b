"""Writes the PyTorch weight-file fixtures of deeplab-core's StateDictTest with real PyTorch.

deeplab-core/src/test/resources/torch/:
  state_dict.pth       torch.save of an OrderedDict state dict: float32, float64, float16 and
                       bfloat16 tensors, a transposed (non-contiguous) view, a slice at a storage
                       offset, two tensors sharing one storage, int64 num_batches_tracked
  vainf_checkpoint.pth {"model_state": that state dict, "optimizer_state", "cur_itrs",
                       "best_score": a numpy float64} as VainF's DeepLabV3Plus-Pytorch saves
  state_dict.safetensors  the floating tensors (own dtypes, copied contiguous), by save_file
  expected.json        every tensor's dtype, shape and values (flattened, as float) from PyTorch
  legacy.pth           torch.save(..., _use_new_zipfile_serialization=False): refused
  evil_os_system.pth   a torch.save-shaped zip whose data.pkl REDUCEs os.system: refused unrun
  evil_builtins_eval.pth  the same with builtins.eval via STACK_GLOBAL (protocol 4)
  past_storage.pth     a tensor of 1000 elements over a storage of 4: refused
  huge_shape.pth       a tensor of shape [2^31, 2^31] over a storage of 4: refused
  past_end.safetensors data_offsets past the end of the file: refused
  huge_shape.safetensors  shape [2^40, 2^40]: refused
  wrong_span.safetensors  offsets spanning fewer bytes than the shape needs: refused

Run: .venv/bin/python tools/torch/make_weight_fixtures.py (deterministic content).
"""

import collections
import io
import json
import os
import pathlib
import pickle
import struct
import zipfile

import numpy as np
import torch
from safetensors.torch import save_file

OUT = pathlib.Path(__file__).resolve().parents[2] / "deeplab-core/src/test/resources/torch"


def state_dict():
    g = torch.Generator().manual_seed(18)
    shared = torch.randn(10, generator=g)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.randn(2, 3, 3, 3, generator=g)
    sd["conv.bias"] = torch.randn(2, generator=g, dtype=torch.float64)
    sd["bn.weight"] = torch.randn(3, generator=g).half()
    sd["bn.bias"] = torch.randn(3, generator=g).bfloat16()
    sd["bn.num_batches_tracked"] = torch.tensor(7, dtype=torch.int64)
    sd["fc.weight"] = torch.randn(3, 4, generator=g).t()          # strides (1, 4)
    sd["shared.a"] = shared[2:6]                                  # offset 2 in a shared storage
    sd["shared.b"] = shared.view(2, 5)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


def expected(sd):
    return {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                "values": v.double().flatten().tolist()} for k, v in sd.items()}


class _Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def zip_with_pickle(path, pkl, storages=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
        for key, data in (storages or {}).items():
            z.writestr("archive/data/" + key, data)


class _TensorPickler(pickle.Pickler):
    """Pickles _Reduce objects naming storages by persistent id, as torch.save does."""

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


class _Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


def crafted_tensor_file(path, size, stride):
    storage = _Storage("0", 4)
    tensor = _Reduce(torch._utils._rebuild_tensor_v2,
                     (storage, 0, size, stride, False, collections.OrderedDict()))
    buf = io.BytesIO()
    _TensorPickler(buf, protocol=2).dump(collections.OrderedDict([("w", tensor)]))
    zip_with_pickle(path, buf.getvalue(), {"0": struct.pack("<4f", 1, 2, 3, 4)})


def safetensors_with_header(path, header, data):
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    sd = state_dict()
    torch.save(sd, OUT / "state_dict.pth")
    torch.save({"cur_itrs": 3, "model_state": sd,
                "optimizer_state": {"state": {}, "param_groups": [{"lr": 0.01, "params": [0, 1]}]},
                "scheduler_state": {"last_epoch": 3}, "best_score": np.float64(0.625)},
               OUT / "vainf_checkpoint.pth")
    save_file({k: v.contiguous().clone() for k, v in sd.items()
               if v.is_floating_point()}, str(OUT / "state_dict.safetensors"))
    (OUT / "expected.json").write_text(json.dumps(expected(sd), indent=1) + "\n")
    torch.save(sd, OUT / "legacy.pth", _use_new_zipfile_serialization=False)

    zip_with_pickle(OUT / "evil_os_system.pth",
                    pickle.dumps(_Reduce(os.system, ("echo pwned > /tmp/deeplab_pwned",)),
                                 protocol=2))
    zip_with_pickle(OUT / "evil_builtins_eval.pth",
                    pickle.dumps(_Reduce(eval, ("__import__('os').system('true')",)),
                                 protocol=4))
    crafted_tensor_file(OUT / "past_storage.pth", (1000,), (1,))
    crafted_tensor_file(OUT / "huge_shape.pth", (2 ** 31, 2 ** 31), (2 ** 31, 1))

    four = struct.pack("<4f", 1, 2, 3, 4)
    safetensors_with_header(OUT / "past_end.safetensors",
                            {"w": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}, four)
    safetensors_with_header(OUT / "huge_shape.safetensors",
                            {"w": {"dtype": "F32", "shape": [2 ** 40, 2 ** 40],
                                   "data_offsets": [0, 16]}}, four)
    safetensors_with_header(OUT / "wrong_span.safetensors",
                            {"w": {"dtype": "F32", "shape": [2, 4], "data_offsets": [0, 16]}},
                            four)
    for f in sorted(OUT.iterdir()):
        print(f"{f.name}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
