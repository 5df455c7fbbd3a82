#!/usr/bin/env python3
"""Full-size check: a torchvision model and `detgrad ref model:NAME` give the same outputs (eval mode).

    /usr/bin/python3 tests/layers/check_resnet18_vs_torchvision.py [--model resnet18] [--binary build/detgrad]

Builds torchvision's model with a fixed seed and random BatchNorm statistics (no download: the
weights are random, which exercises every layer as well as trained ones do), writes its state_dict as
safetensors, a 1x3x224x224 input and torchvision's logits to /tmp/detgrad_check_<model>/, runs
`detgrad ref model:<model> --weights ... --in input=... --out ... --dump-intermediates`, and compares:
the logits (relative error max|d| / max|want| must be <= 1e-4), then every submodule's output that
torchvision's forward hooks saw (reported, the worst first). Exit status 0 when the logits match.
Too slow and too big (45 MB of weights) for the unit tests, which use tests/layers/fixtures/tiny_*.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torchvision import randomize_bn, write_safetensors  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def rel_err(got, want):
    den = np.abs(want).max()
    return float(np.abs(got - want).max() / (den if den > 0 else 1.0))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet18",
                    choices=["resnet18", "resnet34", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0"])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "detgrad"))
    ap.add_argument("--dtype", default="f32", choices=["f32", "f64"])
    args = ap.parse_args()

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    m = getattr(torchvision.models, args.model)()
    randomize_bn(m, gen)
    m.eval()
    x = torch.randn(1, 3, 224, 224, generator=gen)
    if args.dtype == "f64":
        m, x = m.double(), x.double()

    seen = {}
    for name, mod in m.named_modules():
        if name:
            mod.register_forward_hook(lambda mod, inp, out, name=name: seen.__setitem__(name, out.detach().numpy().copy()))
    with torch.no_grad():
        logits = m(x).numpy()

    d = "/tmp/detgrad_check_%s" % args.model
    os.makedirs(d, exist_ok=True)
    write_safetensors(d + "/weights.safetensors", list(m.state_dict().items()))
    np.save(d + "/input.npy", x.numpy())
    np.save(d + "/logits_torchvision.npy", logits)
    cmd = [args.binary, "ref", "model:" + args.model, "--weights", d + "/weights.safetensors", "--in",
           "input=" + d + "/input.npy", "--out", d + "/out", "--dump-intermediates"]
    print(" ".join(cmd))
    subprocess.run(cmd, check=True)

    got = np.load(d + "/out/out.npy")
    e = rel_err(got, logits)
    tol = 1e-4 if args.dtype == "f32" else 1e-10
    print("%s logits %s: relative error %.3g (tolerance %g) %s" % (args.model, logits.shape, e, tol, "OK" if e <= tol else "FAIL"))
    rows, missing = [], []
    for name, want in seen.items():
        p = d + "/out/" + name + ".npy"
        if not os.path.exists(p):
            missing.append(name)
            continue
        rows.append((rel_err(np.load(p), want), name))
    rows.sort(reverse=True)
    print("intermediates compared: %d, worst:" % len(rows))
    for err, name in rows[:5]:
        print("  %-40s %.3g" % (name, err))
    if missing:
        print("torchvision modules without a detgrad dump (%d): %s" % (len(missing), ", ".join(missing[:10])))
    return 0 if e <= tol else 1


if __name__ == "__main__":
    sys.exit(main())
