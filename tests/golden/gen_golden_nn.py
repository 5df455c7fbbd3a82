#!/usr/bin/env python3
"""Generate the PyTorch golden cases of the nn family (pooling, interpolation, normalisation, dropout,
channel_shuffle) for `detgrad ref`; format: tests/golden/README.md.

Run from anywhere (PyTorch lives in the system python):

    /usr/bin/python3 tests/golden/gen_golden_nn.py

Writes tests/golden/ops_nn/*.npy and tests/golden/manifest_nn.json (read by tests/ops/test_golden.cpp
together with every other manifest*.json). Seeded: two runs write the same bytes.

Layout of this file:
  1. attribute parsing   - attributes are kept as the strings given on the command line
  2. TORCH_OPS           - op name -> how PyTorch computes it from (tensors, attribute strings)
  3. case families       - one function per op family, each with its own seeded generator
  4. running a case      - autograd, file writing, manifest
"""
import json
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OPS_DIR = os.path.join(HERE, "ops_nn")
MANIFEST = os.path.join(HERE, "manifest_nn.json")
DTYPES = {"f64": (np.float64, torch.float64), "f32": (np.float32, torch.float32)}
F64 = ("f64",)
BOTH = ("f64", "f32")
# Inputs that are buffers, never differentiated (batch_norm's running statistics).
CONSTANTS = {"running_mean", "running_var"}


# ----------------------------------------------------------------------------------------------
# 1. Attribute parsing: the same strings `--attr key=value` passes to detgrad.
# ----------------------------------------------------------------------------------------------
def is_none(s):
    return s is None or s == "none"


def a_bool(s):
    assert s in ("true", "false"), s
    return s == "true"


def a_opt_bool(s):
    return None if is_none(s) else a_bool(s)


def a_size(s):
    """'3' -> 3, '3,2' -> (3, 2), none -> None."""
    if is_none(s):
        return None
    v = [int(x) for x in s.split(",")]
    return v[0] if len(v) == 1 else tuple(v)


def a_out_size(s):
    """adaptive output_size: '3', '3,4', 'none,4'."""
    v = [None if is_none(x) else int(x) for x in s.split(",")]
    return v[0] if len(v) == 1 else tuple(v)


def a_floats(s):
    if is_none(s):
        return None
    v = [float(x) for x in s.split(",")]
    return v[0] if len(v) == 1 else tuple(v)


# ----------------------------------------------------------------------------------------------
# 2. The PyTorch meaning of every op: t = name -> tensor, a = name -> attribute string.
# ----------------------------------------------------------------------------------------------
def _max_pool2d(t, a):
    r = F.max_pool2d(t["input"], a_size(a["kernel_size"]), stride=a_size(a.get("stride", "none")),
                     padding=a_size(a.get("padding", "0")), dilation=a_size(a.get("dilation", "1")),
                     ceil_mode=a_bool(a.get("ceil_mode", "false")),
                     return_indices=a_bool(a.get("return_indices", "false")))
    return tuple(r) if isinstance(r, tuple) else (r,)


def _avg_pool2d(t, a):
    d = a.get("divisor_override", "none")
    return (F.avg_pool2d(t["input"], a_size(a["kernel_size"]), stride=a_size(a.get("stride", "none")),
                         padding=a_size(a.get("padding", "0")), ceil_mode=a_bool(a.get("ceil_mode", "false")),
                         count_include_pad=a_bool(a.get("count_include_pad", "true")),
                         divisor_override=None if is_none(d) else int(d)),)


def _interpolate(t, a):
    return (F.interpolate(t["input"], size=a_size(a.get("size", "none")),
                          scale_factor=a_floats(a.get("scale_factor", "none")), mode=a.get("mode", "nearest"),
                          align_corners=a_opt_bool(a.get("align_corners", "none")),
                          recompute_scale_factor=a_opt_bool(a.get("recompute_scale_factor", "none"))),)


def _batch_norm(t, a):
    rm, rv = t.get("running_mean"), t.get("running_var")
    rm = rm.clone() if rm is not None else None   # updated in place: return the new values too
    rv = rv.clone() if rv is not None else None
    training = a_bool(a.get("training", "false"))
    y = F.batch_norm(t["input"], rm, rv, t.get("weight"), t.get("bias"), training=training,
                     momentum=float(a.get("momentum", "0.1")), eps=float(a.get("eps", "1e-5")))
    return (y, rm, rv) if training and rm is not None else (y,)


def _channel_shuffle(t, a):
    # PyTorch 1.13 has no derivative for F.channel_shuffle: the gradient comes from the same
    # permutation written as reshape -> transpose -> reshape, checked equal to F.channel_shuffle.
    x, g = t["input"], int(a["groups"])
    out = x.reshape(x.shape[0], g, x.shape[1] // g, *x.shape[2:]).transpose(1, 2).reshape(x.shape)
    assert torch.equal(out.detach(), F.channel_shuffle(x.detach(), g))
    return (out,)


TORCH_OPS = {
    "max_pool2d": _max_pool2d,
    "avg_pool2d": _avg_pool2d,
    "adaptive_avg_pool2d": lambda t, a: (F.adaptive_avg_pool2d(t["input"], a_out_size(a["output_size"])),),
    "interpolate": _interpolate,
    "batch_norm": _batch_norm,
    "group_norm": lambda t, a: (F.group_norm(t["input"], int(a["num_groups"]), t.get("weight"), t.get("bias"),
                                             eps=float(a.get("eps", "1e-5"))),),
    "layer_norm": lambda t, a: (F.layer_norm(t["input"], [int(v) for v in a["normalized_shape"].split(",")],
                                             t.get("weight"), t.get("bias"), eps=float(a.get("eps", "1e-5"))),),
    # only the deterministic cases (p = 0, p = 1, training = false): detgrad's mask is its own
    "dropout": lambda t, a: (F.dropout(t["input"], p=float(a.get("p", "0.5")),
                                       training=a_bool(a.get("training", "true"))),),
    "channel_shuffle": _channel_shuffle,
}
# Ops whose outputs accumulate many terms (looser f32 atol).
ACCUMULATING = {"avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "group_norm", "layer_norm", "interpolate"}


# ----------------------------------------------------------------------------------------------
# 3. Case families. C.add(name, op, inputs, attrs, dtypes); inputs are float64 numpy arrays.
# ----------------------------------------------------------------------------------------------
def family_rng(family):
    return np.random.default_rng(zlib.crc32(family.encode()))


class Cases:
    def __init__(self):
        self.specs, self.names = [], set()

    def add(self, name, op, inputs, attrs=None, dtypes=F64):
        assert op in TORCH_OPS, op
        for dt in dtypes:
            full = "%s_%s" % (name, dt)
            assert full not in self.names, full
            self.names.add(full)
            self.specs.append({"name": full, "op": op, "dtype": dt, "inputs": inputs, "attrs": dict(attrs or {})})


def distinct(rng, *shape):
    """A random permutation of well-separated values: no ties inside a pooling window."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2.0) * 0.1 + rng.uniform(0, 0.02, n)).reshape(shape)


def fam_pool(C):
    r = family_rng("pool")
    x = lambda *s: [("input", distinct(r, *s))]
    C.add("max_pool2d_k2", "max_pool2d", x(2, 3, 6, 6), {"kernel_size": "2"}, BOTH)
    C.add("max_pool2d_k3s2p1", "max_pool2d", x(1, 2, 7, 7), {"kernel_size": "3", "stride": "2", "padding": "1"}, BOTH)
    C.add("max_pool2d_ceil", "max_pool2d", x(1, 2, 6, 6), {"kernel_size": "3", "stride": "2", "ceil_mode": "true"}, BOTH)
    C.add("max_pool2d_floor", "max_pool2d", x(1, 2, 6, 6), {"kernel_size": "3", "stride": "2", "ceil_mode": "false"})
    # H = 5, k 2, s 2, p 1: ceil gives 4 windows, but the 4th would start in the right padding -> 3
    C.add("max_pool2d_ceil_last_in_pad", "max_pool2d", x(1, 2, 5, 5),
          {"kernel_size": "2", "stride": "2", "padding": "1", "ceil_mode": "true"}, BOTH)
    C.add("max_pool2d_ceil_pad_nonsq", "max_pool2d", x(2, 1, 7, 6),
          {"kernel_size": "3,2", "stride": "2,3", "padding": "1,1", "ceil_mode": "true"})
    C.add("max_pool2d_dilation", "max_pool2d", x(1, 2, 9, 8),
          {"kernel_size": "3", "stride": "1", "padding": "1", "dilation": "2"}, BOTH)
    C.add("max_pool2d_dilation_ceil", "max_pool2d", x(1, 1, 10, 9),
          {"kernel_size": "2,3", "stride": "3,2", "padding": "1,1", "dilation": "3,2", "ceil_mode": "true"})
    C.add("max_pool2d_nonsquare", "max_pool2d", x(2, 2, 7, 8),
          {"kernel_size": "2,3", "stride": "1,2", "padding": "1,0"}, BOTH)
    C.add("max_pool2d_3d", "max_pool2d", x(3, 5, 5), {"kernel_size": "2", "stride": "1"})
    C.add("max_pool2d_indices", "max_pool2d", x(1, 2, 5, 6),
          {"kernel_size": "3", "stride": "2", "padding": "1", "return_indices": "true"}, BOTH)
    # overlapping windows sharing a maximum accumulate its gradient; ties go to the first maximum
    ties = np.floor(r.uniform(0, 3, (1, 2, 6, 6)))
    C.add("max_pool2d_ties", "max_pool2d", [("input", ties)], {"kernel_size": "3", "stride": "1", "padding": "1"})
    nan = distinct(r, 1, 1, 4, 4)
    nan[0, 0, 1, 1] = np.nan
    nan[0, 0, 2, 3] = np.nan
    C.add("max_pool2d_nan", "max_pool2d", [("input", nan)], {"kernel_size": "2", "stride": "1"})
    neg = -np.abs(distinct(r, 1, 2, 4, 4)) - 1.0  # all negative: the -inf padding never wins
    C.add("max_pool2d_negative_pad", "max_pool2d", [("input", neg)], {"kernel_size": "3", "stride": "2", "padding": "1"})

    y = lambda *s: [("input", r.standard_normal(s))]
    C.add("avg_pool2d_k2", "avg_pool2d", y(2, 3, 6, 6), {"kernel_size": "2"}, BOTH)
    for cip in ("true", "false"):
        C.add("avg_pool2d_pad_cip_" + cip, "avg_pool2d", y(1, 2, 7, 7),
              {"kernel_size": "3", "stride": "2", "padding": "1", "count_include_pad": cip}, BOTH)
        # ceil mode: the last windows reach past the padded input; those cells are never counted
        C.add("avg_pool2d_ceil_cip_" + cip, "avg_pool2d", y(1, 2, 6, 6),
              {"kernel_size": "3", "stride": "2", "padding": "1", "ceil_mode": "true", "count_include_pad": cip}, BOTH)
        C.add("avg_pool2d_ceil_nopad_cip_" + cip, "avg_pool2d", y(1, 1, 7, 8),
              {"kernel_size": "3", "stride": "2", "ceil_mode": "true", "count_include_pad": cip})
    C.add("avg_pool2d_divisor", "avg_pool2d", y(1, 2, 7, 7),
          {"kernel_size": "3", "stride": "2", "padding": "1", "divisor_override": "5"}, BOTH)
    C.add("avg_pool2d_divisor_ceil", "avg_pool2d", y(1, 1, 6, 6),
          {"kernel_size": "2", "stride": "2", "padding": "1", "ceil_mode": "true", "divisor_override": "3"})
    C.add("avg_pool2d_nonsquare", "avg_pool2d", y(2, 2, 7, 8),
          {"kernel_size": "3,2", "stride": "2,1", "padding": "1,0", "count_include_pad": "false"}, BOTH)
    C.add("avg_pool2d_3d", "avg_pool2d", y(3, 5, 5), {"kernel_size": "2", "stride": "1"})

    C.add("adaptive_avg_pool2d_7to3", "adaptive_avg_pool2d", y(2, 3, 7, 10), {"output_size": "3,4"}, BOTH)
    C.add("adaptive_avg_pool2d_global", "adaptive_avg_pool2d", y(2, 3, 5, 6), {"output_size": "1"}, BOTH)
    C.add("adaptive_avg_pool2d_up", "adaptive_avg_pool2d", y(1, 2, 3, 4), {"output_size": "5,7"})
    C.add("adaptive_avg_pool2d_none", "adaptive_avg_pool2d", y(1, 2, 5, 6), {"output_size": "none,4"})
    C.add("adaptive_avg_pool2d_3d", "adaptive_avg_pool2d", y(3, 9, 5), {"output_size": "4"})


def fam_interpolate(C):
    r = family_rng("interpolate")
    y = lambda *s: [("input", r.standard_normal(s))]
    for mode in ("nearest", "bilinear"):
        extra = {} if mode == "nearest" else {"align_corners": "false"}
        m = dict(mode=mode, **extra)
        C.add(mode + "_x2", "interpolate", y(2, 2, 4, 5), dict(m, scale_factor="2"), BOTH)
        C.add(mode + "_x0p5", "interpolate", y(1, 2, 6, 8), dict(m, scale_factor="0.5"), BOTH)
        C.add(mode + "_x1p7", "interpolate", y(1, 2, 5, 7), dict(m, scale_factor="1.7"), BOTH)
        C.add(mode + "_x1p7_recompute", "interpolate", y(1, 2, 5, 7),
              dict(m, scale_factor="1.7", recompute_scale_factor="true"), BOTH)
        C.add(mode + "_xy", "interpolate", y(1, 1, 5, 6), dict(m, scale_factor="1.5,0.6"))
        C.add(mode + "_x1p1_same_size", "interpolate", y(1, 1, 4, 6), dict(m, scale_factor="1.1"))
        C.add(mode + "_size_up", "interpolate", y(1, 2, 4, 5), dict(m, size="7,9"), BOTH)
        C.add(mode + "_size_down", "interpolate", y(1, 2, 7, 9), dict(m, size="3,4"), BOTH)
        C.add(mode + "_size_one", "interpolate", y(1, 1, 5, 4), dict(m, size="1,3"))
    for sf in ("2", "1.7", "0.5"):
        C.add("bilinear_align_x" + sf.replace(".", "p"), "interpolate", y(1, 2, 4, 5),
              {"mode": "bilinear", "align_corners": "true", "scale_factor": sf}, BOTH)
    C.add("bilinear_align_size", "interpolate", y(1, 2, 4, 5), {"mode": "bilinear", "align_corners": "true", "size": "7,3"}, BOTH)
    C.add("bilinear_align_from1", "interpolate", y(1, 1, 1, 3), {"mode": "bilinear", "align_corners": "true", "size": "4,1"})
    C.add("bilinear_default_align", "interpolate", y(1, 1, 3, 3), {"mode": "bilinear", "scale_factor": "2"})
    C.add("nearest_1d_x2p5", "interpolate", y(2, 3, 4), {"scale_factor": "2.5"}, BOTH)
    C.add("nearest_1d_size", "interpolate", y(1, 2, 7), {"size": "3"})
    C.add("nearest_exact_x1p7", "interpolate", y(1, 2, 5, 7), {"mode": "nearest-exact", "scale_factor": "1.7"}, BOTH)
    C.add("nearest_exact_size_down", "interpolate", y(1, 1, 7, 9), {"mode": "nearest-exact", "size": "3,4"})
    # PyTorch's nearest shortcuts (NOTE in autograd/ops/interpolate.cpp): 3 * 1.25 -> 3 and 5 * 2.1 -> 10
    # resample in the generic forward kernel (C > 1, or 3-D) but not for C == 1; backward always shortcuts
    for sf in ("1.25", "2.1"):
        tag = sf.replace(".", "p")
        C.add("nearest_shortcut_c3_x" + tag, "interpolate", y(1, 3, 3, 5), {"scale_factor": sf}, BOTH)
        C.add("nearest_shortcut_c1_x" + tag, "interpolate", y(2, 1, 3, 5), {"scale_factor": sf})
        C.add("nearest_shortcut_1d_x" + tag, "interpolate", y(1, 2, 5), {"scale_factor": sf})
    C.add("linear_x1p7", "interpolate", y(2, 3, 5), {"mode": "linear", "scale_factor": "1.7", "align_corners": "false"}, BOTH)
    C.add("linear_align_size", "interpolate", y(1, 2, 5), {"mode": "linear", "size": "8", "align_corners": "true"})
    C.add("area_size", "interpolate", y(1, 2, 7, 9), {"mode": "area", "size": "3,4"}, BOTH)
    C.add("area_x0p6", "interpolate", y(1, 2, 7, 9), {"mode": "area", "scale_factor": "0.6"})
    C.add("area_1d_x1p6", "interpolate", y(2, 2, 7), {"mode": "area", "scale_factor": "1.6"})


def fam_norm(C):
    r = family_rng("norm")
    n = lambda *s: r.standard_normal(s)
    pos = lambda *s: r.uniform(0.5, 2.0, s)

    def bn(x, c, affine=True, stats=True):
        ins = [("input", x)]
        if stats:
            ins += [("running_mean", n(c) * 0.1), ("running_var", pos(c))]
        if affine:
            ins += [("weight", pos(c)), ("bias", n(c))]
        return ins
    C.add("batch_norm_train_2d", "batch_norm", bn(n(8, 3) * 2 + 1, 3), {"training": "true"}, BOTH)
    C.add("batch_norm_train_4d", "batch_norm", bn(n(2, 3, 4, 5), 3), {"training": "true"}, BOTH)
    C.add("batch_norm_train_3d_plain", "batch_norm", bn(n(4, 3, 5), 3, affine=False, stats=False), {"training": "true"})
    C.add("batch_norm_train_momentum", "batch_norm", bn(n(3, 2, 3, 3), 2),
          {"training": "true", "momentum": "0.3", "eps": "0.001"}, BOTH)
    C.add("batch_norm_eval_2d", "batch_norm", bn(n(5, 4), 4), {"training": "false"}, BOTH)
    C.add("batch_norm_eval_4d", "batch_norm", bn(n(2, 3, 3, 4), 3), {"training": "false"}, BOTH)
    C.add("batch_norm_eval_no_affine", "batch_norm", bn(n(2, 3, 4), 3, affine=False), {})

    def gn(x, c, affine=True):
        return [("input", x)] + ([("weight", pos(c)), ("bias", n(c))] if affine else [])
    C.add("group_norm_g1", "group_norm", gn(n(2, 6, 3, 4), 6), {"num_groups": "1"}, BOTH)
    C.add("group_norm_gC", "group_norm", gn(n(2, 6, 3, 4), 6), {"num_groups": "6"}, BOTH)
    C.add("group_norm_g3", "group_norm", gn(n(2, 6, 2, 3), 6), {"num_groups": "3", "eps": "0.01"}, BOTH)
    C.add("group_norm_plain_3d", "group_norm", gn(n(3, 4, 5), 4, affine=False), {"num_groups": "2"})
    C.add("group_norm_2d", "group_norm", gn(n(4, 6), 6), {"num_groups": "2"})

    def ln(x, ns, affine=True):
        return [("input", x)] + ([("weight", pos(*ns)), ("bias", n(*ns))] if affine else [])
    C.add("layer_norm_last1", "layer_norm", ln(n(3, 4, 5), (5,)), {"normalized_shape": "5"}, BOTH)
    C.add("layer_norm_last3", "layer_norm", ln(n(2, 3, 4, 5), (3, 4, 5)), {"normalized_shape": "3,4,5"}, BOTH)
    C.add("layer_norm_plain", "layer_norm", ln(n(4, 6) * 3 + 2, (6,), affine=False),
          {"normalized_shape": "6", "eps": "0.001"})


def fam_misc(C):
    r = family_rng("misc")
    n = lambda *s: [("input", r.standard_normal(s))]
    C.add("dropout_p0", "dropout", n(3, 4), {"p": "0", "training": "true"}, BOTH)
    C.add("dropout_eval", "dropout", n(2, 3, 4), {"p": "0.5", "training": "false"}, BOTH)
    C.add("dropout_p1", "dropout", n(3, 4), {"p": "1", "training": "true"})
    C.add("channel_shuffle_g2", "channel_shuffle", n(2, 6, 3, 3), {"groups": "2"}, BOTH)
    C.add("channel_shuffle_g3", "channel_shuffle", n(1, 6, 2, 2), {"groups": "3"}, BOTH)
    C.add("channel_shuffle_3d", "channel_shuffle", n(2, 4, 5), {"groups": "4"})


FAMILIES = [fam_pool, fam_interpolate, fam_norm, fam_misc]


# ----------------------------------------------------------------------------------------------
# 4. Running a case.
# ----------------------------------------------------------------------------------------------
def cast(arr, dtype):
    return np.asarray(arr).astype(DTYPES[dtype][0])


def forward(op, inputs, attrs, requires):
    leaves = {}
    for name, arr in inputs:
        x = torch.from_numpy(arr.copy())
        if name in requires:
            x.requires_grad_(True)
        leaves[name] = x
    return leaves, tuple(TORCH_OPS[op](leaves, attrs))


def to_np(x):
    return np.array(x.detach().numpy(), order="C", copy=True)


def round_up_1sig(x):
    e = int(np.floor(np.log10(x)))
    m = int(np.ceil(x / 10.0 ** e - 1e-9))
    return float("%de%d" % (m, e))


def tolerances(op, dtype, arrays):
    s = 1.0
    for a in arrays:
        if a.dtype.kind == "f" and a.size and np.isfinite(a).any():
            s = max(s, float(np.nanmax(np.abs(a[np.isfinite(a)]))))
    if dtype == "f64":
        return 1e-10, round_up_1sig(1e-12 * s)
    return 1e-5, round_up_1sig((2e-6 if op in ACCUMULATING else 1e-6) * s)


def save(rel, arr):
    np.save(os.path.join(HERE, rel), arr, allow_pickle=False)
    return rel


def run_case(spec):
    name, op, dtype, attrs = spec["name"], spec["op"], spec["dtype"], spec["attrs"]
    inputs = [(k, cast(a, dtype)) for k, a in spec["inputs"]]
    keys = [k for k, _ in inputs if k not in CONSTANTS]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    leaves, outs = forward(op, inputs, attrs, set(keys))
    # upstream gradients: random, non-uniform, for every output that carries a gradient
    grad_outs = []
    for o in outs:
        if o.is_floating_point() and o.requires_grad:
            g = rng.uniform(0.5, 1.5, tuple(o.shape)) * rng.choice([-1.0, 1.0], tuple(o.shape))
            grad_outs.append(torch.from_numpy(cast(g, dtype)))
        else:
            grad_outs.append(None)
    pairs = [(o, g) for o, g in zip(outs, grad_outs) if g is not None]
    gs = torch.autograd.grad([o for o, _ in pairs], [leaves[k] for k in keys], [g for _, g in pairs],
                             allow_unused=True)
    grads = {k: (to_np(g) if g is not None else np.zeros_like(inputs[i][1])) for i, (k, g) in
             enumerate(zip(keys, gs))}
    entry = {"name": name, "op": op, "dtype": dtype, "inputs": [], "attrs": attrs, "outputs": [], "grad_outs": [],
             "grads": {}}
    every = []
    for key, arr in inputs:
        entry["inputs"].append([key, save("ops_nn/%s.%s.npy" % (name, key), arr)])
        every.append(arr)
    for i, (o, g) in enumerate(zip(outs, grad_outs)):
        entry["outputs"].append(save("ops_nn/%s.out%d.npy" % (name, i), to_np(o)))
        entry["grad_outs"].append(None if g is None else save("ops_nn/%s.grad_out%d.npy" % (name, i), to_np(g)))
        every.append(to_np(o))
    for key in keys:
        entry["grads"][key] = save("ops_nn/%s.grad_%s.npy" % (name, key), grads[key])
        every.append(grads[key])
    entry["rtol"], entry["atol"] = tolerances(op, dtype, every)
    return entry


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OPS_DIR, exist_ok=True)
    for f in os.listdir(OPS_DIR):
        if f.endswith(".npy"):
            os.remove(os.path.join(OPS_DIR, f))
    C = Cases()
    for fam in FAMILIES:
        fam(C)
    entries = [run_case(s) for s in C.specs]
    with open(MANIFEST, "w") as f:  # one case per line: readable diffs
        f.write('{"generator": "gen_golden_nn.py", "torch": "%s", "cases": [\n' % torch.__version__)
        f.write(",\n".join(json.dumps(e) for e in entries))
        f.write("\n]}\n")
    ops = sorted({e["op"] for e in entries})
    missing = sorted(set(TORCH_OPS) - set(ops))
    size = sum(os.path.getsize(os.path.join(OPS_DIR, f)) for f in os.listdir(OPS_DIR))
    print("gen_golden_nn: %d cases (%d f64, %d f32) over %d ops, %d files, %.1f KB in ops_nn/%s"
          % (len(entries), sum(e["dtype"] == "f64" for e in entries), sum(e["dtype"] == "f32" for e in entries),
             len(ops), len(os.listdir(OPS_DIR)), size / 1024.0,
             ("; ops without cases: " + ",".join(missing)) if missing else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
