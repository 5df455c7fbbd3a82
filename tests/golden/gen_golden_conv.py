#!/usr/bin/env python3
"""Generate the PyTorch golden cases of the convolution family (conv2d, conv_transpose2d) for
`detgrad ref`; format: tests/golden/README.md.

Run from anywhere (PyTorch lives in the system python):

    /usr/bin/python3 tests/golden/gen_golden_conv.py

Writes tests/golden/ops_conv/*.npy and tests/golden/manifest_conv.json (read by
tests/ops/test_golden.cpp together with every other manifest*.json). Seeded: two runs write the
same bytes.

Layout of this file:
  1. attribute parsing   - attributes stay the strings given on the command line
  2. TORCH_OPS           - op name -> how F.conv2d / F.conv_transpose2d compute it from those strings
  3. cases               - one list per op, each case a tiny problem covering one feature
  4. running a case      - autograd with a random non-uniform upstream gradient, files, manifest
"""
import json
import os
import sys
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SUBDIR = "ops_conv"
OPS_DIR = os.path.join(HERE, SUBDIR)
MANIFEST = os.path.join(HERE, "manifest_conv.json")
DTYPES = {"f64": (np.float64, torch.float64), "f32": (np.float32, torch.float32)}
BOTH = ("f64", "f32")


# ----------------------------------------------------------------------------------------------
# 1. Attribute parsing: '2' -> 2, '2,1' -> (2, 1); padding may also be 'same' or 'valid'.
# ----------------------------------------------------------------------------------------------
def a_pair(s):
    v = [int(x) for x in s.split(",")]
    return v[0] if len(v) == 1 else tuple(v)


def a_padding(s):
    return s if s in ("same", "valid") else a_pair(s)


# ----------------------------------------------------------------------------------------------
# 2. The PyTorch meaning of each op: t = input name -> tensor, a = attribute name -> string.
# ----------------------------------------------------------------------------------------------
TORCH_OPS = {
    "conv2d": lambda t, a: (F.conv2d(t["input"], t["weight"], t.get("bias"),
                                     stride=a_pair(a.get("stride", "1")),
                                     padding=a_padding(a.get("padding", "0")),
                                     dilation=a_pair(a.get("dilation", "1")),
                                     groups=int(a.get("groups", "1"))),),
    "conv_transpose2d": lambda t, a: (F.conv_transpose2d(t["input"], t["weight"], t.get("bias"),
                                                         stride=a_pair(a.get("stride", "1")),
                                                         padding=a_pair(a.get("padding", "0")),
                                                         output_padding=a_pair(a.get("output_padding", "0")),
                                                         groups=int(a.get("groups", "1")),
                                                         dilation=a_pair(a.get("dilation", "1"))),),
}


# ----------------------------------------------------------------------------------------------
# 3. Cases. (name, x shape, weight shape, bias?, attrs). conv2d weights are [O, C/groups, kh, kw],
#    conv_transpose2d weights [C, O/groups, kh, kw]. Inputs are standard normal, drawn from a
#    generator seeded by the op name.
# ----------------------------------------------------------------------------------------------
CONV2D = [
    ("basic", (2, 3, 5, 5), (4, 3, 3, 3), True, {"padding": "1"}),
    ("nopad", (1, 2, 6, 5), (3, 2, 3, 3), True, {}),
    ("stride2", (2, 3, 7, 6), (4, 3, 3, 3), False, {"stride": "2", "padding": "1"}),
    ("stride3_pairs", (3, 2, 9, 8), (3, 2, 3, 2), True, {"stride": "3,2", "padding": "1,0"}),
    ("dilation2", (2, 2, 9, 9), (3, 2, 3, 3), True, {"padding": "2", "dilation": "2"}),
    ("dilation_pair", (1, 2, 8, 9), (2, 2, 3, 3), False, {"padding": "1,2", "dilation": "1,2", "stride": "1,2"}),
    ("groups2", (2, 4, 6, 6), (6, 2, 3, 3), True, {"padding": "1", "groups": "2"}),
    ("groups4", (1, 8, 5, 7), (8, 2, 3, 1), False, {"padding": "1,0", "stride": "2", "groups": "4"}),
    ("depthwise", (2, 4, 7, 6), (4, 1, 3, 3), True, {"padding": "1", "groups": "4"}),
    ("depthwise_mult2_s2", (2, 3, 8, 7), (6, 1, 3, 3), True, {"padding": "1", "stride": "2", "dilation": "2,1",
                                                              "groups": "3"}),
    ("depthwise_5x3_s3", (1, 5, 9, 4), (5, 1, 5, 3), False, {"padding": "2,1", "stride": "3,1", "groups": "5"}),
    ("pointwise", (3, 6, 5, 7), (4, 6, 1, 1), True, {}),
    ("pointwise_groups2", (2, 6, 4, 5), (4, 3, 1, 1), False, {"groups": "2"}),
    ("pointwise_strided_padded", (2, 3, 7, 7), (2, 3, 1, 1), True, {"stride": "2", "padding": "1"}),
    ("stem_7x7_s2", (1, 3, 12, 12), (4, 3, 7, 7), False, {"stride": "2", "padding": "3"}),
    ("batch5_small", (5, 3, 4, 4), (4, 3, 3, 3), True, {"padding": "1"}),
    ("one_by_one_out", (3, 2, 3, 3), (2, 2, 3, 3), True, {}),
    ("same_odd", (2, 3, 6, 5), (4, 3, 3, 3), True, {"padding": "same"}),
    ("same_even_kernel", (2, 3, 6, 5), (4, 3, 4, 2), True, {"padding": "same", "dilation": "1,3"}),
    ("valid", (2, 3, 6, 5), (4, 3, 3, 2), False, {"padding": "valid"}),
]

CONV_TRANSPOSE2D = [
    ("basic", (2, 3, 4, 5), (3, 2, 3, 3), True, {}),
    ("k4_s2_p1", (1, 4, 3, 3), (4, 6, 4, 4), False, {"stride": "2", "padding": "1"}),
    ("output_padding", (2, 3, 3, 4), (3, 2, 3, 3), True, {"stride": "2", "padding": "1", "output_padding": "1"}),
    ("output_padding_pairs", (3, 2, 4, 3), (2, 3, 3, 2), True, {"stride": "2,3", "padding": "1,0",
                                                                 "output_padding": "1,2"}),
    ("groups2", (2, 4, 3, 4), (4, 3, 3, 3), True, {"stride": "2", "padding": "1", "output_padding": "1",
                                                   "groups": "2"}),
    ("depthwise_dilation2", (2, 4, 3, 3), (4, 1, 3, 3), True, {"padding": "1", "groups": "4", "dilation": "2"}),
    ("output_padding_lt_dilation", (1, 2, 3, 4), (2, 3, 3, 3), False, {"output_padding": "1", "dilation": "2"}),
    ("pointwise", (2, 6, 5, 4), (6, 2, 1, 1), True, {"groups": "2"}),
    ("batch4_stride2", (4, 3, 2, 2), (3, 2, 3, 3), True, {"stride": "2", "output_padding": "1"}),
]


def specs():
    out = []
    for op, table in (("conv2d", CONV2D), ("conv_transpose2d", CONV_TRANSPOSE2D)):
        rng = np.random.default_rng(zlib.crc32(op.encode()))
        for name, xs, ws, bias, attrs in table:
            inputs = [("input", rng.standard_normal(xs)), ("weight", rng.standard_normal(ws))]
            if bias:
                channels = ws[0] if op == "conv2d" else ws[1] * int(attrs.get("groups", "1"))
                inputs.append(("bias", rng.standard_normal(channels)))
            for dt in BOTH:
                out.append({"name": "%s_%s_%s" % (op, name, dt), "op": op, "dtype": dt, "inputs": inputs,
                            "attrs": attrs})
    return out


# ----------------------------------------------------------------------------------------------
# 4. Running a case.
# ----------------------------------------------------------------------------------------------
def to_np(x):
    return np.array(x.detach().numpy(), order="C", copy=True)


def round_up_1sig(x):
    """3.2e-12 -> 4e-12."""
    e = int(np.floor(np.log10(x)))
    m = int(np.ceil(x / 10.0 ** e - 1e-9))
    return float("%de%d" % (m, e))


def tolerances(dtype, arrays):
    """README rules; convolutions accumulate, so f32 gets the 2e-6 * scale absolute tolerance."""
    s = max([1.0] + [float(np.max(np.abs(a))) for a in arrays if a.size])
    if dtype == "f64":
        return 1e-10, round_up_1sig(1e-12 * s)
    return 1e-5, round_up_1sig(2e-6 * s)


def save(rel, arr):
    np.save(os.path.join(HERE, rel), arr, allow_pickle=False)
    return rel


def run_case(spec):
    name, op, dtype, attrs = spec["name"], spec["op"], spec["dtype"], spec["attrs"]
    np_dt = DTYPES[dtype][0]
    inputs = [(k, np.asarray(a).astype(np_dt)) for k, a in spec["inputs"]]
    leaves = {k: torch.from_numpy(a.copy()).requires_grad_(True) for k, a in inputs}
    (out,) = TORCH_OPS[op](leaves, attrs)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    g = rng.uniform(0.5, 1.5, tuple(out.shape)) * rng.choice([-1.0, 1.0], tuple(out.shape))
    grad_out = torch.from_numpy(g.astype(np_dt))
    keys = [k for k, _ in inputs]
    grads = torch.autograd.grad([out], [leaves[k] for k in keys], [grad_out])

    entry = {"name": name, "op": op, "dtype": dtype, "inputs": [], "attrs": attrs, "outputs": [], "grad_outs": [],
             "grads": {}}
    every = []
    for key, arr in inputs:
        entry["inputs"].append([key, save("%s/%s.%s.npy" % (SUBDIR, name, key), arr)])
        every.append(arr)
    entry["outputs"].append(save("%s/%s.out0.npy" % (SUBDIR, name), to_np(out)))
    entry["grad_outs"].append(save("%s/%s.grad_out0.npy" % (SUBDIR, name), to_np(grad_out)))
    every.append(to_np(out))
    for key, gr in zip(keys, grads):
        entry["grads"][key] = save("%s/%s.grad_%s.npy" % (SUBDIR, name, key), to_np(gr))
        every.append(to_np(gr))
    entry["rtol"], entry["atol"] = tolerances(dtype, every)
    return entry


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    # 'same' with an even kernel pads asymmetrically (a case on purpose)
    warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
    os.makedirs(OPS_DIR, exist_ok=True)
    for f in os.listdir(OPS_DIR):  # no stale files from renamed cases
        if f.endswith(".npy"):
            os.remove(os.path.join(OPS_DIR, f))
    entries = [run_case(s) for s in specs()]
    with open(MANIFEST, "w") as f:  # one case per line: readable diffs
        f.write('{"generator": "gen_golden_conv.py", "torch": "%s", "cases": [\n' % torch.__version__)
        f.write(",\n".join(json.dumps(e) for e in entries))
        f.write("\n]}\n")
    size = sum(os.path.getsize(os.path.join(OPS_DIR, f)) for f in os.listdir(OPS_DIR))
    print("gen_golden_conv: %d cases (%d f64, %d f32) over %d ops, %d files, %.1f KB in %s/"
          % (len(entries), sum(e["dtype"] == "f64" for e in entries), sum(e["dtype"] == "f32" for e in entries),
             len({e["op"] for e in entries}), len(os.listdir(OPS_DIR)), size / 1024.0, SUBDIR))
    return 0


if __name__ == "__main__":
    sys.exit(main())
