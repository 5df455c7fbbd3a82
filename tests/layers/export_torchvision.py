#!/usr/bin/env python3
"""Export the torchvision facts the layer tests check against (see docs/layers.md).

Run with the system python (the only one with PyTorch):

    /usr/bin/python3 tests/layers/export_torchvision.py

Writes tests/layers/fixtures/:
  NAME.keys.txt        for resnet18, resnet34, shufflenet_v2_x0_5, shufflenet_v2_x1_0: the parameter count
                       and every state_dict key in order, with its shape and dtype ("layer1.0.conv1.weight
                       64,64,3,3 f32"). detgrad's models must produce exactly these lines.
  tiny_resnet.*        a torchvision ResNet-18 narrowed 16x (widths 4, 8, 16, 32; 10 classes), built from
                       torchvision's own BasicBlock/_make_layer, with random weights AND random BatchNorm
                       statistics: weights (.safetensors), an input, the eval-mode logits, the C2..C5
                       features, the logits of one train-mode forward with the running statistics it
                       leaves behind, and the gradients of a cross-entropy training step (input and
                       GRAD_PARAMS).
  tiny_shufflenet.*    torchvision's ShuffleNetV2 with stages_repeats [2, 3, 2] and widths
                       [8, 16, 32, 64, 128], 10 classes: weights, input, eval-mode logits.
  tiny_snet.*          the same ShuffleNetV2 with every depthwise conv 5x5 (ThunderNet's SNet change):
                       weights, input, eval-mode logits.
  tiny_inception.*     torchvision's GoogLeNet Inception(8; 4, 4, 6, 2, 4, 3) with branch3's 3x3 replaced by the
                       paper's 5x5: weights, input, eval and train-mode outputs, key list.
  tiny_fpn.*           torchvision.ops.FeaturePyramidNetwork (in 8, 16, 32 -> 16 channels) with
                       LastLevelP6P7(16, 16) (P6 from P5, ReLU before P7): weights, three inputs, five outputs.

Weights are written as safetensors with struct + json only (no safetensors package): an 8-byte
little-endian header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}} padded with
spaces to a multiple of 8, then the raw little-endian data. Everything is seeded: two runs give the same
bytes.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelP6P7

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")

ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
SHORT = {torch.float32: "f32", torch.float64: "f64", torch.int64: "i64"}


def write_safetensors(path, tensors):
    """tensors: list of (name, torch.Tensor) in the order to store them."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors:
        data = t.detach().contiguous().cpu().numpy().tobytes()  # x86: already little-endian
        header[name] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def save_npy(path, t):
    np.save(path, t.detach().cpu().numpy())


def keys_file(name, model):
    sd = model.state_dict()
    n = sum(p.numel() for p in model.parameters())
    lines = ["# %s: %d parameters, %d state_dict entries (torchvision %s)" % (name, n, len(sd), torchvision.__version__)]
    for k, v in sd.items():
        lines.append("%s %s %s" % (k, ",".join(str(s) for s in v.shape), SHORT[v.dtype]))
    with open(os.path.join(FIXTURES, name + ".keys.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def randomize_bn(model, gen):
    """Non-trivial BatchNorm parameters and statistics, so eval mode is really tested."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.data = 0.5 + torch.rand(c, generator=gen)
            m.bias.data = 0.2 * torch.randn(c, generator=gen)
            m.running_mean.data = 0.2 * torch.randn(c, generator=gen)
            m.running_var.data = 0.5 + torch.rand(c, generator=gen)
            m.num_batches_tracked.fill_(7)


def tiny_resnet(widths=(4, 8, 16, 32), num_classes=10):
    """torchvision's ResNet-18 with every width divided by 16, from torchvision's own pieces."""
    m = torchvision.models.resnet.ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes)
    m.inplanes = widths[0]
    m.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    m.bn1 = nn.BatchNorm2d(widths[0])
    m.layer1 = m._make_layer(BasicBlock, widths[0], 2)
    m.layer2 = m._make_layer(BasicBlock, widths[1], 2, stride=2)
    m.layer3 = m._make_layer(BasicBlock, widths[2], 2, stride=2)
    m.layer4 = m._make_layer(BasicBlock, widths[3], 2, stride=2)
    m.fc = nn.Linear(widths[3], num_classes)
    return m


def resnet_features(m, x):
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    c2 = m.layer1(x)
    c3 = m.layer2(c2)
    c4 = m.layer3(c3)
    c5 = m.layer4(c4)
    return [c2, c3, c4, c5]


# The parameters whose gradients the unit test compares (first, middle and last layers).
GRAD_PARAMS = ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer3.0.downsample.0.weight",
               "layer4.1.bn2.bias", "fc.weight", "fc.bias"]


def export_tiny_resnet():
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(2)
    m = tiny_resnet()
    randomize_bn(m, gen)
    m.eval()
    x = torch.randn(2, 3, 48, 48, generator=gen)
    p = os.path.join(FIXTURES, "tiny_resnet")
    write_safetensors(p + ".safetensors", list(m.state_dict().items()))
    save_npy(p + ".input.npy", x)
    with torch.no_grad():
        save_npy(p + ".logits.npy", m(x))
        for i, f in enumerate(resnet_features(m, x)):
            save_npy(p + ".c%d.npy" % (i + 2), f)
        # One train-mode forward: batch statistics, running stats updated with momentum 0.1.
        m.train()
        save_npy(p + ".train_logits.npy", m(x))
        save_npy(p + ".train_bn1_running_mean.npy", m.bn1.running_mean)
        save_npy(p + ".train_bn1_running_var.npy", m.bn1.running_var)
    # A training step's gradients: cross-entropy of the train-mode logits against fixed targets.
    target = torch.tensor([3, 7])
    xg = x.clone().requires_grad_(True)
    F.cross_entropy(m(xg), target).backward()
    save_npy(p + ".train_target.npy", target)
    save_npy(p + ".grad_input.npy", xg.grad)
    for name in GRAD_PARAMS:
        save_npy(p + ".grad_" + name + ".npy", dict(m.named_parameters())[name].grad)


def export_tiny_shufflenet():
    torch.manual_seed(3)
    gen = torch.Generator().manual_seed(4)
    m = torchvision.models.shufflenetv2.ShuffleNetV2([2, 3, 2], [8, 16, 32, 64, 128], num_classes=10)
    randomize_bn(m, gen)
    m.eval()
    x = torch.randn(2, 3, 48, 48, generator=gen)
    p = os.path.join(FIXTURES, "tiny_shufflenet")
    write_safetensors(p + ".safetensors", list(m.state_dict().items()))
    save_npy(p + ".input.npy", x)
    with torch.no_grad():
        save_npy(p + ".logits.npy", m(x))


def export_tiny_snet():
    """ThunderNet's SNet idea on torchvision's ShuffleNetV2: every depthwise conv 5x5 (padding 2)."""
    from torchvision.models.shufflenetv2 import InvertedResidual
    original = InvertedResidual.depthwise_conv
    InvertedResidual.depthwise_conv = staticmethod(
        lambda i, o, kernel_size, stride=1, padding=0, bias=False: nn.Conv2d(i, o, 5, stride, 2, bias=bias, groups=i))
    try:
        torch.manual_seed(9)
        gen = torch.Generator().manual_seed(10)
        m = torchvision.models.shufflenetv2.ShuffleNetV2([2, 3, 2], [8, 16, 32, 64, 128], num_classes=10)
    finally:
        InvertedResidual.depthwise_conv = original
    randomize_bn(m, gen)
    m.eval()
    x = torch.randn(2, 3, 48, 48, generator=gen)
    p = os.path.join(FIXTURES, "tiny_snet")
    write_safetensors(p + ".safetensors", list(m.state_dict().items()))
    save_npy(p + ".input.npy", x)
    with torch.no_grad():
        save_npy(p + ".logits.npy", m(x))


def export_tiny_fpn():
    torch.manual_seed(5)
    gen = torch.Generator().manual_seed(6)
    m = FeaturePyramidNetwork([8, 16, 32], 16, extra_blocks=LastLevelP6P7(16, 16))
    for name, t in m.state_dict().items():  # torchvision inits biases to 0: make them visible
        if name.endswith("bias"):
            t.copy_(0.1 * torch.randn(t.shape, generator=gen))
    xs = [torch.randn(1, 8, 16, 20, generator=gen), torch.randn(1, 16, 8, 10, generator=gen),
          torch.randn(1, 32, 4, 5, generator=gen)]
    p = os.path.join(FIXTURES, "tiny_fpn")
    write_safetensors(p + ".safetensors", list(m.state_dict().items()))
    from collections import OrderedDict
    with torch.no_grad():
        out = m(OrderedDict((str(i), x) for i, x in enumerate(xs)))
    for i, x in enumerate(xs):
        save_npy(p + ".in%d.npy" % i, x)
    for i, (k, v) in enumerate(out.items()):
        save_npy(p + ".out%d.npy" % i, v)
    keys_file("tiny_fpn", m)


def export_tiny_inception():
    """torchvision's GoogLeNet Inception block with the paper's real 5x5 in branch 3."""
    from torchvision.models.googlenet import BasicConv2d, Inception
    torch.manual_seed(7)
    gen = torch.Generator().manual_seed(8)
    m = Inception(8, 4, 4, 6, 2, 4, 3)
    m.branch3[1] = BasicConv2d(2, 4, kernel_size=5, padding=2)
    randomize_bn(m, gen)
    m.eval()
    x = torch.randn(2, 8, 7, 9, generator=gen)
    p = os.path.join(FIXTURES, "tiny_inception")
    write_safetensors(p + ".safetensors", list(m.state_dict().items()))
    save_npy(p + ".input.npy", x)
    with torch.no_grad():
        save_npy(p + ".out.npy", m(x))
        m.train()
        save_npy(p + ".train_out.npy", m(x))
    keys_file("tiny_inception", m)


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    torch.manual_seed(0)
    for name in ["resnet18", "resnet34", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0"]:
        keys_file(name, getattr(torchvision.models, name)())
    export_tiny_resnet()
    export_tiny_shufflenet()
    export_tiny_snet()
    export_tiny_fpn()
    export_tiny_inception()
    total = sum(os.path.getsize(os.path.join(FIXTURES, f)) for f in os.listdir(FIXTURES))
    print("export_torchvision: %d files, %.1f KB in %s" % (len(os.listdir(FIXTURES)), total / 1024, FIXTURES))


if __name__ == "__main__":
    sys.exit(main())
