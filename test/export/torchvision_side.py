"""The torchvision side of the selfsup <-> torchvision round trip, with plain torch and torchvision
only (no selfsup code). The `safetensors` package is not needed: a small codec below reads and
writes the F32 and I64 tensors these files hold.

  torchvision_side.py load STATE INPUT OUT --arch resnet18 [--stem cifar]
      builds torchvision.models.<arch>() with fc = Identity (and the two-line cifar stem),
      load_state_dict(STATE, strict=True), eval; writes the pooled features of INPUT's "x"
      (NHWC) to OUT and prints what it checked as one JSON line.
  torchvision_side.py make STATE INPUT OUT --arch resnet18 [--stem cifar] --seed N
      a torchvision model with non-default BN affine terms and running statistics from three
      training-mode forwards (num_batches_tracked = 3); writes its state dict (fc dropped) to
      STATE and the eval features of INPUT's "x" to OUT.
"""
import argparse
import json
import struct
import sys

import numpy as np
import torch
import torchvision

DTYPES = {"F32": np.float32, "I64": np.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu()
        kind = "I64" if t.dtype == torch.int64 else "F32"
        b = np.ascontiguousarray(t.numpy().astype(DTYPES[kind])).tobytes()
        header[name] = {"dtype": kind, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def build(arch, stem):
    m = getattr(torchvision.models, arch)()
    m.fc = torch.nn.Identity()
    if stem == "cifar":
        # The documented two-line change to torchvision's stem: 3x3/1 conv, no max-pool.
        m.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        m.maxpool = torch.nn.Identity()
    return m


def features(m, input_path):
    x = read_safetensors(input_path)["x"].permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    m.eval()
    with torch.no_grad():
        return m(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["load", "make"])
    p.add_argument("state")
    p.add_argument("input")
    p.add_argument("out")
    p.add_argument("--arch", default="resnet18")
    p.add_argument("--stem", default="imagenet", choices=["imagenet", "cifar"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--builder", help="file of Python lines that build the model as m (overrides --arch/--stem)")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    if a.builder:
        scope = {"torch": torch, "torchvision": torchvision}
        with open(a.builder) as f:
            exec(f.read(), scope)
        m = scope["m"]
    else:
        m = build(a.arch, a.stem)
    if a.mode == "load":
        sd = read_safetensors(a.state)
        result = m.load_state_dict(sd, strict=True)
        counts = {k: v for k, v in m.state_dict().items() if k.endswith("num_batches_tracked")}
        report = {
            "keys": len(sd),
            "missing": list(result.missing_keys),
            "unexpected": list(result.unexpected_keys),
            "num_batches_tracked": sorted({int(v) for v in counts.values()}),
            "num_batches_tracked_dtypes": sorted({str(v.dtype) for v in counts.values()}),
            "count_buffers": len(counts),
        }
    else:
        with torch.no_grad():
            for mod in m.modules():
                if isinstance(mod, torch.nn.BatchNorm2d):
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.5, 0.5)
        m.train()
        with torch.no_grad():
            for _ in range(3):
                m(torch.randn(4, 3, 32, 32))
        write_safetensors(a.state, m.state_dict())
        report = {"keys": len(m.state_dict())}
    write_safetensors(a.out, {"features": features(m, a.input)})
    print(json.dumps(report))


if __name__ == "__main__":
    sys.exit(main())
