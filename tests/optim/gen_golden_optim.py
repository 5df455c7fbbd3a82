#!/usr/bin/env python3
"""Generate PyTorch reference values for detgrad's optimizers, LR schedules and gradient clipping.

    /usr/bin/python3 tests/optim/gen_golden_optim.py      # writes tests/optim/fixtures/*.json

optim.json     : per case, the optimizer and its options, parameter groups, initial f64 parameters,
                 10 steps of given gradients (null = that parameter has no .grad at that step) and
                 the parameters PyTorch holds after each step.
schedules.json : per case, the lr PyTorch's scheduler gives after 0, 1, ..., n-1 scheduler steps.
clip.json      : per case, gradients before/after clip_grad_norm_ and the returned total norm.

Floats are written with repr(), which round-trips f64 exactly. Seeded: two runs write the same bytes.
"""
import json
import math
import os
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
STEPS = 10
SHAPES = [(3, 4), (5,)]

warnings.filterwarnings("ignore")


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


# ---- optimizers ------------------------------------------------------------------------------------
# name, optimizer class, options (PyTorch keyword names), per-group overrides, steps where param 1 has no grad
OPT_CASES = [
    ("sgd_plain", "SGD", {"lr": 0.1}, None, []),
    ("sgd_momentum_dampening_wd", "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}, None, []),
    ("sgd_nesterov_wd", "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 1e-3}, None, []),
    ("sgd_momentum_skip_grad", "SGD", {"lr": 0.05, "momentum": 0.9}, None, [2, 3]),
    ("sgd_maximize", "SGD", {"lr": 0.1, "momentum": 0.5, "maximize": True}, None, []),
    ("adam_default", "Adam", {"lr": 1e-2}, None, []),
    ("adam_wd_amsgrad_betas", "Adam", {"lr": 3e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1, "amsgrad": True}, None, []),
    ("adam_skip_grad", "Adam", {"lr": 1e-2}, None, [0, 4, 5]),
    ("adamw_default_wd", "AdamW", {"lr": 1e-2}, None, []),
    ("adamw_wd_amsgrad", "AdamW", {"lr": 2e-2, "weight_decay": 0.3, "amsgrad": True, "betas": (0.85, 0.95)}, None, []),
    ("sgd_groups", "SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}, [{"lr": 0.2}, {"weight_decay": 0.0}], []),
    ("adamw_groups", "AdamW", {"lr": 1e-2, "weight_decay": 0.1}, [{}, {"lr": 0.05, "weight_decay": 0.0}], []),
]


def opt_case(rng, name, cls, options, groups, skip):
    params = [torch.tensor(rng.standard_normal(s), dtype=torch.float64, requires_grad=True) for s in SHAPES]
    init = [flat(p) for p in params]
    if groups is None:
        opt = getattr(torch.optim, cls)(params, **options)
    else:
        opt = getattr(torch.optim, cls)([dict(params=[p], **g) for p, g in zip(params, groups)], **options)
    grads, after = [], []
    for step in range(STEPS):
        gs = []
        for i, p in enumerate(params):
            if i == 1 and step in skip:
                p.grad = None
                gs.append(None)
            else:
                g = torch.tensor(rng.standard_normal(p.shape), dtype=torch.float64)
                p.grad = g.clone()
                gs.append(flat(g))
        opt.step()
        grads.append(gs)
        after.append([flat(p) for p in params])
    opts = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
    return {"name": name, "optimizer": cls, "options": opts, "groups": groups, "shapes": [list(s) for s in SHAPES],
            "init": init, "grads": grads, "after": after}


# ---- schedules ---------------------------------------------------------------------------------------
def sched_values(make, n, base=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sch = make(opt)
    vals = []
    for _ in range(n):
        vals.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    return vals


S = torch.optim.lr_scheduler
SCHED_CASES = [
    ("step", {"step_size": 3, "gamma": 0.5}, lambda o: S.StepLR(o, step_size=3, gamma=0.5), 20),
    ("multistep", {"milestones": [2, 5, 9], "gamma": 0.1}, lambda o: S.MultiStepLR(o, milestones=[2, 5, 9], gamma=0.1), 14),
    ("cosine", {"t_max": 10, "eta_min": 0.001}, lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 25),
    ("cosine_zero_min", {"t_max": 7, "eta_min": 0.0}, lambda o: S.CosineAnnealingLR(o, T_max=7), 8),
    ("warmup_cosine", {"warmup": 4, "start_factor": 0.1, "then": "cosine", "t_max": 12, "eta_min": 0.0},
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=4),
                                  S.CosineAnnealingLR(o, T_max=12)], milestones=[4]), 17),
    ("warmup_multistep", {"warmup": 3, "start_factor": 0.25, "then": "multistep", "milestones": [4, 8], "gamma": 0.5},
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=3),
                                  S.MultiStepLR(o, milestones=[4, 8], gamma=0.5)], milestones=[3]), 15),
]


# ---- clipping ----------------------------------------------------------------------------------------
def clip_case(rng, name, scale, max_norm, norm_type):
    gs = [torch.tensor(rng.standard_normal(s) * scale, dtype=torch.float64) for s in SHAPES]
    ps = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in SHAPES]
    for p, g in zip(ps, gs):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    return {"name": name, "max_norm": max_norm, "norm_type": "inf" if math.isinf(norm_type) else norm_type,
            "shapes": [list(s) for s in SHAPES], "before": [flat(g) for g in gs], "after": [flat(p.grad) for p in ps],
            "total": float(total)}


def dump(obj, fname):
    with open(os.path.join(OUT, fname), "w") as f:
        json.dump(obj, f, indent=None, separators=(",", ":"))
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20131)
    torch.set_default_dtype(torch.float64)
    dump({"torch": torch.__version__, "cases": [opt_case(rng, *c) for c in OPT_CASES]}, "optim.json")
    dump({"torch": torch.__version__, "base_lr": 0.1,
          "cases": [{"name": n, "config": cfg, "lrs": sched_values(mk, cnt)} for n, cfg, mk, cnt in SCHED_CASES]},
         "schedules.json")
    rng = np.random.default_rng(7)
    dump({"torch": torch.__version__, "cases": [clip_case(rng, "clip_scaled", 1.0, 1.0, 2.0),
                                                clip_case(rng, "clip_untouched", 0.01, 5.0, 2.0),
                                                clip_case(rng, "clip_inf", 1.0, 0.5, math.inf)]}, "clip.json")
    print("gen_golden_optim: wrote", ", ".join(sorted(os.listdir(OUT))))


if __name__ == "__main__":
    main()
