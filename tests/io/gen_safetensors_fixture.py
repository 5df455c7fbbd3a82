#!/usr/bin/env python3
"""Write tests/io/safetensors_fixtures/torch_written.safetensors from PyTorch tensors with nothing but
struct + json (no `safetensors` package), the way any other program would, to check that detgrad reads
files it did not write.

    /usr/bin/python3 tests/io/gen_safetensors_fixture.py

Also a reader (`read`) in the same ~15 lines, used to check that a detgrad-written file loads in Python:

    /usr/bin/python3 tests/io/gen_safetensors_fixture.py --read FILE.safetensors
"""
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "safetensors_fixtures", "torch_written.safetensors")
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: take the raw 16-bit patterns
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():  # insertion order, deliberately not sorted
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    inv = {v: k for k, v in DTYPES.items()}
    out = {}
    for name, e in header.items():
        b, c = e["data_offsets"]
        buf = bytearray(raw[8 + n + b:8 + n + c])
        dt = inv[e["dtype"]]
        t = torch.frombuffer(buf, dtype=dt) if len(buf) else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"])
    return out, meta


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--read":
        tensors, meta = read(sys.argv[2])
        print("metadata:", meta)
        for k, t in tensors.items():
            print(k, t.dtype, list(t.shape), t.reshape(-1)[:6].tolist())
        return
    # Values are simple formulas so the C++ test can check every element.
    tensors = {
        "layer.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1.0,  # -1, -0.5, ..., 1.5
        "layer.bias": torch.tensor([1.0 / 3.0, -2.0, 1e-300, 7.0], dtype=torch.float64),
        "half": torch.tensor([1.0, -65504.0, 0.0009765625], dtype=torch.float16),
        "bf": torch.tensor([[1.0, -2.5], [3.140625, 1e30]], dtype=torch.bfloat16),
        "bn.num_batches_tracked": torch.tensor(123456789012, dtype=torch.int64),
        "ids": torch.tensor([-1, 2147483647], dtype=torch.int32),
        "bytes": torch.tensor([0, 1, 254, 255], dtype=torch.uint8),
        "mask": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 2),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    write(OUT, tensors, {"format": "pt", "written_by": "struct+json"})
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
