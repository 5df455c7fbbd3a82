#!/usr/bin/env python3
"""Reference counts for the model summary (layers/summary.h), written to tests/golden/summary_counts.json.

    /usr/bin/python3 tests/golden/gen_summary_counts.py

For each model: sum(p.numel()) of the PyTorch model, and its multiply-adds under the summary's rules,
counted with forward hooks on the PyTorch modules:
    Conv2d           output elements x (C_in / groups) x kh x kw
    ConvTranspose2d  input elements x (C_out / groups) x kh x kw
    Linear           output elements x in_features
    anything else    0
Models:
    resnet18, resnet34, shufflenet_v2_x1_0   torchvision's classifiers (1000 classes), input 1x3x224x224
    centernet                                the CenterNet yardstick (bench/centernet_torch.py) at detgrad's
                                             CPU default (ResNet-18 x0.25, up 64,32,32, head 32), 10 classes,
                                             input 1x3x96x96
    fcos, retinanet                          the torchvision yardsticks (bench/detectors_torch.py) at detgrad's
                                             CPU default (ResNet-18 x0.25 + FPN P3-P5 x64), 10 classes;
                                             parameters only (their forward includes torchvision's transform)
"""
import json
import os
import sys

import torch
import torchvision
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import centernet_torch as ct  # noqa: E402
import detectors_torch as dt  # noqa: E402


def params(model):
    return sum(p.numel() for p in model.parameters())


def multiply_adds(model, x):
    total = 0

    def hook(m, inputs, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.ConvTranspose2d):
            total += inputs[0].numel() * (m.out_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            total += out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total


def main():
    torch.manual_seed(0)
    out = {}
    x224 = torch.zeros(1, 3, 224, 224)
    for name in ("resnet18", "resnet34", "shufflenet_v2_x1_0"):
        m = getattr(torchvision.models, name)()
        out[name] = {"input": [1, 3, 224, 224], "params": params(m), "macs": multiply_adds(m, x224)}
    cn = ct.CenterNet(num_classes=10, width=0.25, up=(64, 32, 32), head=32)
    out["centernet"] = {"input": [1, 3, 96, 96], "params": params(cn),
                        "macs": multiply_adds(cn, torch.zeros(1, 3, 96, 96))}
    for name in ("fcos", "retinanet"):
        out[name] = {"params": params(dt.build_model(name, 10, 0.25, 64, (96, 96)))}
    path = os.path.join(HERE, "summary_counts.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", path)
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
