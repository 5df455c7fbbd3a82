#!/usr/bin/env python3
"""Generate the PyTorch golden cases for `detgrad ref` (see tests/golden/README.md).

Run from anywhere (PyTorch lives in the system python):

    /usr/bin/python3 tests/golden/gen_golden.py

For every op of docs/ref.md this writes a handful of tiny cases: inputs, outputs, a random non-uniform
upstream gradient per floating output, and the gradient of sum_i sum(out_i * grad_out_i) with respect to
every floating input that PyTorch can differentiate. Arrays go to tests/golden/ops/*.npy, the index of
all cases to tests/golden/manifest.json. Everything is seeded: two runs write the same bytes.

Layout of this file:
  1. attribute parsing   - attributes are kept as the strings given on the command line
  2. TORCH_OPS           - op name -> how PyTorch computes it from (tensors, attribute strings)
  3. input helpers       - random arrays, kink avoidance, distinct values
  4. case families       - one function per op family, each with its own seeded generator
  5. running a case      - autograd, file writing, manifest
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
OPS_DIR = os.path.join(HERE, "ops")
MANIFEST = os.path.join(HERE, "manifest.json")

DTYPES = {"f64": (np.float64, torch.float64), "f32": (np.float32, torch.float32)}


# ----------------------------------------------------------------------------------------------
# 1. Attribute parsing. A case stores its attributes exactly as `--attr key=value` would get them;
#    the PyTorch side parses those same strings, so the two can never drift apart.
# ----------------------------------------------------------------------------------------------
def is_none(s):
    return s is None or s == "none"


def a_int(s):
    return int(s)


def a_float(s):
    return float(s)


def a_bool(s):
    if s not in ("true", "false"):
        raise ValueError("boolean attribute must be true|false, got %r" % s)
    return s == "true"


def a_ints(s):
    """'0,2' -> [0, 2]; '3' -> [3]."""
    return [int(v) for v in s.split(",")] if s != "" else []


def a_opt_float(s):
    return None if is_none(s) else float(s)


def a_dims(s):
    """Reduction dims: none -> None (all), '1' -> 1, '0,2' -> [0, 2]."""
    if is_none(s):
        return None
    v = a_ints(s)
    return v[0] if ("," not in s and len(v) == 1) else v


def a_int_or_ints(s):
    """split_size_or_sections: '2' -> 2, '1,3' -> [1, 3]."""
    return int(s) if "," not in s else a_ints(s)


# ----------------------------------------------------------------------------------------------
# 2. The PyTorch meaning of every op. t: name -> tensor (list inputs: name -> list of tensors),
#    a: name -> attribute string. Each returns a tuple of outputs.
# ----------------------------------------------------------------------------------------------
def _reduce(fn, t, a):
    dim = a_dims(a.get("dim", "none"))
    if dim is None:
        return (fn(t["input"]),)
    return (fn(t["input"], dim=dim, keepdim=a_bool(a.get("keepdim", "false"))),)


def _maxmin(fn, t, a):
    dim = a.get("dim", "none")
    if is_none(dim):
        return (fn(t["input"]),)                  # one output: the value
    r = fn(t["input"], dim=a_int(dim), keepdim=a_bool(a.get("keepdim", "false")))
    return (r.values, r.indices)                  # values, int64 indices


def _amaxmin(fn, t, a):
    dim = a_dims(a.get("dim", "none"))            # none: torch's dim=() reduces every dim
    return (fn(t["input"], dim=() if dim is None else dim, keepdim=a_bool(a.get("keepdim", "false"))),)


def _pow(t, a):
    if "exponent" in t:
        return (torch.pow(t["input"], t["exponent"]),)
    return (torch.pow(t["input"], a_float(a["exponent"])),)


def _slice(t, a):
    x = t["input"]
    dim = a_int(a.get("dim", "0")) % max(x.dim(), 1)
    start = a.get("start", "0")
    end = a.get("end", "none")
    sl = slice(None if is_none(start) else int(start), None if is_none(end) else int(end),
               int(a.get("step", "1")))
    return (x[(slice(None),) * dim + (sl,)],)


def _weight_opt(t):
    return t.get("weight")


TORCH_OPS = {
    # element-wise binary (broadcasting)
    "add": lambda t, a: (torch.add(t["input"], t["other"], alpha=a_float(a.get("alpha", "1"))),),
    "sub": lambda t, a: (torch.sub(t["input"], t["other"], alpha=a_float(a.get("alpha", "1"))),),
    "mul": lambda t, a: (torch.mul(t["input"], t["other"]),),
    "div": lambda t, a: (torch.div(t["input"], t["other"]),),
    "minimum": lambda t, a: (torch.minimum(t["input"], t["other"]),),
    "maximum": lambda t, a: (torch.maximum(t["input"], t["other"]),),
    # element-wise unary
    "neg": lambda t, a: (torch.neg(t["input"]),),
    "exp": lambda t, a: (torch.exp(t["input"]),),
    "log": lambda t, a: (torch.log(t["input"]),),
    "sqrt": lambda t, a: (torch.sqrt(t["input"]),),
    "abs": lambda t, a: (torch.abs(t["input"]),),
    "atan": lambda t, a: (torch.atan(t["input"]),),
    # atan_ratio(w, h) = atan(w / h), +-pi/2 at h = 0: torch.atan2 wherever h >= 0 and (w, h) != (0, 0)
    "atan_ratio": lambda t, a: (torch.atan2(t["input"], t["other"]),),
    "pow": _pow,
    "clamp": lambda t, a: (torch.clamp(t["input"], min=a_opt_float(a.get("min", "none")),
                                       max=a_opt_float(a.get("max", "none"))),),
    "where": lambda t, a: (torch.where(t["condition"], t["input"], t["other"]),),
    # reductions
    "sum": lambda t, a: _reduce(torch.sum, t, a),
    "mean": lambda t, a: _reduce(torch.mean, t, a),
    "max": lambda t, a: _maxmin(torch.max, t, a),
    "min": lambda t, a: _maxmin(torch.min, t, a),
    "amax": lambda t, a: _amaxmin(torch.amax, t, a),
    "amin": lambda t, a: _amaxmin(torch.amin, t, a),
    "var": lambda t, a: (torch.var(t["input"], dim=a_dims(a.get("dim", "none")),
                                   correction=a_int(a.get("correction", "1")),
                                   keepdim=a_bool(a.get("keepdim", "false"))),),
    # linear algebra
    "matmul": lambda t, a: (torch.matmul(t["input"], t["other"]),),
    "linear": lambda t, a: (torch.nn.functional.linear(t["input"], t["weight"], t.get("bias")),),
    # shape
    "reshape": lambda t, a: (torch.reshape(t["input"], a_ints(a["shape"])),),
    "view": lambda t, a: (t["input"].view(a_ints(a["shape"])),),
    "permute": lambda t, a: (torch.permute(t["input"], a_ints(a["dims"])),),
    "transpose": lambda t, a: (torch.transpose(t["input"], a_int(a["dim0"]), a_int(a["dim1"])),),
    "expand": lambda t, a: (t["input"].expand(a_ints(a["size"])),),
    "cat": lambda t, a: (torch.cat(t["tensors"], dim=a_int(a.get("dim", "0"))),),
    "concat": lambda t, a: (torch.cat(t["tensors"], dim=a_int(a.get("dim", "0"))),),
    "stack": lambda t, a: (torch.stack(t["tensors"], dim=a_int(a.get("dim", "0"))),),
    "split": lambda t, a: tuple(torch.split(t["tensor"], a_int_or_ints(a["split_size_or_sections"]),
                                            dim=a_int(a.get("dim", "0")))),
    "chunk": lambda t, a: tuple(torch.chunk(t["input"], a_int(a["chunks"]), dim=a_int(a.get("dim", "0")))),
    "narrow": lambda t, a: (torch.narrow(t["input"], a_int(a["dim"]), a_int(a["start"]), a_int(a["length"])),),
    "slice": _slice,
    "index_select": lambda t, a: (torch.index_select(t["input"], a_int(a["dim"]), t["index"]),),
    "gather": lambda t, a: (torch.gather(t["input"], a_int(a["dim"]), t["index"]),),
    "pad": lambda t, a: (F.pad(t["input"], a_ints(a["pad"]), mode="constant",
                               value=a_float(a.get("value", "0"))),),
    # activations
    "relu": lambda t, a: (F.relu(t["input"]),),
    "sigmoid": lambda t, a: (torch.sigmoid(t["input"]),),
    "tanh": lambda t, a: (torch.tanh(t["input"]),),
    "silu": lambda t, a: (F.silu(t["input"]),),
    "leaky_relu": lambda t, a: (F.leaky_relu(t["input"], a_float(a.get("negative_slope", "0.01"))),),
    "softplus": lambda t, a: (F.softplus(t["input"], beta=a_float(a.get("beta", "1")),
                                         threshold=a_float(a.get("threshold", "20"))),),
    "softmax": lambda t, a: (F.softmax(t["input"], dim=a_int(a["dim"])),),
    "log_softmax": lambda t, a: (F.log_softmax(t["input"], dim=a_int(a["dim"])),),
    # losses
    "mse_loss": lambda t, a: (F.mse_loss(t["input"], t["target"], reduction=a.get("reduction", "mean")),),
    "l1_loss": lambda t, a: (F.l1_loss(t["input"], t["target"], reduction=a.get("reduction", "mean")),),
    "smooth_l1_loss": lambda t, a: (F.smooth_l1_loss(t["input"], t["target"],
                                                     reduction=a.get("reduction", "mean"),
                                                     beta=a_float(a.get("beta", "1.0"))),),
    "binary_cross_entropy_with_logits": lambda t, a: (F.binary_cross_entropy_with_logits(
        t["input"], t["target"], weight=t.get("weight"), pos_weight=t.get("pos_weight"),
        reduction=a.get("reduction", "mean")),),
    "cross_entropy": lambda t, a: (F.cross_entropy(
        t["input"], t["target"], weight=t.get("weight"), ignore_index=a_int(a.get("ignore_index", "-100")),
        reduction=a.get("reduction", "mean"), label_smoothing=a_float(a.get("label_smoothing", "0"))),),
    "nll_loss": lambda t, a: (F.nll_loss(t["input"], t["target"], weight=t.get("weight"),
                                         ignore_index=a_int(a.get("ignore_index", "-100")),
                                         reduction=a.get("reduction", "mean")),),
    "kl_div": lambda t, a: (F.kl_div(t["input"], t["target"], reduction=a.get("reduction", "mean"),
                                     log_target=a_bool(a.get("log_target", "false"))),),
}

# Ops whose outputs accumulate many terms (looser f32 atol).
ACCUMULATING = {"sum", "mean", "var", "matmul", "softmax", "log_softmax", "mse_loss", "l1_loss",
                "smooth_l1_loss", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss",
                "kl_div", "index_select", "gather"}


# ----------------------------------------------------------------------------------------------
# 3. Input helpers. All arrays are built in float64 and cast to the case dtype when the case runs.
# ----------------------------------------------------------------------------------------------
def family_rng(family):
    """A generator per family: editing one family never changes another family's numbers."""
    return np.random.default_rng(zlib.crc32(family.encode()))


def randn(rng, *shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def uniform(rng, lo, hi, *shape):
    return rng.uniform(lo, hi, shape)


def away(x, kinks, gap=0.05):
    """Push every value at least `gap` away from each non-differentiable point, keeping its side."""
    x = np.array(x, dtype=np.float64)
    for k in kinks:
        d = x - k
        side = np.where(d >= 0, 1.0, -1.0)
        x = np.where(np.abs(d) < gap, k + side * (gap + np.abs(d)), x)
    return x


def distinct(rng, *shape, gap=0.05):
    """Values with pairwise gaps >= gap (no ties: max/min/maximum gradients are unambiguous)."""
    n = int(np.prod(shape)) if shape else 1
    v = (rng.permutation(n) - n / 2.0) * (gap * 4) + rng.uniform(0, gap, n)
    return v.reshape(shape)


def positive(rng, *shape, lo=0.2, hi=3.0):
    return rng.uniform(lo, hi, shape)


def probs(rng, *shape, axis=-1):
    """Strictly positive rows summing to 1 along axis."""
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=axis, keepdims=True)


def log_probs(rng, *shape, axis=1):
    x = rng.standard_normal(shape)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def idx(values):
    return np.array(values, dtype=np.int64)


def mask(values):
    return np.array(values, dtype=bool)


# ----------------------------------------------------------------------------------------------
# 4. Case families. C.add(name, op, inputs, attrs, dtypes) registers one case per dtype; the case
#    name gets the dtype appended (add_broadcast -> add_broadcast_f64, add_broadcast_f32).
# ----------------------------------------------------------------------------------------------
F64 = ("f64",)
BOTH = ("f64", "f32")


class Cases:
    def __init__(self):
        self.specs = []
        self.names = set()

    def add(self, name, op, inputs, attrs=None, dtypes=F64):
        assert op in TORCH_OPS, op
        for dt in dtypes:
            full = "%s_%s" % (name, dt)
            assert full not in self.names, full
            self.names.add(full)
            self.specs.append({"name": full, "op": op, "dtype": dt, "inputs": inputs,
                               "attrs": dict(attrs or {})})


def fam_binary(C):
    rng = family_rng("binary")
    for op in ("add", "sub", "mul", "div"):
        other = (lambda *s: away(randn(rng, *s), [0.0], gap=0.5)) if op == "div" else (lambda *s: randn(rng, *s))
        C.add(op + "_same", op, [("input", randn(rng, 2, 3)), ("other", other(2, 3))])
        C.add(op + "_broadcast", op, [("input", randn(rng, 2, 3, 4)), ("other", other(3, 1))], dtypes=BOTH)
        C.add(op + "_bcast_one", op, [("input", randn(rng, 1)), ("other", other(2, 3))])
        C.add(op + "_bcast_both", op, [("input", randn(rng, 4, 1, 3)), ("other", other(2, 1))])
        C.add(op + "_scalar_other", op, [("input", randn(rng, 2, 3)), ("other", other())])
        C.add(op + "_scalar_input", op, [("input", randn(rng)), ("other", other(3, 2))])
        C.add(op + "_scalars", op, [("input", randn(rng)), ("other", other())])
        C.add(op + "_empty", op, [("input", randn(rng, 0, 3)), ("other", other(3))])
    C.add("add_alpha", "add", [("input", randn(rng, 2, 3)), ("other", randn(rng, 3))], {"alpha": "2"}, BOTH)
    C.add("add_alpha_neg", "add", [("input", randn(rng, 2, 3)), ("other", randn(rng, 2, 1))], {"alpha": "-1.5"})
    C.add("sub_alpha", "sub", [("input", randn(rng, 3, 1)), ("other", randn(rng, 4))], {"alpha": "0.5"}, BOTH)
    for op in ("minimum", "maximum"):
        v = distinct(rng, 2 * 2 * 3 * 4)           # input and other never tie
        rng.shuffle(v)
        C.add(op + "_same", op, [("input", v[:12].reshape(3, 4)), ("other", v[12:24].reshape(3, 4))], dtypes=BOTH)
        C.add(op + "_broadcast", op, [("input", v[:24].reshape(2, 3, 4)), ("other", v[24:27].reshape(3, 1))])
        C.add(op + "_scalar_other", op, [("input", v[:6].reshape(2, 3)), ("other", v[40:41].reshape(()))])
        C.add(op + "_bcast_one", op, [("input", v[30:31]), ("other", v[:6].reshape(2, 3))])
    # documented tie behaviour: PyTorch gives each side half of the upstream gradient at a tie
    C.add("maximum_ties", "maximum", [("input", np.array([1.0, 2.0, -0.5, 3.0])),
                                      ("other", np.array([1.0, 1.5, -0.5, 4.0]))])
    C.add("minimum_ties", "minimum", [("input", np.array([1.0, 2.0, -0.5, 3.0])),
                                      ("other", np.array([1.0, 1.5, -0.5, 4.0]))])


def fam_unary(C):
    rng = family_rng("unary")
    gens = {
        "neg": lambda *s: randn(rng, *s),
        "exp": lambda *s: randn(rng, *s),
        "log": lambda *s: positive(rng, *s),
        "sqrt": lambda *s: positive(rng, *s),
        "abs": lambda *s: away(randn(rng, *s), [0.0]),
    }
    for op, g in gens.items():
        C.add(op + "_2d", op, [("input", g(2, 3))], dtypes=BOTH)
        C.add(op + "_3d_size1", op, [("input", g(1, 4, 1))])
        C.add(op + "_scalar", op, [("input", g())])
        C.add(op + "_empty", op, [("input", g(2, 0, 3))])
    # pow with a tensor exponent: positive base (d/d exponent = out * log(base))
    C.add("pow_tensor", "pow", [("input", positive(rng, 2, 3)), ("exponent", randn(rng, 2, 3))], dtypes=BOTH)
    C.add("pow_tensor_broadcast", "pow", [("input", positive(rng, 2, 3, 4)), ("exponent", randn(rng, 4))])
    C.add("pow_tensor_bcast_base", "pow", [("input", positive(rng, 3, 1)), ("exponent", randn(rng, 2, 3, 4))])
    C.add("pow_tensor_scalar_exp", "pow", [("input", positive(rng, 2, 3)), ("exponent", randn(rng))])
    # pow with a scalar exponent: integer exponents on signed bases, fractional ones on positive bases
    C.add("pow_scalar_2", "pow", [("input", randn(rng, 2, 3))], {"exponent": "2"}, BOTH)
    C.add("pow_scalar_3", "pow", [("input", randn(rng, 3, 4))], {"exponent": "3"}, BOTH)
    C.add("pow_scalar_0.5", "pow", [("input", positive(rng, 2, 3))], {"exponent": "0.5"}, BOTH)
    C.add("pow_scalar_-1.5", "pow", [("input", positive(rng, 2, 3))], {"exponent": "-1.5"}, BOTH)
    C.add("pow_scalar_1", "pow", [("input", randn(rng, 4))], {"exponent": "1"})
    C.add("pow_scalar_0", "pow", [("input", positive(rng, 4))], {"exponent": "0"})
    # clamp: keep inputs away from the bounds
    C.add("clamp_min", "clamp", [("input", away(randn(rng, 3, 4), [-0.5]))], {"min": "-0.5"}, BOTH)
    C.add("clamp_max", "clamp", [("input", away(randn(rng, 3, 4), [0.3]))], {"max": "0.3"}, BOTH)
    C.add("clamp_both", "clamp", [("input", away(randn(rng, 2, 3, 4), [-0.5, 0.5]))],
          {"min": "-0.5", "max": "0.5"}, BOTH)
    C.add("clamp_max_min_none", "clamp", [("input", away(randn(rng, 5), [0.2]))], {"min": "none", "max": "0.2"})
    C.add("clamp_scalar", "clamp", [("input", np.array(0.7))], {"min": "-1", "max": "0.25"})
    # documented: min > max gives max everywhere, and PyTorch's gradient is then zero everywhere
    C.add("clamp_min_gt_max", "clamp", [("input", away(randn(rng, 6), [0.5, -0.5]))],
          {"min": "0.5", "max": "-0.5"})
    # where: condition broadcasts too
    C.add("where_same", "where", [("condition", rng.random((2, 3)) < 0.5), ("input", randn(rng, 2, 3)),
                                  ("other", randn(rng, 2, 3))], dtypes=BOTH)
    C.add("where_bcast_cond", "where", [("condition", mask([True, False, True])), ("input", randn(rng, 2, 3)),
                                        ("other", randn(rng, 2, 1))])
    C.add("where_bcast_all", "where", [("condition", rng.random((2, 1, 4)) < 0.5), ("input", randn(rng)),
                                       ("other", randn(rng, 3, 4))])
    # atan and atan_ratio (added last, so the cases above keep their random draws)
    C.add("atan_2d", "atan", [("input", randn(rng, 2, 3, scale=3.0))], dtypes=BOTH)
    C.add("atan_empty", "atan", [("input", randn(rng, 2, 0))])
    C.add("atan_ratio_2d", "atan_ratio", [("input", randn(rng, 2, 3)), ("other", positive(rng, 2, 3))], dtypes=BOTH)
    # h = 0 with w != 0: +-pi/2, gradient (0, -1/w), as torch.atan2
    C.add("atan_ratio_h0", "atan_ratio", [("input", np.array([1.5, -0.5, 2.0])), ("other", np.array([0.0, 0.0, 4.0]))])


def fam_reduce(C):
    rng = family_rng("reduce")
    for op in ("sum", "mean"):
        C.add(op + "_all", op, [("input", randn(rng, 2, 3, 4))], dtypes=BOTH)
        C.add(op + "_all_explicit_none", op, [("input", randn(rng, 3, 2))], {"dim": "none"})
        C.add(op + "_dim1", op, [("input", randn(rng, 2, 3, 4))], {"dim": "1"}, BOTH)
        C.add(op + "_dim_neg_keepdim", op, [("input", randn(rng, 2, 3, 4))], {"dim": "-1", "keepdim": "true"})
        C.add(op + "_dims_0_2", op, [("input", randn(rng, 2, 3, 4))], {"dim": "0,2", "keepdim": "false"}, BOTH)
        C.add(op + "_dims_neg_keepdim", op, [("input", randn(rng, 2, 3, 4))], {"dim": "-3,-1", "keepdim": "true"})
        C.add(op + "_size1_dims", op, [("input", randn(rng, 1, 3, 1))], {"dim": "0,2"})
        C.add(op + "_scalar", op, [("input", randn(rng))])
        C.add(op + "_1d_dim0", op, [("input", randn(rng, 5))], {"dim": "0"})
    # sum over an empty dim gives zeros (mean would give NaN: not a golden case)
    C.add("sum_empty_dim", "sum", [("input", randn(rng, 2, 0, 3))], {"dim": "1"})
    C.add("sum_empty_all", "sum", [("input", randn(rng, 0, 3))])
    C.add("sum_empty_keep", "sum", [("input", randn(rng, 2, 0, 3))], {"dim": "2", "keepdim": "true"})
    for op in ("max", "min"):
        C.add(op + "_all", op, [("input", distinct(rng, 3, 4))], dtypes=BOTH)
        C.add(op + "_dim1", op, [("input", distinct(rng, 2, 3, 4))], {"dim": "1"}, BOTH)
        C.add(op + "_dim_neg_keepdim", op, [("input", distinct(rng, 2, 3, 4))], {"dim": "-1", "keepdim": "true"})
        C.add(op + "_dim0_1d", op, [("input", distinct(rng, 5))], {"dim": "0"})
        C.add(op + "_size1_dim", op, [("input", distinct(rng, 3, 1))], {"dim": "1"})
        C.add(op + "_scalar", op, [("input", np.array(0.3))])
        # documented ties: with dim the first index wins and takes all the gradient;
        # without dim PyTorch splits the gradient evenly among all tied elements
        t = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 2.0], [0.5, -2.0, -2.0, 0.0]])
        C.add(op + "_dim_ties", op, [("input", t if op == "max" else -t)], {"dim": "1"})
        C.add(op + "_all_ties", op, [("input", np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 2.0]]) * (1 if op == "max" else -1))])
    C.add("var_all", "var", [("input", randn(rng, 3, 4))], dtypes=BOTH)
    C.add("var_dim1", "var", [("input", randn(rng, 2, 5, 3))], {"dim": "1", "correction": "1"}, BOTH)
    C.add("var_dims_c0_keep", "var", [("input", randn(rng, 2, 3, 4))],
          {"dim": "0,2", "correction": "0", "keepdim": "true"})
    C.add("var_dim_neg_c2", "var", [("input", randn(rng, 3, 6))], {"dim": "-1", "correction": "2"})
    C.add("var_all_c0", "var", [("input", randn(rng, 5))], {"dim": "none", "correction": "0"})
    C.add("var_size1_kept", "var", [("input", randn(rng, 1, 4, 2))], {"dim": "1", "keepdim": "true"})
    # amax / amin last, so that adding them left the earlier cases' random draws alone. Ties share the
    # gradient equally (unlike max/min with a dim, where the first index takes it all).
    for op in ("amax", "amin"):
        C.add(op + "_all", op, [("input", distinct(rng, 3, 4))], dtypes=BOTH)
        C.add(op + "_dims_0_2", op, [("input", distinct(rng, 2, 3, 4))], {"dim": "0,2"}, BOTH)
        C.add(op + "_dim_neg_keepdim", op, [("input", distinct(rng, 2, 3, 4))], {"dim": "-1", "keepdim": "true"})
        t = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 2.0], [0.5, -2.0, -2.0, 0.0]])
        C.add(op + "_dim_ties", op, [("input", t if op == "amax" else -t)], {"dim": "1"})
        C.add(op + "_all_ties", op, [("input", t if op == "amax" else -t)])


def fam_matmul(C):
    rng = family_rng("matmul")
    shapes = {
        "1d_1d": ((4,), (4,)),
        "2d_1d": ((3, 4), (4,)),
        "1d_2d": ((4,), (4, 3)),
        "2d_2d": ((3, 4), (4, 2)),
        "batched_3d": ((2, 3, 4), (2, 4, 5)),
        "bcast_batch": ((2, 1, 3, 4), (5, 4, 2)),
        "3d_2d": ((2, 3, 4), (4, 2)),
        "2d_3d": ((3, 4), (2, 4, 2)),
        "1d_3d": ((4,), (2, 4, 3)),
        "3d_1d": ((2, 3, 4), (4,)),
        "size1": ((1, 1), (1, 3)),
        "k0": ((2, 0), (0, 3)),
    }
    for name, (sa, sb) in shapes.items():
        dts = BOTH if name in ("2d_2d", "batched_3d", "bcast_batch") else F64
        C.add("matmul_" + name, "matmul", [("input", randn(rng, *sa)), ("other", randn(rng, *sb))], dtypes=dts)
    rng = family_rng("linear")  # its own generator: the matmul cases above keep their values
    C.add("linear_2d_bias", "linear", [("input", randn(rng, 3, 4)), ("weight", randn(rng, 5, 4)),
                                       ("bias", randn(rng, 5))], dtypes=BOTH)
    C.add("linear_3d_nobias", "linear", [("input", randn(rng, 2, 3, 4)), ("weight", randn(rng, 2, 4))])


def fam_shape(C):
    rng = family_rng("shape")
    C.add("reshape_neg1", "reshape", [("input", randn(rng, 2, 3, 4))], {"shape": "4,-1"}, BOTH)
    C.add("reshape_add_ones", "reshape", [("input", randn(rng, 6))], {"shape": "2,1,3"})
    C.add("reshape_scalar_to_1x1", "reshape", [("input", randn(rng))], {"shape": "1,1"})
    C.add("reshape_empty", "reshape", [("input", randn(rng, 0, 4))], {"shape": "2,0,2"})
    C.add("view_neg1", "view", [("input", randn(rng, 2, 3, 4))], {"shape": "-1,4"}, BOTH)
    C.add("view_flat", "view", [("input", randn(rng, 2, 3))], {"shape": "6"})
    C.add("permute_3d", "permute", [("input", randn(rng, 2, 3, 4))], {"dims": "2,0,1"}, BOTH)
    C.add("permute_neg", "permute", [("input", randn(rng, 2, 3, 4))], {"dims": "-1,0,1"})
    C.add("permute_4d", "permute", [("input", randn(rng, 2, 1, 3, 2))], {"dims": "0,2,3,1"})
    C.add("transpose_0_2", "transpose", [("input", randn(rng, 2, 3, 4))], {"dim0": "0", "dim1": "2"}, BOTH)
    C.add("transpose_neg", "transpose", [("input", randn(rng, 3, 4))], {"dim0": "-1", "dim1": "0"})
    C.add("transpose_same", "transpose", [("input", randn(rng, 2, 3))], {"dim0": "1", "dim1": "1"})
    C.add("expand_new_lead", "expand", [("input", randn(rng, 3, 1))], {"size": "2,3,4"}, BOTH)
    C.add("expand_neg1", "expand", [("input", randn(rng, 3, 1))], {"size": "-1,5"})
    C.add("expand_neg1_new_lead", "expand", [("input", randn(rng, 1, 3))], {"size": "2,4,-1"})
    C.add("expand_from_1", "expand", [("input", randn(rng, 1))], {"size": "2,3"})
    C.add("expand_scalar", "expand", [("input", randn(rng))], {"size": "2,2"})
    C.add("expand_same", "expand", [("input", randn(rng, 2, 3))], {"size": "2,3"})
    # cat / stack: list input "tensors", gradients grad_tensors_0, grad_tensors_1, ...
    C.add("cat_dim0", "cat", [("tensors", randn(rng, 2, 3)), ("tensors", randn(rng, 1, 3)),
                              ("tensors", randn(rng, 3, 3))], dtypes=BOTH)
    C.add("cat_dim1", "cat", [("tensors", randn(rng, 2, 1, 2)), ("tensors", randn(rng, 2, 3, 2))], {"dim": "1"})
    C.add("cat_dim_neg", "cat", [("tensors", randn(rng, 2, 3)), ("tensors", randn(rng, 2, 2))], {"dim": "-1"})
    C.add("cat_empty_piece", "cat", [("tensors", randn(rng, 2, 0, 3)), ("tensors", randn(rng, 2, 2, 3))],
          {"dim": "1"})
    C.add("cat_single", "cat", [("tensors", randn(rng, 2, 3))], {"dim": "0"})
    C.add("cat_1d", "cat", [("tensors", randn(rng, 2)), ("tensors", randn(rng, 3))])
    C.add("concat_alias", "concat", [("tensors", randn(rng, 1, 2)), ("tensors", randn(rng, 2, 2))], {"dim": "0"})
    C.add("stack_dim0", "stack", [("tensors", randn(rng, 2, 3)), ("tensors", randn(rng, 2, 3)),
                                  ("tensors", randn(rng, 2, 3))], dtypes=BOTH)
    C.add("stack_dim_last", "stack", [("tensors", randn(rng, 2, 3)), ("tensors", randn(rng, 2, 3))], {"dim": "2"})
    C.add("stack_dim_neg", "stack", [("tensors", randn(rng, 3)), ("tensors", randn(rng, 3))], {"dim": "-1"})
    C.add("stack_scalars", "stack", [("tensors", randn(rng)), ("tensors", randn(rng)), ("tensors", randn(rng))])
    # split / chunk: several outputs out0, out1, ...
    C.add("split_int_uneven", "split", [("tensor", randn(rng, 5, 2))], {"split_size_or_sections": "2"}, BOTH)
    C.add("split_sections", "split", [("tensor", randn(rng, 2, 6))], {"split_size_or_sections": "1,3,2", "dim": "1"},
          BOTH)
    C.add("split_neg_dim", "split", [("tensor", randn(rng, 2, 3, 4))], {"split_size_or_sections": "3", "dim": "-1"})
    C.add("split_empty_section", "split", [("tensor", randn(rng, 5))], {"split_size_or_sections": "2,0,3"})
    C.add("split_one_piece", "split", [("tensor", randn(rng, 3, 2))], {"split_size_or_sections": "4"})
    C.add("chunk_uneven", "chunk", [("input", randn(rng, 5, 2))], {"chunks": "3"}, BOTH)
    # documented: torch.chunk(6 rows, 4) gives 3 chunks of 2 (chunk size = ceil(6/4) = 2)
    C.add("chunk_fewer", "chunk", [("input", randn(rng, 6))], {"chunks": "4"})
    C.add("chunk_neg_dim", "chunk", [("input", randn(rng, 2, 4))], {"chunks": "2", "dim": "-1"})
    C.add("narrow_dim0", "narrow", [("input", randn(rng, 4, 3))], {"dim": "0", "start": "1", "length": "2"}, BOTH)
    C.add("narrow_neg", "narrow", [("input", randn(rng, 2, 5))], {"dim": "-1", "start": "-3", "length": "2"})
    C.add("narrow_empty", "narrow", [("input", randn(rng, 3, 2))], {"dim": "0", "start": "1", "length": "0"})
    C.add("slice_step2", "slice", [("input", randn(rng, 2, 7))], {"dim": "1", "start": "1", "end": "none", "step": "2"},
          BOTH)
    C.add("slice_neg_start", "slice", [("input", randn(rng, 6, 2))], {"dim": "0", "start": "-3"})
    C.add("slice_neg_end_step2", "slice", [("input", randn(rng, 2, 3, 6))],
          {"dim": "-1", "start": "0", "end": "-1", "step": "2"})
    C.add("slice_end_past", "slice", [("input", randn(rng, 5))], {"dim": "0", "start": "-4", "end": "9", "step": "3"})
    C.add("slice_empty", "slice", [("input", randn(rng, 4, 2))], {"dim": "0", "start": "3", "end": "1"})
    # index_select / gather: repeated indices accumulate their gradients
    C.add("index_select_rep", "index_select", [("input", randn(rng, 4, 3)), ("index", idx([2, 0, 2, 1, 2]))],
          {"dim": "0"}, BOTH)
    C.add("index_select_neg_dim", "index_select", [("input", randn(rng, 2, 3, 4)), ("index", idx([3, 3, 0]))],
          {"dim": "-1"})
    C.add("index_select_empty", "index_select", [("input", randn(rng, 3, 2)), ("index", idx([]))], {"dim": "0"})
    C.add("gather_rep", "gather", [("input", randn(rng, 3, 4)), ("index", idx([[0, 0, 3], [1, 2, 1], [3, 3, 3]]))],
          {"dim": "1"}, BOTH)
    C.add("gather_dim0_smaller", "gather", [("input", randn(rng, 4, 3)), ("index", idx([[3, 0], [3, 1]]))],
          {"dim": "0"})
    C.add("gather_neg_dim_3d", "gather", [("input", randn(rng, 2, 3, 4)),
                                          ("index", rng.integers(0, 4, (2, 3, 5)).astype(np.int64))], {"dim": "-1"})
    # pad: list is last dim first; negative amounts crop
    C.add("pad_last", "pad", [("input", randn(rng, 2, 3))], {"pad": "1,2"}, BOTH)
    C.add("pad_two_dims", "pad", [("input", randn(rng, 2, 3))], {"pad": "1,0,2,1"})
    C.add("pad_three_dims_value", "pad", [("input", randn(rng, 2, 2, 3))], {"pad": "0,1,1,0,2,2", "value": "1.5"},
          BOTH)
    C.add("pad_negative_crop", "pad", [("input", randn(rng, 3, 4))], {"pad": "-1,1,0,-1"})
    C.add("pad_all_negative", "pad", [("input", randn(rng, 2, 4, 5))], {"pad": "-1,-2,-1,0"})


def fam_activation(C):
    rng = family_rng("activation")
    gens = {
        "relu": (lambda *s: away(randn(rng, *s), [0.0]), {}),
        "sigmoid": (lambda *s: randn(rng, *s, scale=2.0), {}),
        "tanh": (lambda *s: randn(rng, *s, scale=1.5), {}),
        "silu": (lambda *s: randn(rng, *s, scale=2.0), {}),
        "leaky_relu": (lambda *s: away(randn(rng, *s), [0.0]), {}),
        "softplus": (lambda *s: randn(rng, *s, scale=2.0), {}),
    }
    for op, (g, attrs) in gens.items():
        C.add(op + "_3d", op, [("input", g(2, 3, 4))], attrs, BOTH)
        C.add(op + "_scalar", op, [("input", g())], attrs)
        C.add(op + "_empty", op, [("input", g(0, 3))], attrs)
    C.add("leaky_relu_slope", "leaky_relu", [("input", away(randn(rng, 3, 4), [0.0]))], {"negative_slope": "0.2"}, BOTH)
    # softplus is linear where beta*x > threshold: the inputs cross that point (x = 1.5 here)
    C.add("softplus_threshold", "softplus", [("input", away(uniform(rng, -3, 4, 3, 5), [1.5]))],
          {"beta": "2", "threshold": "3"}, BOTH)
    C.add("softplus_beta_half", "softplus", [("input", away(uniform(rng, -4, 6, 2, 4), [2.0]))],
          {"beta": "0.5", "threshold": "1"})
    C.add("softplus_default_large", "softplus", [("input", np.array([-30.0, -1.0, 0.5, 19.0, 21.0, 30.0]))])
    for op in ("softmax", "log_softmax"):
        C.add(op + "_dim1", op, [("input", randn(rng, 2, 5))], {"dim": "1"}, BOTH)
        C.add(op + "_dim_neg", op, [("input", randn(rng, 2, 3, 4, scale=2.0))], {"dim": "-1"}, BOTH)
        C.add(op + "_dim0", op, [("input", randn(rng, 3, 2))], {"dim": "0"})
        C.add(op + "_size1_dim", op, [("input", randn(rng, 2, 1, 3))], {"dim": "1"})
        C.add(op + "_large", op, [("input", np.array([[100.0, 101.0, 99.5], [-50.0, -52.0, -49.0]]))], {"dim": "1"})


def fam_loss(C):
    rng = family_rng("loss")
    for op in ("mse_loss", "l1_loss"):
        for red in ("none", "sum", "mean"):
            x = randn(rng, 3, 4)
            y = x + away(randn(rng, 3, 4), [0.0])      # l1 kink at input == target
            C.add("%s_%s" % (op, red), op, [("input", x), ("target", y)], {"reduction": red},
                  BOTH if red == "mean" else F64)
        x = randn(rng, 2, 3, 2)
        C.add(op + "_default_3d", op, [("input", x), ("target", x + away(randn(rng, 2, 3, 2), [0.0]))])
        C.add(op + "_scalar", op, [("input", np.array(0.4)), ("target", np.array(-0.3))])
    for beta, red, dts in (("1.0", "mean", BOTH), ("0.5", "none", F64), ("2", "sum", F64), ("0", "mean", F64)):
        x = randn(rng, 3, 5, scale=1.5)
        d = away(randn(rng, 3, 5, scale=1.5), [0.0, -float(beta), float(beta)])
        C.add("smooth_l1_loss_beta%s_%s" % (beta, red), "smooth_l1_loss", [("input", x), ("target", x + d)],
              {"reduction": red, "beta": beta}, dts)
    # binary_cross_entropy_with_logits: soft targets incl. exact 0 and 1
    def bce_target(*s):
        t = rng.uniform(0, 1, s)
        t.flat[0], t.flat[-1] = 0.0, 1.0
        return t
    bce = "binary_cross_entropy_with_logits"
    for red in ("mean", "sum", "none"):
        C.add("bce_logits_" + red, bce, [("input", randn(rng, 3, 4, scale=2.0)), ("target", bce_target(3, 4))],
              {"reduction": red}, BOTH if red == "mean" else F64)
    C.add("bce_logits_weight", bce, [("input", randn(rng, 3, 4)), ("target", bce_target(3, 4)),
                                     ("weight", positive(rng, 3, 4))], {"reduction": "mean"})
    C.add("bce_logits_weight_bcast", bce, [("input", randn(rng, 3, 4)), ("target", bce_target(3, 4)),
                                           ("weight", positive(rng, 4))], {"reduction": "sum"}, BOTH)
    C.add("bce_logits_pos_weight", bce, [("input", randn(rng, 3, 4)), ("target", bce_target(3, 4)),
                                         ("pos_weight", positive(rng, 4))], {"reduction": "mean"}, BOTH)
    C.add("bce_logits_both_weights", bce, [("input", randn(rng, 2, 3)), ("target", bce_target(2, 3)),
                                           ("weight", positive(rng, 2, 1)), ("pos_weight", positive(rng, 3))],
          {"reduction": "none"})
    C.add("bce_logits_spatial_pos_weight", bce, [("input", randn(rng, 2, 3, 4)), ("target", bce_target(2, 3, 4)),
                                                 ("pos_weight", positive(rng, 3, 1))], {"reduction": "mean"})
    C.add("bce_logits_large", bce, [("input", np.array([-40.0, -5.0, 0.0, 5.0, 40.0])),
                                    ("target", np.array([0.0, 1.0, 0.5, 0.0, 1.0]))], {"reduction": "none"})
    # cross_entropy / nll_loss: class-index targets, optional class weights, ignore_index, spatial inputs
    N, Cc = 5, 4
    tgt = idx([0, 3, 1, 3, 2])
    tgt_ign = idx([0, -100, 2, 3, -100])
    tgt_ign1 = idx([1, 0, 1, 2, 3])
    w = positive(rng, Cc, lo=0.3, hi=2.0)
    ce = "cross_entropy"
    for red in ("mean", "sum", "none"):
        C.add("cross_entropy_" + red, ce, [("input", randn(rng, N, Cc)), ("target", tgt)], {"reduction": red},
              BOTH if red == "mean" else F64)
    C.add("cross_entropy_weight", ce, [("input", randn(rng, N, Cc)), ("target", tgt), ("weight", w)], dtypes=BOTH)
    C.add("cross_entropy_weight_sum", ce, [("input", randn(rng, N, Cc)), ("target", tgt), ("weight", w)],
          {"reduction": "sum"})
    C.add("cross_entropy_ignore_default", ce, [("input", randn(rng, N, Cc)), ("target", tgt_ign)])
    C.add("cross_entropy_ignore_1_weight", ce, [("input", randn(rng, N, Cc)), ("target", tgt_ign1), ("weight", w)],
          {"ignore_index": "1", "reduction": "mean"})
    C.add("cross_entropy_ignore_none_red", ce, [("input", randn(rng, N, Cc)), ("target", tgt_ign)],
          {"reduction": "none"})
    C.add("cross_entropy_smoothing", ce, [("input", randn(rng, N, Cc)), ("target", tgt)],
          {"label_smoothing": "0.1"}, BOTH)
    C.add("cross_entropy_smoothing_weight", ce, [("input", randn(rng, N, Cc)), ("target", tgt), ("weight", w)],
          {"label_smoothing": "0.2"})
    C.add("cross_entropy_smoothing_ignore", ce, [("input", randn(rng, N, Cc)), ("target", tgt_ign)],
          {"label_smoothing": "0.15", "reduction": "mean"})
    C.add("cross_entropy_smoothing_weight_ignore_sum", ce,
          [("input", randn(rng, N, Cc)), ("target", tgt_ign), ("weight", w)],
          {"label_smoothing": "0.1", "reduction": "sum"})
    C.add("cross_entropy_smoothing_none", ce, [("input", randn(rng, N, Cc)), ("target", tgt_ign)],
          {"label_smoothing": "0.3", "reduction": "none"})
    sp_t = idx([[0, 2, 1], [2, -100, 0]])
    C.add("cross_entropy_spatial", ce, [("input", randn(rng, 2, 3, 3)), ("target", sp_t)], dtypes=BOTH)
    C.add("cross_entropy_spatial_none", ce, [("input", randn(rng, 2, 3, 3)), ("target", sp_t)], {"reduction": "none"})
    C.add("cross_entropy_spatial_weight", ce, [("input", randn(rng, 2, 3, 2, 2)),
                                               ("target", idx([[[0, 1], [2, 2]], [[1, -100], [0, 2]]])),
                                               ("weight", positive(rng, 3))], {"label_smoothing": "0.05"})
    nll = "nll_loss"
    for red in ("mean", "sum", "none"):
        C.add("nll_loss_" + red, nll, [("input", log_probs(rng, N, Cc)), ("target", tgt)], {"reduction": red},
              BOTH if red == "mean" else F64)
    C.add("nll_loss_weight", nll, [("input", log_probs(rng, N, Cc)), ("target", tgt), ("weight", w)], dtypes=BOTH)
    C.add("nll_loss_weight_none", nll, [("input", log_probs(rng, N, Cc)), ("target", tgt), ("weight", w)],
          {"reduction": "none"})
    C.add("nll_loss_ignore", nll, [("input", log_probs(rng, N, Cc)), ("target", tgt_ign), ("weight", w)])
    C.add("nll_loss_ignore_3", nll, [("input", log_probs(rng, N, Cc)), ("target", tgt)],
          {"ignore_index": "3", "reduction": "sum"})
    C.add("nll_loss_spatial", nll, [("input", log_probs(rng, 2, 3, 3)), ("target", sp_t)])
    # kl_div: input = log-probabilities; target = probabilities (or log-probabilities with log_target)
    for red in ("mean", "batchmean", "sum", "none"):
        C.add("kl_div_" + red, "kl_div", [("input", log_probs(rng, 3, 4)), ("target", probs(rng, 3, 4))],
              {"reduction": red}, BOTH if red == "batchmean" else F64)
        C.add("kl_div_log_target_" + red, "kl_div", [("input", log_probs(rng, 3, 4)),
                                                     ("target", log_probs(rng, 3, 4))],
              {"reduction": red, "log_target": "true"}, BOTH if red == "batchmean" else F64)
    C.add("kl_div_3d_default", "kl_div", [("input", log_probs(rng, 2, 3, 2)), ("target", probs(rng, 2, 3, 2, axis=1))])


FAMILIES = [fam_binary, fam_unary, fam_reduce, fam_matmul, fam_shape, fam_activation, fam_loss]


# ----------------------------------------------------------------------------------------------
# 5. Running a case: forward, backward, files.
# ----------------------------------------------------------------------------------------------
def input_keys(inputs):
    """[(name, array)] -> [(key, name, array)]; list inputs get keys tensors_0, tensors_1, ..."""
    counts = {}
    for name, _ in inputs:
        counts[name] = counts.get(name, 0) + 1
    seen, out = {}, []
    for name, arr in inputs:
        if counts[name] > 1 or name == "tensors":
            k = seen.get(name, 0)
            seen[name] = k + 1
            out.append(("%s_%d" % (name, k), name, arr))
        else:
            out.append((name, name, arr))
    return out


def cast(arr, dtype):
    arr = np.asarray(arr)
    if arr.dtype.kind == "f":
        return arr.astype(DTYPES[dtype][0])
    if arr.dtype.kind == "b":
        return arr.astype(bool)
    return arr.astype(np.int64)


def forward(op, keyed, attrs, requires):
    """Build fresh leaf tensors (those in `requires` need grad) and run the op."""
    leaves, t = {}, {}
    for key, name, arr in keyed:
        x = torch.from_numpy(arr.copy())
        if key in requires:
            x.requires_grad_(True)
        leaves[key] = x
        if name == "tensors":
            t.setdefault(name, []).append(x)
        else:
            t[name] = x
    outs = TORCH_OPS[op](t, attrs)
    return leaves, tuple(outs)


def differentiable_keys(op, keyed, attrs, grad_outs):
    """Float inputs PyTorch can differentiate, each probed alone (some, e.g. the class weights of
    nll_loss, refuse requires_grad; those simply get no golden gradient)."""
    keys, skipped = [], []
    for key, _, arr in keyed:
        if arr.dtype.kind != "f":
            continue
        try:
            leaves, outs = forward(op, keyed, attrs, {key})
            pairs = [(o, g) for o, g in zip(outs, grad_outs) if g is not None and o.requires_grad]
            if pairs:
                torch.autograd.grad([o for o, _ in pairs], [leaves[key]], [g for _, g in pairs], allow_unused=True)
            keys.append(key)
        except RuntimeError as e:
            skipped.append((key, str(e).split("\n")[0]))
    return keys, skipped


def to_np(x):
    # (np.ascontiguousarray would turn a 0-d array into shape (1,))
    return np.array(x.detach().numpy(), order="C", copy=True)


def scale_of(arrays):
    m = 0.0
    for a in arrays:
        if a.dtype.kind == "f" and a.size:
            m = max(m, float(np.max(np.abs(a))))
    return m


def round_up_1sig(x):
    """3.2e-12 -> 4e-12: tolerances that read well in the manifest."""
    e = int(np.floor(np.log10(x)))
    m = int(np.ceil(x / 10.0 ** e - 1e-9))
    return float("%de%d" % (m, e))


def tolerances(op, dtype, arrays):
    s = max(1.0, scale_of(arrays))
    if dtype == "f64":
        return 1e-10, round_up_1sig(1e-12 * s)
    return 1e-5, round_up_1sig((2e-6 if op in ACCUMULATING else 1e-6) * s)


def save(rel, arr):
    np.save(os.path.join(HERE, rel), arr, allow_pickle=False)
    return rel


def run_case(spec, notes):
    name, op, dtype, attrs = spec["name"], spec["op"], spec["dtype"], spec["attrs"]
    keyed = [(k, n, cast(a, dtype)) for k, n, a in input_keys(spec["inputs"])]
    rng = np.random.default_rng(zlib.crc32(name.encode()))

    # upstream gradients: one per floating output, random and non-uniform
    _, outs0 = forward(op, keyed, attrs, set())
    grad_outs = []
    for o in outs0:
        if o.is_floating_point():
            g = rng.uniform(0.5, 1.5, tuple(o.shape)) * rng.choice([-1.0, 1.0], tuple(o.shape))
            grad_outs.append(torch.from_numpy(cast(g, dtype)))
        else:
            grad_outs.append(None)

    keys, skipped = differentiable_keys(op, keyed, attrs, grad_outs)
    for key, msg in skipped:
        notes.append("%s: no gradient for %s (%s)" % (name, key, msg))
    leaves, outs = forward(op, keyed, attrs, set(keys))
    grads = {}
    pairs = [(o, g) for o, g in zip(outs, grad_outs) if g is not None and o.requires_grad]
    if keys and pairs:
        gs = torch.autograd.grad([o for o, _ in pairs], [leaves[k] for k in keys], [g for _, g in pairs],
                                 allow_unused=True)
        for k, g in zip(keys, gs):
            grads[k] = to_np(g) if g is not None else np.zeros_like(leaves[k].detach().numpy())
    elif keys:  # no output depends on the inputs (cannot happen for the ops above, kept for safety)
        for k in keys:
            grads[k] = np.zeros_like(leaves[k].detach().numpy())

    entry = {"name": name, "op": op, "dtype": dtype, "inputs": [], "attrs": attrs,
             "outputs": [], "grad_outs": [], "grads": {}}
    every = []
    for key, nm, arr in keyed:
        entry["inputs"].append([nm, save("ops/%s.%s.npy" % (name, key), arr)])
        every.append(arr)
    for i, (o, g) in enumerate(zip(outs, grad_outs)):
        arr = to_np(o)
        entry["outputs"].append(save("ops/%s.out%d.npy" % (name, i), arr))
        entry["grad_outs"].append(None if g is None else save("ops/%s.grad_out%d.npy" % (name, i), to_np(g)))
        every.append(arr)
    for key, _, _ in keyed:
        if key in grads:
            entry["grads"][key] = save("ops/%s.grad_%s.npy" % (name, key), grads[key])
            every.append(grads[key])
    entry["rtol"], entry["atol"] = tolerances(op, dtype, every)
    return entry


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="reduction: 'mean' divides")  # kl_div mean is a case on purpose
    os.makedirs(OPS_DIR, exist_ok=True)
    for f in os.listdir(OPS_DIR):          # drop stale files of renamed/removed cases
        if f.endswith(".npy"):
            os.remove(os.path.join(OPS_DIR, f))

    C = Cases()
    for fam in FAMILIES:
        fam(C)
    notes, entries = [], []
    for spec in C.specs:
        entries.append(run_case(spec, notes))

    manifest = {"generator": "gen_golden.py", "torch": torch.__version__, "cases": entries}
    with open(MANIFEST, "w") as f:           # one case per line: readable diffs
        head = json.dumps({k: v for k, v in manifest.items() if k != "cases"})[:-1]
        f.write(head + ', "cases": [\n')
        f.write(",\n".join(json.dumps(e) for e in entries))
        f.write("\n]}\n")

    ops = sorted({e["op"] for e in entries})
    missing = sorted(set(TORCH_OPS) - set(ops))
    size = sum(os.path.getsize(os.path.join(OPS_DIR, f)) for f in os.listdir(OPS_DIR))
    if "-v" in sys.argv:
        for n in notes:
            print("  " + n)
    print("gen_golden: %d cases (%d f64, %d f32) over %d ops, %d files, %.1f KB in ops/, %d gradients skipped%s"
          % (len(entries), sum(e["dtype"] == "f64" for e in entries), sum(e["dtype"] == "f32" for e in entries),
             len(ops), len(os.listdir(OPS_DIR)), size / 1024.0, len(notes),
             ("; ops without cases: " + ",".join(missing)) if missing else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
