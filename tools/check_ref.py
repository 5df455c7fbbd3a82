#!/usr/bin/env python3
"""Random cross-check of `detgrad ref` against PyTorch.

For every op of docs/ref.md this draws fresh random problems (shapes with broadcasting, size-1 dims,
0-d and empty tensors, negative dims, random attributes), runs

    <bin> ref OP --in NAME=FILE ... --attr KEY=VALUE ... --grad-out FILE ... --out DIR

and compares DIR/out*.npy and DIR/grad_*.npy with PyTorch autograd in the same dtype. The error of an
array is max|got - want| / max(max|want|, tiny); limits: f64 1e-10, f32 1e-5 (an f32 array that misses
also passes if it is at least as close to the exact answer, PyTorch in f64 on the same inputs, as
PyTorch's own f32 answer is). Integer outputs must match exactly. PyTorch is installed for the system python only, so run it as

    /usr/bin/python3 tools/check_ref.py                       # all ops, seed 0, 3 trials per op and dtype
    /usr/bin/python3 tools/check_ref.py --ops matmul,cat --seed 7 --trials 20
    /usr/bin/python3 tools/check_ref.py --dry-run --ops pad   # only print the commands (no binary needed)
    /usr/bin/python3 tools/check_ref.py --list-missing        # ops that `detgrad ref --list` doesn't mention

Exit status: 0 when everything passed, 1 on any failure (or missing op with --list-missing), 2 on usage
errors. A failure prints the command line that reproduces it; its input files are kept under --work.

This is independent of tests/golden/gen_golden.py on purpose: it has its own PyTorch mapping and draws
new shapes on every seed, so it can catch what a fixed set of golden cases (or their generator) misses.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMITS = {"f64": 1e-10, "f32": 1e-5}
NP_DTYPE = {"f64": np.float64, "f32": np.float32}


# =================================================================================================
# Random shapes and values
# =================================================================================================
def rand_shape(rng, min_rank=0, max_rank=4, max_dim=4, p_one=0.25, p_empty=0.0):
    rank = int(rng.integers(min_rank, max_rank + 1))
    dims = []
    for _ in range(rank):
        u = rng.random()
        dims.append(0 if u < p_empty else 1 if u < p_empty + p_one else int(rng.integers(2, max_dim + 1)))
    return tuple(dims)


def broadcast_shapes(rng, n, p_empty=0.0):
    """n shapes that broadcast together: each drops some leading dims and sets some dims to 1."""
    full = rand_shape(rng, 0, 4, p_empty=p_empty)
    out = []
    for _ in range(n):
        s = list(full[int(rng.integers(0, len(full) + 1)):])
        for i in range(len(s)):
            if rng.random() < 0.3:
                s[i] = 1
        out.append(tuple(s))
    return out


def neg_dim(rng, d, rank):
    """Use the negative spelling of dim d half the time."""
    return d - rank if rank and rng.random() < 0.5 else d


def normal(rng, shape, scale=1.0):
    return rng.standard_normal(shape) * scale


def positive(rng, shape):
    return rng.uniform(0.25, 3.0, shape)


def off_kinks(x, kinks, gap=1e-2):
    """Keep every value at least `gap` from the non-differentiable points."""
    for k in kinks:
        d = x - k
        x = np.where(np.abs(d) < gap, k + np.where(d >= 0, 1.0, -1.0) * (gap + np.abs(d)), x)
    return x


def tie_free(rng, shapes, gap=1e-2):
    """Arrays of the given shapes whose values are pairwise at least `gap` apart (across all arrays)."""
    n = sum(int(np.prod(s)) for s in shapes)
    pool = (rng.permutation(n) - n / 2.0) * (4 * gap) + rng.uniform(0, gap, n)
    out, i = [], 0
    for s in shapes:
        k = int(np.prod(s))
        out.append(pool[i:i + k].reshape(s))
        i += k
    return out


def log_softmax_np(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def csv(values):
    return ",".join(str(int(v)) for v in values)


# =================================================================================================
# Problem generators: rng -> (inputs [(name, array)], attrs {key: string}). One per op family.
# =================================================================================================
def gen_binary(op):
    def g(rng):
        sa, sb = broadcast_shapes(rng, 2, p_empty=0.1)
        if op in ("minimum", "maximum"):
            a, b = tie_free(rng, [sa, sb])
        else:
            a, b = normal(rng, sa), normal(rng, sb)
        if op == "div":
            b = off_kinks(b, [0.0], gap=0.3)
        attrs = {}
        if op in ("add", "sub") and rng.random() < 0.5:
            attrs["alpha"] = str(rng.choice(["2", "-0.5", "1.5", "0"]))
        return [("input", a), ("other", b)], attrs
    return g


UNARY_INPUT = {
    "neg": lambda rng, s: normal(rng, s),
    "exp": lambda rng, s: normal(rng, s, 2.0),
    "log": positive,
    "sqrt": positive,
    "abs": lambda rng, s: off_kinks(normal(rng, s), [0.0]),
    "relu": lambda rng, s: off_kinks(normal(rng, s), [0.0]),
    "sigmoid": lambda rng, s: normal(rng, s, 3.0),
    "tanh": lambda rng, s: normal(rng, s, 2.0),
    "silu": lambda rng, s: normal(rng, s, 3.0),
}


def gen_unary(op):
    def g(rng):
        return [("input", UNARY_INPUT[op](rng, rand_shape(rng, p_empty=0.1)))], {}
    return g


def gen_leaky_relu(rng):
    attrs = {} if rng.random() < 0.3 else {"negative_slope": str(rng.choice(["0.2", "0.01", "1.5", "-0.1"]))}
    return [("input", off_kinks(normal(rng, rand_shape(rng)), [0.0]))], attrs


def gen_softplus(rng):
    beta, threshold = rng.choice([1.0, 2.0, 0.5]), rng.choice([20.0, 3.0, 1.0])
    x = off_kinks(normal(rng, rand_shape(rng), 4.0), [threshold / beta])   # crosses the linear switch
    attrs = {}
    if beta != 1.0 or rng.random() < 0.3:
        attrs["beta"] = "%g" % beta
    if threshold != 20.0 or rng.random() < 0.3:
        attrs["threshold"] = "%g" % threshold
    return [("input", x)], attrs


def gen_pow(rng):
    if rng.random() < 0.5:
        sa, sb = broadcast_shapes(rng, 2)
        return [("input", positive(rng, sa)), ("exponent", normal(rng, sb))], {}
    e = str(rng.choice(["2", "3", "1", "0", "0.5", "-1.5", "2.5", "-2"]))
    x = normal(rng, rand_shape(rng)) if float(e) == int(float(e)) else positive(rng, rand_shape(rng))
    if float(e) < 0:
        x = off_kinks(x, [0.0], gap=0.3)
    return [("input", x)], {"exponent": e}


def gen_clamp(rng):
    lo, hi = sorted(rng.uniform(-1, 1, 2))
    kind = rng.choice(["min", "max", "both", "none_min", "none_max"])
    attrs = {"min": "%.3f" % lo, "max": "%.3f" % hi}
    if kind == "min":
        del attrs["max"]
    elif kind == "max":
        del attrs["min"]
    elif kind == "none_min":
        attrs["min"] = "none"
    elif kind == "none_max":
        attrs["max"] = "none"
    bounds = [float(v) for v in attrs.values() if v != "none"]
    return [("input", off_kinks(normal(rng, rand_shape(rng)), bounds))], attrs


def gen_where(rng):
    sc, sa, sb = broadcast_shapes(rng, 3)
    return [("condition", rng.random(sc) < 0.5), ("input", normal(rng, sa)), ("other", normal(rng, sb))], {}


def random_dims(rng, rank):
    k = int(rng.integers(1, rank + 1))
    dims = sorted(rng.choice(rank, k, replace=False))
    return [neg_dim(rng, int(d), rank) for d in dims]


def gen_reduce(op):
    """sum, mean, var: dim none or a random subset of dims, keepdim random."""
    def g(rng):
        p_empty = 0.15 if op == "sum" else 0.0
        shape = rand_shape(rng, 0, 4, p_empty=p_empty)
        attrs = {}
        if op == "var":
            attrs["correction"] = str(rng.choice([0, 1, 2]))
            shape = tuple(max(d, 3) for d in shape) if shape else (4,)   # keep count > correction
        if shape and rng.random() < 0.75:
            attrs["dim"] = csv(random_dims(rng, len(shape)))
            if rng.random() < 0.6:
                attrs["keepdim"] = str(rng.choice(["true", "false"]))
        elif rng.random() < 0.3:
            attrs["dim"] = "none"
        return [("input", normal(rng, shape))], attrs
    return g


def gen_maxmin(rng):
    shape = rand_shape(rng, 0, 4)
    attrs = {}
    if shape and rng.random() < 0.7:
        attrs["dim"] = str(neg_dim(rng, int(rng.integers(0, len(shape))), len(shape)))
        if rng.random() < 0.6:
            attrs["keepdim"] = str(rng.choice(["true", "false"]))
    return [("input", tie_free(rng, [shape])[0])], attrs


def gen_matmul(rng):
    """1-D, 2-D and batched operands; batch dims broadcast (some set to 1); k = 0 now and then."""
    ra, rb = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    n, k, m = (int(v) for v in rng.integers(1, 5, 3))
    if rng.random() < 0.1:
        k = 0
    batch = rand_shape(rng, 2, 2)

    def operand(rank, mat):
        if rank == 1:
            return (k,)
        b = [1 if rng.random() < 0.3 else d for d in batch[len(batch) - (rank - 2):]] if rank > 2 else []
        return tuple(b) + mat
    return [("input", normal(rng, operand(ra, (n, k)))), ("other", normal(rng, operand(rb, (k, m))))], {}


def gen_reshape(op):
    def g(rng):
        shape = rand_shape(rng, 1, 4, p_empty=0.05)
        n = int(np.prod(shape))
        # a target shape with the same number of elements: shuffle the dims, merge a pair, maybe add 1s
        target = list(rng.permutation(shape)) if len(shape) else []
        if len(target) >= 2 and rng.random() < 0.5:
            target = [target[0] * target[1]] + target[2:]
        if rng.random() < 0.3:
            target.insert(int(rng.integers(0, len(target) + 1)), 1)
        if n > 0 and target and rng.random() < 0.6:
            target[int(rng.integers(0, len(target)))] = -1
        return [("input", normal(rng, shape))], {"shape": csv(target) if target else "1"}
    return g


def gen_permute(rng):
    shape = rand_shape(rng, 1, 4)
    perm = [neg_dim(rng, int(d), len(shape)) for d in rng.permutation(len(shape))]
    return [("input", normal(rng, shape))], {"dims": csv(perm)}


def gen_transpose(rng):
    shape = rand_shape(rng, 1, 4)
    d0, d1 = (neg_dim(rng, int(rng.integers(0, len(shape))), len(shape)) for _ in range(2))
    return [("input", normal(rng, shape))], {"dim0": str(d0), "dim1": str(d1)}


def gen_expand(rng):
    shape = rand_shape(rng, 0, 3, p_one=0.5)
    size = [int(rng.integers(1, 4)) for _ in range(int(rng.integers(0, 3)))]   # new leading dims
    for d in shape:
        if d == 1:
            size.append(int(rng.choice([-1, 1, 2, 3])))
        else:
            size.append(int(rng.choice([-1, d])))
    if not size:
        size = [2]
    return [("input", normal(rng, shape))], {"size": csv(size)}


def gen_cat(op):
    def g(rng):
        base = list(rand_shape(rng, 1, 3))
        dim = int(rng.integers(0, len(base)))
        pieces = []
        for _ in range(int(rng.integers(1, 4))):
            s = list(base)
            s[dim] = int(rng.integers(0, 4)) if rng.random() < 0.2 else int(rng.integers(1, 4))
            pieces.append(("tensors", normal(rng, tuple(s))))
        attrs = {} if (dim == 0 and rng.random() < 0.5) else {"dim": str(neg_dim(rng, dim, len(base)))}
        return pieces, attrs
    return g


def gen_stack(rng):
    shape = rand_shape(rng, 0, 3)
    dim = int(rng.integers(0, len(shape) + 1))
    pieces = [("tensors", normal(rng, shape)) for _ in range(int(rng.integers(1, 4)))]
    return pieces, {"dim": str(neg_dim(rng, dim, len(shape) + 1))}


def gen_split(rng):
    shape = rand_shape(rng, 1, 3, max_dim=6)
    dim = int(rng.integers(0, len(shape)))
    n = shape[dim]
    if rng.random() < 0.5:
        arg = str(int(rng.integers(1, n + 2)))
    else:
        cuts = sorted(rng.integers(0, n + 1, int(rng.integers(0, 3))))
        arg = csv(np.diff([0] + list(cuts) + [n]))
        if "," not in arg:
            arg = arg + ",0"          # keep it a list (a one-element list would read as an int)
    return [("tensor", normal(rng, shape))], {"split_size_or_sections": arg, "dim": str(neg_dim(rng, dim, len(shape)))}


def gen_chunk(rng):
    shape = rand_shape(rng, 1, 3, max_dim=6)
    dim = int(rng.integers(0, len(shape)))
    return [("input", normal(rng, shape))], {"chunks": str(int(rng.integers(1, shape[dim] + 2))),
                                             "dim": str(neg_dim(rng, dim, len(shape)))}


def gen_narrow(rng):
    shape = rand_shape(rng, 1, 3, max_dim=6)
    dim = int(rng.integers(0, len(shape)))
    n = shape[dim]
    start = int(rng.integers(0, n + 1))
    length = int(rng.integers(0, n - start + 1))
    if start < n and rng.random() < 0.4:
        start -= n                    # negative start counts from the end
    return [("input", normal(rng, shape))], {"dim": str(neg_dim(rng, dim, len(shape))), "start": str(start),
                                             "length": str(length)}


def gen_slice(rng):
    shape = rand_shape(rng, 1, 3, max_dim=7)
    dim = int(rng.integers(0, len(shape)))
    n = shape[dim]
    attrs = {"dim": str(neg_dim(rng, dim, len(shape)))}
    for key in ("start", "end"):
        u = rng.random()
        if u < 0.25:
            continue                  # default
        attrs[key] = "none" if u < 0.35 else str(int(rng.integers(-n - 2, n + 3)))
    if rng.random() < 0.7:
        attrs["step"] = str(int(rng.integers(1, 4)))
    return [("input", normal(rng, shape))], attrs


def gen_index_select(rng):
    shape = rand_shape(rng, 1, 3)
    dim = int(rng.integers(0, len(shape)))
    index = rng.integers(0, shape[dim], int(rng.integers(0, 7))).astype(np.int64)   # repeats likely
    return [("input", normal(rng, shape)), ("index", index)], {"dim": str(neg_dim(rng, dim, len(shape)))}


def gen_gather(rng):
    shape = rand_shape(rng, 1, 3)
    dim = int(rng.integers(0, len(shape)))
    ishape = tuple(int(rng.integers(1, 5)) if d == dim else int(rng.integers(1, s + 1)) for d, s in enumerate(shape))
    index = rng.integers(0, shape[dim], ishape).astype(np.int64)
    return [("input", normal(rng, shape)), ("index", index)], {"dim": str(neg_dim(rng, dim, len(shape)))}


def gen_pad(rng):
    shape = rand_shape(rng, 1, 4, max_dim=4)
    pad = []
    for d in reversed(shape[len(shape) - int(rng.integers(1, len(shape) + 1)):]):
        lo = int(rng.integers(-1, 3))
        hi = int(rng.integers(-1, 3))
        while d + lo + hi < 1:        # a crop must leave something
            lo, hi = lo + 1, hi + 1
        pad += [lo, hi]
    attrs = {"pad": csv(pad)}
    if rng.random() < 0.4:
        attrs["value"] = str(rng.choice(["0", "1.5", "-2"]))
    return [("input", normal(rng, shape))], attrs


def gen_softmax(rng):
    shape = rand_shape(rng, 1, 4)
    dim = int(rng.integers(0, len(shape)))
    return [("input", normal(rng, shape, 3.0))], {"dim": str(neg_dim(rng, dim, len(shape)))}


def gen_pointwise_loss(op):
    def g(rng):
        shape = rand_shape(rng, 0, 3)
        x = normal(rng, shape)
        attrs = {}
        if rng.random() < 0.8:
            attrs["reduction"] = str(rng.choice(["none", "sum", "mean"]))
        kinks = [0.0]
        if op == "smooth_l1_loss" and rng.random() < 0.7:
            beta = str(rng.choice(["0.5", "1.0", "2", "0"]))
            attrs["beta"] = beta
            kinks = [0.0, float(beta), -float(beta)]
        d = off_kinks(normal(rng, shape, 1.5), kinks) if op != "mse_loss" else normal(rng, shape)
        return [("input", x), ("target", x + d)], attrs
    return g


def gen_bce(rng):
    shape = rand_shape(rng, 1, 3)
    inputs = [("input", normal(rng, shape, 2.0)), ("target", rng.uniform(0, 1, shape))]
    if rng.random() < 0.5:
        inputs.append(("weight", positive(rng, broadcast_to_random(rng, shape))))
    if rng.random() < 0.5:
        inputs.append(("pos_weight", positive(rng, broadcast_to_random(rng, shape))))
    attrs = {"reduction": str(rng.choice(["none", "sum", "mean"]))} if rng.random() < 0.8 else {}
    return inputs, attrs


def broadcast_to_random(rng, shape):
    """A shape that broadcasts to `shape` (trailing dims kept or set to 1)."""
    s = list(shape[int(rng.integers(0, len(shape) + 1)):])
    return tuple(1 if rng.random() < 0.3 else d for d in s)


def gen_class_loss(op):
    def g(rng):
        n, c = int(rng.integers(1, 5)), int(rng.integers(2, 6))
        spatial = rand_shape(rng, 0, 2, max_dim=3)
        shape = (n, c) + spatial
        x = normal(rng, shape, 2.0)
        if op == "nll_loss":
            x = log_softmax_np(x, 1)
        target = rng.integers(0, c, (n,) + spatial).astype(np.int64)
        attrs = {}
        inputs = [("input", x), ("target", target)]
        if rng.random() < 0.5:
            inputs.append(("weight", positive(rng, (c,))))
        if rng.random() < 0.4:                     # some targets ignored, never all of them
            ign = int(rng.choice([-100, 0, c - 1]))
            if ign != -100 or rng.random() < 0.5:
                attrs["ignore_index"] = str(ign)
            flat = target.reshape(-1)
            hit = rng.random(flat.size) < 0.3
            hit[0] = False
            flat[hit] = ign
            if ign >= 0:
                flat[0] = (ign + 1) % c
        if rng.random() < 0.8:
            attrs["reduction"] = str(rng.choice(["none", "sum", "mean"]))
        if op == "cross_entropy" and rng.random() < 0.5:
            attrs["label_smoothing"] = str(rng.choice(["0.1", "0.25", "0"]))
        return inputs, attrs
    return g


def gen_kl_div(rng):
    shape = rand_shape(rng, 1, 3)
    x = log_softmax_np(normal(rng, shape), -1)
    log_target = rng.random() < 0.5
    t = log_softmax_np(normal(rng, shape), -1)
    attrs = {}
    if rng.random() < 0.8:
        attrs["reduction"] = str(rng.choice(["none", "sum", "mean", "batchmean"]))
    if log_target or rng.random() < 0.3:
        attrs["log_target"] = "true" if log_target else "false"
    return [("input", x), ("target", t if log_target else np.exp(t))], attrs


# =================================================================================================
# PyTorch side: (tensors, attribute strings) -> tuple of outputs
# =================================================================================================
def none_or(s, conv):
    return None if s is None or s == "none" else conv(s)


def int_list(s):
    return [int(v) for v in s.split(",")] if s else []


def red_dims(a):
    d = a.get("dim", "none")
    return None if d == "none" else int_list(d)


def t_sum_mean(fn):
    def f(t, a):
        dims = red_dims(a)
        if dims is None:
            return (fn(t["input"]),)
        return (fn(t["input"], dims, keepdim=a.get("keepdim", "false") == "true"),)
    return f


def t_maxmin(fn):
    def f(t, a):
        if a.get("dim", "none") == "none":
            return (fn(t["input"]),)
        r = fn(t["input"], int(a["dim"]), keepdim=a.get("keepdim", "false") == "true")
        return (r[0], r[1])
    return f


def t_slice(t, a):
    x = t["input"]
    d = int(a.get("dim", "0"))
    d = d + x.dim() if d < 0 else d
    sl = slice(none_or(a.get("start"), int), none_or(a.get("end"), int), int(a.get("step", "1")))
    return (x[(slice(None),) * d + (sl,)],)


def t_split(t, a):
    s = a["split_size_or_sections"]
    arg = int_list(s) if "," in s else int(s)
    return tuple(torch.split(t["tensor"], arg, dim=int(a.get("dim", "0"))))


def t_pow(t, a):
    return (torch.pow(t["input"], t["exponent"] if "exponent" in t else float(a["exponent"])),)


def red(a):
    return a.get("reduction", "mean")


def flt(a, key, default):
    return float(a.get(key, default))


# name -> (problem generator, PyTorch function)
OPS = {
    "add": (gen_binary("add"), lambda t, a: (torch.add(t["input"], t["other"], alpha=flt(a, "alpha", "1")),)),
    "sub": (gen_binary("sub"), lambda t, a: (torch.sub(t["input"], t["other"], alpha=flt(a, "alpha", "1")),)),
    "mul": (gen_binary("mul"), lambda t, a: (t["input"] * t["other"],)),
    "div": (gen_binary("div"), lambda t, a: (t["input"] / t["other"],)),
    "minimum": (gen_binary("minimum"), lambda t, a: (torch.minimum(t["input"], t["other"]),)),
    "maximum": (gen_binary("maximum"), lambda t, a: (torch.maximum(t["input"], t["other"]),)),
    "neg": (gen_unary("neg"), lambda t, a: (-t["input"],)),
    "exp": (gen_unary("exp"), lambda t, a: (torch.exp(t["input"]),)),
    "log": (gen_unary("log"), lambda t, a: (torch.log(t["input"]),)),
    "sqrt": (gen_unary("sqrt"), lambda t, a: (torch.sqrt(t["input"]),)),
    "abs": (gen_unary("abs"), lambda t, a: (torch.abs(t["input"]),)),
    "pow": (gen_pow, t_pow),
    "clamp": (gen_clamp, lambda t, a: (torch.clamp(t["input"], none_or(a.get("min"), float),
                                                   none_or(a.get("max"), float)),)),
    "where": (gen_where, lambda t, a: (torch.where(t["condition"], t["input"], t["other"]),)),
    "sum": (gen_reduce("sum"), t_sum_mean(torch.sum)),
    "mean": (gen_reduce("mean"), t_sum_mean(torch.mean)),
    "max": (gen_maxmin, t_maxmin(torch.max)),
    "min": (gen_maxmin, t_maxmin(torch.min)),
    "var": (gen_reduce("var"), lambda t, a: (torch.var(t["input"], red_dims(a), correction=int(a.get("correction", "1")),
                                                       keepdim=a.get("keepdim", "false") == "true"),)),
    "matmul": (gen_matmul, lambda t, a: (t["input"] @ t["other"],)),
    "reshape": (gen_reshape("reshape"), lambda t, a: (t["input"].reshape(int_list(a["shape"])),)),
    "view": (gen_reshape("view"), lambda t, a: (t["input"].view(int_list(a["shape"])),)),
    "permute": (gen_permute, lambda t, a: (t["input"].permute(int_list(a["dims"])),)),
    "transpose": (gen_transpose, lambda t, a: (t["input"].transpose(int(a["dim0"]), int(a["dim1"])),)),
    "expand": (gen_expand, lambda t, a: (t["input"].expand(int_list(a["size"])),)),
    "cat": (gen_cat("cat"), lambda t, a: (torch.cat(t["tensors"], int(a.get("dim", "0"))),)),
    "concat": (gen_cat("concat"), lambda t, a: (torch.cat(t["tensors"], int(a.get("dim", "0"))),)),
    "stack": (gen_stack, lambda t, a: (torch.stack(t["tensors"], int(a.get("dim", "0"))),)),
    "split": (gen_split, t_split),
    "chunk": (gen_chunk, lambda t, a: tuple(torch.chunk(t["input"], int(a["chunks"]), int(a.get("dim", "0"))))),
    "narrow": (gen_narrow, lambda t, a: (t["input"].narrow(int(a["dim"]), int(a["start"]), int(a["length"])),)),
    "slice": (gen_slice, t_slice),
    "index_select": (gen_index_select, lambda t, a: (t["input"].index_select(int(a["dim"]), t["index"]),)),
    "gather": (gen_gather, lambda t, a: (t["input"].gather(int(a["dim"]), t["index"]),)),
    "pad": (gen_pad, lambda t, a: (F.pad(t["input"], int_list(a["pad"]), value=flt(a, "value", "0")),)),
    "relu": (gen_unary("relu"), lambda t, a: (torch.relu(t["input"]),)),
    "sigmoid": (gen_unary("sigmoid"), lambda t, a: (torch.sigmoid(t["input"]),)),
    "tanh": (gen_unary("tanh"), lambda t, a: (torch.tanh(t["input"]),)),
    "silu": (gen_unary("silu"), lambda t, a: (F.silu(t["input"]),)),
    "leaky_relu": (gen_leaky_relu, lambda t, a: (F.leaky_relu(t["input"], flt(a, "negative_slope", "0.01")),)),
    "softplus": (gen_softplus, lambda t, a: (F.softplus(t["input"], flt(a, "beta", "1"), flt(a, "threshold", "20")),)),
    "softmax": (gen_softmax, lambda t, a: (torch.softmax(t["input"], int(a["dim"])),)),
    "log_softmax": (gen_softmax, lambda t, a: (torch.log_softmax(t["input"], int(a["dim"])),)),
    "mse_loss": (gen_pointwise_loss("mse_loss"), lambda t, a: (F.mse_loss(t["input"], t["target"], reduction=red(a)),)),
    "l1_loss": (gen_pointwise_loss("l1_loss"), lambda t, a: (F.l1_loss(t["input"], t["target"], reduction=red(a)),)),
    "smooth_l1_loss": (gen_pointwise_loss("smooth_l1_loss"), lambda t, a: (
        F.smooth_l1_loss(t["input"], t["target"], reduction=red(a), beta=flt(a, "beta", "1.0")),)),
    "binary_cross_entropy_with_logits": (gen_bce, lambda t, a: (F.binary_cross_entropy_with_logits(
        t["input"], t["target"], t.get("weight"), reduction=red(a), pos_weight=t.get("pos_weight")),)),
    "cross_entropy": (gen_class_loss("cross_entropy"), lambda t, a: (F.cross_entropy(
        t["input"], t["target"], t.get("weight"), ignore_index=int(a.get("ignore_index", "-100")),
        reduction=red(a), label_smoothing=flt(a, "label_smoothing", "0")),)),
    "nll_loss": (gen_class_loss("nll_loss"), lambda t, a: (F.nll_loss(
        t["input"], t["target"], t.get("weight"), ignore_index=int(a.get("ignore_index", "-100")),
        reduction=red(a)),)),
    "kl_div": (gen_kl_div, lambda t, a: (F.kl_div(t["input"], t["target"], reduction=red(a),
                                                  log_target=a.get("log_target", "false") == "true"),)),
}


# ---- convolution, pooling, resampling, normalisation (issue 3) --------------------------------------
def pair(rng, lo, hi):
    a = int(rng.integers(lo, hi + 1))
    return (a, a) if rng.random() < 0.6 else (a, int(rng.integers(lo, hi + 1)))


def gen_conv2d(rng):
    groups = int(rng.choice([1, 1, 2, 3]))
    cin, cout = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    if rng.random() < 0.2:  # depthwise
        groups, cin = cin, cin
        cout = cin * int(rng.choice([1, 2]))
    k, s, d = pair(rng, 1, 4), pair(rng, 1, 3), pair(rng, 1, 2)
    p = pair(rng, 0, 2)
    h = int(rng.integers(d[0] * (k[0] - 1) + 1, 11)) + 0
    w = int(rng.integers(d[1] * (k[1] - 1) + 1, 11))
    n = int(rng.integers(1, 4))
    inputs = [("input", normal(rng, (n, cin, h, w))), ("weight", normal(rng, (cout, cin // groups) + k))]
    if rng.random() < 0.7:
        inputs.append(("bias", normal(rng, (cout,))))
    attrs = {"stride": "%d,%d" % s, "padding": "%d,%d" % p, "dilation": "%d,%d" % d, "groups": str(groups)}
    return inputs, attrs


def gen_conv_transpose2d(rng):
    groups = int(rng.choice([1, 1, 2]))
    cin, cout = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    k, s, d = pair(rng, 1, 4), pair(rng, 1, 3), pair(rng, 1, 2)
    op_ = (int(rng.integers(0, max(s[0], d[0]))), int(rng.integers(0, max(s[1], d[1]))))
    n, h, w = int(rng.integers(1, 3)), int(rng.integers(1, 7)), int(rng.integers(1, 7))
    # padding small enough that the output keeps at least one pixel per dim
    def max_pad(size, i):
        return max(0, ((size - 1) * s[i] + d[i] * (k[i] - 1) + op_[i]) // 2)
    p = (int(rng.integers(0, min(1, max_pad(h, 0)) + 1)), int(rng.integers(0, min(1, max_pad(w, 1)) + 1)))
    inputs = [("input", normal(rng, (n, cin, h, w))), ("weight", normal(rng, (cin, cout // groups) + k))]
    if rng.random() < 0.7:
        inputs.append(("bias", normal(rng, (cout,))))
    attrs = {"stride": "%d,%d" % s, "padding": "%d,%d" % p, "output_padding": "%d,%d" % op_,
             "dilation": "%d,%d" % d, "groups": str(groups)}
    return inputs, attrs


def t_conv2d(t, a):
    return (F.conv2d(t["input"], t["weight"], t.get("bias"), int_list(a["stride"]), int_list(a["padding"]),
                     int_list(a["dilation"]), int(a["groups"])),)


def t_conv_transpose2d(t, a):
    return (F.conv_transpose2d(t["input"], t["weight"], t.get("bias"), int_list(a["stride"]), int_list(a["padding"]),
                               int_list(a["output_padding"]), int(a["groups"]), int_list(a["dilation"])),)


def gen_pool(op):
    def g(rng):
        k = pair(rng, 1, 3)
        s = pair(rng, 1, 3)
        p = (int(rng.integers(0, k[0] // 2 + 1)), int(rng.integers(0, k[1] // 2 + 1)))
        h, w = int(rng.integers(k[0], 9)), int(rng.integers(k[1], 9))
        x = rng.permutation(2 * 3 * h * w).reshape(2, 3, h, w) * 0.01 + normal(rng, (2, 3, h, w), 0.001)
        attrs = {"kernel_size": "%d,%d" % k, "stride": "%d,%d" % s, "padding": "%d,%d" % p,
                 "ceil_mode": str(bool(rng.random() < 0.5)).lower()}
        if op == "avg_pool2d":
            attrs["count_include_pad"] = str(bool(rng.random() < 0.5)).lower()
        return [("input", x)], attrs
    return g


def t_pool(op):
    def f(t, a):
        kw = dict(kernel_size=int_list(a["kernel_size"]), stride=int_list(a["stride"]), padding=int_list(a["padding"]),
                  ceil_mode=a["ceil_mode"] == "true")
        if op == "avg_pool2d":
            return (F.avg_pool2d(t["input"], count_include_pad=a["count_include_pad"] == "true", **kw),)
        return (F.max_pool2d(t["input"], **kw),)
    return f


def gen_adaptive(rng):
    h, w = int(rng.integers(1, 10)), int(rng.integers(1, 10))
    return [("input", normal(rng, (2, 3, h, w)))], {"output_size": "%d,%d" % (int(rng.integers(1, 7)), int(rng.integers(1, 7)))}


def gen_interpolate(rng):
    mode = str(rng.choice(["nearest", "bilinear"]))
    h, w = int(rng.integers(2, 8)), int(rng.integers(2, 8))  # >= 2 so scale 0.5 keeps a pixel
    attrs = {"mode": mode}
    if rng.random() < 0.5:
        attrs["size"] = "%d,%d" % (int(rng.integers(1, 12)), int(rng.integers(1, 12)))
    else:
        attrs["scale_factor"] = str(rng.choice(["2", "0.5", "1.7", "3"]))
    if mode == "bilinear":
        attrs["align_corners"] = str(bool(rng.random() < 0.5)).lower()
    return [("input", normal(rng, (2, 2, h, w)))], attrs


def t_interpolate(t, a):
    size = tuple(int_list(a["size"])) if "size" in a else None
    sf = float(a["scale_factor"]) if "scale_factor" in a else None
    ac = (a.get("align_corners") == "true") if a["mode"] == "bilinear" else None
    return (F.interpolate(t["input"], size=size, scale_factor=sf, mode=a["mode"], align_corners=ac),)


def gen_group_norm(rng):
    g = int(rng.choice([1, 2, 3]))
    c = g * int(rng.integers(1, 4))
    x = normal(rng, (int(rng.integers(1, 4)), c, int(rng.integers(2, 5)), int(rng.integers(1, 5))), 2.0)
    return [("input", x), ("weight", normal(rng, (c,))), ("bias", normal(rng, (c,)))], {"num_groups": str(g)}


def gen_layer_norm(rng):
    shape = (2, 3, int(rng.integers(2, 5)), int(rng.integers(2, 5)))
    last = int(rng.integers(1, 4))
    ns = shape[-last:]
    return [("input", normal(rng, shape)), ("weight", normal(rng, ns)), ("bias", normal(rng, ns))], \
        {"normalized_shape": ",".join(str(v) for v in ns)}


def gen_batch_norm_eval(rng):
    c = int(rng.integers(1, 5))
    x = normal(rng, (int(rng.integers(2, 4)), c, int(rng.integers(1, 5)), int(rng.integers(1, 5))))
    return [("input", x), ("running_mean", normal(rng, (c,))), ("running_var", positive(rng, (c,))),
            ("weight", normal(rng, (c,))), ("bias", normal(rng, (c,)))], {"training": "false"}


NN_OPS = {
    "conv2d": (gen_conv2d, t_conv2d),
    "conv_transpose2d": (gen_conv_transpose2d, t_conv_transpose2d),
    "max_pool2d": (gen_pool("max_pool2d"), t_pool("max_pool2d")),
    "avg_pool2d": (gen_pool("avg_pool2d"), t_pool("avg_pool2d")),
    "adaptive_avg_pool2d": (gen_adaptive, lambda t, a: (F.adaptive_avg_pool2d(t["input"], int_list(a["output_size"])),)),
    "interpolate": (gen_interpolate, t_interpolate),
    "group_norm": (gen_group_norm, lambda t, a: (F.group_norm(t["input"], int(a["num_groups"]), t["weight"], t["bias"]),)),
    "layer_norm": (gen_layer_norm, lambda t, a: (F.layer_norm(t["input"], int_list(a["normalized_shape"]), t["weight"], t["bias"]),)),
    "batch_norm": (gen_batch_norm_eval, lambda t, a: (F.batch_norm(t["input"], t["running_mean"], t["running_var"],
                                                                    t["weight"], t["bias"], training=False),)),
}
OPS.update(NN_OPS)


# =================================================================================================
# One problem: PyTorch expectations, files, the command, the comparison
# =================================================================================================
def keyed_inputs(inputs):
    """[(name, arr)] -> [(key, name, arr)]; list inputs (tensors) get keys tensors_0, tensors_1, ..."""
    out, k = [], 0
    for name, arr in inputs:
        if name == "tensors":
            out.append(("tensors_%d" % k, name, arr))
            k += 1
        else:
            out.append((name, name, arr))
    return out


def torch_reference(fn, keyed, attrs, grad_rng, fixed_grad_outs=None):
    """Outputs, upstream gradients (None for integer outputs) and gradients {key: array}.
    fixed_grad_outs: use these upstream gradients (cast to the outputs' dtype) instead of drawing them."""
    def run(requires):
        leaves, t = {}, {}
        for key, name, arr in keyed:
            x = torch.from_numpy(arr.copy()).requires_grad_(key in requires)
            leaves[key] = x
            if name == "tensors":
                t.setdefault("tensors", []).append(x)
            else:
                t[name] = x
        return leaves, fn(t, attrs)

    _, outs = run(set())
    grad_outs = []
    for i, o in enumerate(outs):
        if fixed_grad_outs is not None:
            g = fixed_grad_outs[i]
            grad_outs.append(None if g is None else np.asarray(g, dtype=o.numpy().dtype))
        elif o.is_floating_point():
            g = grad_rng.uniform(0.5, 1.5, tuple(o.shape)) * grad_rng.choice([-1.0, 1.0], tuple(o.shape))
            grad_outs.append(np.asarray(g, dtype=o.numpy().dtype))
        else:
            grad_outs.append(None)

    grads = {}
    for key, _, arr in keyed:
        if arr.dtype.kind != "f":
            continue
        try:                                   # e.g. loss weights: PyTorch refuses requires_grad
            leaves, outs2 = run({key})
        except RuntimeError:
            continue
        pairs = [(o, torch.from_numpy(g)) for o, g in zip(outs2, grad_outs) if g is not None and o.requires_grad]
        if not pairs:
            grads[key] = np.zeros_like(arr)
            continue
        try:
            (g,) = torch.autograd.grad([o for o, _ in pairs], [leaves[key]], [g for _, g in pairs], allow_unused=True)
        except RuntimeError:
            continue
        grads[key] = np.zeros_like(arr) if g is None else g.detach().numpy().copy()
    return [o.detach().numpy().copy() for o in outs], grad_outs, grads


def rel_error(got, want):
    """max|got - want| / max(max|want|, tiny); NaN/inf must sit at the same places with the same values."""
    if got.shape != want.shape:
        return float("inf"), "shape %s, expected %s" % (got.shape, want.shape)
    if want.dtype.kind != "f":
        if got.dtype != want.dtype:
            return float("inf"), "dtype %s, expected %s" % (got.dtype, want.dtype)
        if not np.array_equal(got, want):
            return float("inf"), "integer output differs"
        return 0.0, ""
    if got.dtype != want.dtype:
        return float("inf"), "dtype %s, expected %s" % (got.dtype, want.dtype)
    if got.size == 0:
        return 0.0, ""
    g, w = got.astype(np.float64), want.astype(np.float64)
    finite = np.isfinite(w)
    if not np.array_equal(np.isfinite(g), finite) or not np.array_equal(g[~finite], w[~finite], equal_nan=True):
        return float("inf"), "NaN/inf pattern differs"
    if not finite.any():
        return 0.0, ""
    tiny = np.finfo(want.dtype).tiny
    return float(np.max(np.abs(g[finite] - w[finite])) / max(np.max(np.abs(w[finite])), tiny)), ""


def command_line(binary, op, files, attrs, grad_out_files, out_dir):
    cmd = [binary, "ref", op]
    for name, path in files:
        cmd += ["--in", "%s=%s" % (name, path)]
    for k, v in attrs.items():
        cmd += ["--attr", "%s=%s" % (k, v)]
    for path in grad_out_files:
        cmd += ["--grad-out", path]
    return cmd + ["--out", out_dir]


def output_file(out_dir, i, n):
    """A single output is DIR/out.npy (DIR/out0.npy accepted too); several are DIR/out0.npy, ..."""
    names = ["out.npy", "out0.npy"] if n == 1 else ["out%d.npy" % i]
    for nm in names:
        p = os.path.join(out_dir, nm)
        if os.path.exists(p):
            return p
    return os.path.join(out_dir, names[0])


def check_problem(args, op, dtype, trial, case_dir):
    """Returns (status, worst error, message lines). status: PASS | FAIL | DRY."""
    gen, fn = OPS[op]
    seed = [args.seed, zlib.crc32(op.encode()), trial, 0 if dtype == "f64" else 1]
    rng = np.random.default_rng(seed)
    inputs, attrs = gen(rng)
    keyed = [(k, n, np.asarray(a, NP_DTYPE[dtype] if np.asarray(a).dtype.kind == "f" else None))
             for k, n, a in keyed_inputs(inputs)]
    outs, grad_outs, grads = torch_reference(fn, keyed, attrs, np.random.default_rng(seed + [7]))

    os.makedirs(case_dir, exist_ok=True)
    files = []
    for key, name, arr in keyed:
        path = os.path.join(case_dir, "%s.npy" % key)
        np.save(path, arr)
        files.append((name, path))
    go_files = []
    for i, g in enumerate(grad_outs):
        if g is not None:
            go_files.append(os.path.join(case_dir, "grad_out%d.npy" % i))
            np.save(go_files[-1], g)
    out_dir = os.path.join(case_dir, "out")
    cmd = command_line(args.bin, op, files, attrs, go_files, out_dir)
    shown = " ".join(shlex.quote(c) for c in cmd)
    if args.dry_run:
        shapes = ", ".join("%s%s" % (k, list(a.shape)) for k, _, a in keyed)
        return "DRY", 0.0, ["%s  # %s -> %s" % (shown, shapes, ", ".join(str(list(o.shape)) for o in outs))]

    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return "FAIL", float("inf"), ["timeout after %gs" % args.timeout, shown]
    except OSError as e:            # e.g. the binary is being rebuilt
        return "FAIL", float("inf"), ["cannot run: %s" % e, shown]
    if r.returncode != 0:
        msg = (r.stderr.strip() or r.stdout.strip()).splitlines()[-1:] or [""]
        return "FAIL", float("inf"), ["exit status %d: %s" % (r.returncode, msg[0]), shown]

    # For f32 also the exact answer for these f32 inputs (PyTorch in f64): where PyTorch's own f32
    # result is off (cancellation), detgrad passes if it is at least as close to the exact answer.
    truth_outs, truth_grads = None, None
    if dtype == "f32":
        keyed64 = [(k, n, a.astype(np.float64) if a.dtype.kind == "f" else a) for k, n, a in keyed]
        truth_outs, _, truth_grads = torch_reference(fn, keyed64, attrs, None, fixed_grad_outs=grad_outs)

    worst, problems = 0.0, []
    expected = [("out%d" % i, output_file(out_dir, i, len(outs)), o, truth_outs[i] if truth_outs else None)
                for i, o in enumerate(outs)]
    expected += [("grad_" + k, os.path.join(out_dir, "grad_%s.npy" % k), g,
                  truth_grads.get(k) if truth_grads else None) for k, g in grads.items()]
    for label, path, want, truth in expected:
        if not os.path.exists(path):
            problems.append("%s: missing %s" % (label, os.path.basename(path)))
            worst = float("inf")
            continue
        got = np.load(path)
        err, why = rel_error(got, want)
        ok = err <= LIMITS[dtype]
        if not ok and truth is not None and not why:
            # Compare both f32 answers with the exact one (scaled like rel_error).
            t = truth.astype(np.float64)
            scale = max(np.max(np.abs(t)), np.finfo(np.float32).tiny) if t.size else 1.0
            ours = np.max(np.abs(got.astype(np.float64) - t)) / scale if t.size else 0.0
            theirs = np.max(np.abs(want.astype(np.float64) - t)) / scale if t.size else 0.0
            if ours <= max(LIMITS[dtype], theirs):
                ok, err = True, ours
        worst = max(worst, err)
        if not ok:
            problems.append("%s: %s" % (label, why or "rel error %.3g" % err))
    if problems:
        return "FAIL", worst, problems + [shown]
    return "PASS", worst, []


# =================================================================================================
# Driver
# =================================================================================================
def ops_in_ref_md():
    """Op names from the table in docs/ref.md (to notice ops this script does not know yet)."""
    path = os.path.join(REPO, "docs", "ref.md")
    if not os.path.exists(path):
        return []
    names, in_ops = [], False
    for line in open(path):
        if line.startswith("## "):
            in_ops = line.strip() == "## Ops"
        if in_ops and line.startswith("| ") and not line.startswith("| op ") and not line.startswith("|---"):
            cell = line.split("|")[1]
            names += re.findall(r"[a-z][a-z0-9_]*", cell.replace("alias", ""))
    return names


def list_missing(args):
    """Compare the op names of `detgrad ref --list` (the first word of each line) with this script's."""
    try:
        r = subprocess.run([args.bin, "ref", "--list"], capture_output=True, text=True, timeout=args.timeout)
    except OSError as e:
        print("cannot run %s: %s" % (args.bin, e))
        return 1
    listed = set()
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([a-z][a-z0-9_]*)\b", line)
        if m:
            listed.add(m.group(1))
    ops = selected_ops(args)
    missing = [op for op in ops if op not in listed]
    print("%s ref --list (exit %d) names %d of the %d ops checked here"
          % (args.bin, r.returncode, len(ops) - len(missing), len(ops)))
    for op in missing:
        print("MISSING %s" % op)
    if not args.ops:
        extra = sorted(listed - set(OPS) - {"op"})
        if extra:
            print("listed but not checked by this script: %s" % " ".join(extra))
    return 1 if missing or r.returncode != 0 else 0


def selected_ops(args):
    if not args.ops:
        return list(OPS)
    return [o.strip() for o in args.ops.split(",") if o.strip()]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(REPO, "build", "detgrad"), help="detgrad binary")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--ops", default="", help="comma-separated ops to check (default: all)")
    p.add_argument("--trials", type=int, default=3, help="random problems per op and dtype (default 3)")
    p.add_argument("--dtypes", default="f64,f32", help="f64,f32 (default both)")
    p.add_argument("--work", default="", help="directory for inputs/outputs (default: a fresh temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the files of passing problems too")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per detgrad call")
    p.add_argument("--dry-run", action="store_true", help="generate problems and print the commands only")
    p.add_argument("--list-missing", action="store_true", help="report ops `detgrad ref --list` doesn't mention")
    p.add_argument("--show", type=int, default=3, help="failing problems printed per op (default 3)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every problem's result")
    args = p.parse_args()

    unknown = [o for o in selected_ops(args) if o not in OPS]
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    if unknown or any(d not in LIMITS for d in dtypes):
        print("unknown op(s) %s or dtype(s) %s; ops: %s" % (unknown, dtypes, " ".join(OPS)), file=sys.stderr)
        return 2
    not_covered = [o for o in ops_in_ref_md() if o not in OPS]
    if not_covered:
        print("warning: docs/ref.md lists ops this script does not check: %s" % " ".join(not_covered))
    if args.list_missing:
        return list_missing(args)
    if not args.dry_run and not os.path.exists(args.bin):
        print("no binary at %s (build it, pass --bin, or use --dry-run)" % args.bin, file=sys.stderr)
        return 2

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="reduction: 'mean' divides")     # kl_div mean
    work = args.work or tempfile.mkdtemp(prefix="check_ref_")
    failed_ops, n_problems = [], 0
    for op in selected_ops(args):
        worst, fails, lines = 0.0, 0, []
        for dtype in dtypes:
            for trial in range(args.trials):
                case_dir = os.path.join(work, "%s_%s_%d" % (op, dtype, trial))
                status, err, msg = check_problem(args, op, dtype, trial, case_dir)
                n_problems += 1
                worst = max(worst, err)
                if status == "FAIL":
                    fails += 1
                    if fails <= args.show:
                        lines += ["  %s trial %d: %s" % (dtype, trial, m) for m in msg[:-1]] + ["    " + msg[-1]]
                    elif fails == args.show + 1:
                        lines.append("  ... (more failures not shown; --show N)")
                elif status == "DRY":
                    lines += msg
                elif args.verbose:
                    lines.append("  %s trial %d: pass, rel error %.3g" % (dtype, trial, err))
                if status == "PASS" and not args.keep and not args.dry_run:
                    shutil.rmtree(case_dir, ignore_errors=True)
        if args.dry_run:
            print("\n".join(lines))
            continue
        status = "FAIL" if fails else "PASS"
        print("%s %-34s worst rel error %.3g%s" % (status, op, worst, " (%d failed)" % fails if fails else ""))
        if lines:
            print("\n".join(lines))
        if fails:
            failed_ops.append(op)
    if args.dry_run:
        print("dry run: %d problems over %d ops, files in %s" % (n_problems, len(selected_ops(args)), work))
        return 0
    print("%d/%d ops passed (%d problems, seed %d)%s" % (
        len(selected_ops(args)) - len(failed_ops), len(selected_ops(args)), n_problems, args.seed,
        "; failing: %s\nrerun one with: /usr/bin/python3 tools/check_ref.py --seed %d --ops %s -v"
        % (" ".join(failed_ops), args.seed, failed_ops[0]) if failed_ops else ""))
    if not failed_ops and not args.keep and not args.work:
        shutil.rmtree(work, ignore_errors=True)
    elif failed_ops:
        print("inputs of the failing problems are in %s" % work)
    return 1 if failed_ops else 0


if __name__ == "__main__":
    sys.exit(main())
