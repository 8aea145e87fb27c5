#!/usr/bin/python3
"""midas_nets.py - PyTorch reference module of MiDaS v1 (`MonoDepthNet`, features 256), the depth model of
3d-photo-inpainting (reference spec 3.6), without torchvision: the ResNet-50 (v1.5) bottlenecks are
written here with torchvision's module names, so the official MiDaS/model.pt loads with strict
load_state_dict.

    net = build()                       # MonoDepthNet().eval()
    load_numpy(net, state_dict)         # {key: numpy array}
    y = net(x)                          # x (N, 3, H, W) RGB in [0, 1], H, W multiples of 32 -> (N, 1, H, W)

What forward computes (reference MiDaS/monodepth_net.py, reproduced with its in-place ReLUs):
  encoder  layer1 = conv 7x7/2 + BN + ReLU, max-pool 3x3/2 p1, 3 bottlenecks (256 ch, H/4);
           layer2..4 = 4, 6, 3 bottlenecks (512 @ H/8, 1024 @ H/16, 2048 @ H/32), stride on the 3x3 conv
  scratch  lK_rn = conv 3x3 (no bias) of layerK to 256 channels
           RCU(x) = conv2(relu(conv1(relu(x)))) + relu(x)   (the first ReLU is in place, so the residual
                    adds relu(x), not x); one RCU per fusion block, used twice
           path4 = up2(RCU4(l4_rn)); pathK = up2(RCUK(path(K+1) + RCUK(lK_rn))), up2 = bilinear x2,
           align_corners=True
  output   conv 3x3 256->128 (bias), conv 3x3 128->1 (bias), bilinear x2 align_corners=False -> (N, 1, H, W)

With folded=True every BatchNorm2d is an Identity and the conv before it has a bias: the state_dict
keys are then exactly the tensors of the converted blob (tools/convert_midas.py), so the folded module
is the executable description of what the C side (host/depth/midas_v1.c) computes.

Run as a program: checks the key list against convert_midas.checkpoint_table (338 keys), the learnable
parameter count (37,371,201), the folded names against convert_midas.blob_table and the
multiply-accumulates at 256x384 against spec 4.1 (41.2 GMAC: encoder 8.0, lK_rn 6.8, refinenets 19.1,
output convs 7.3).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_midas as tables  # noqa: E402


def _bn(channels, folded):
    return nn.Identity() if folded else nn.BatchNorm2d(channels, eps=tables.BN_EPS)


class Bottleneck(nn.Module):
    """torchvision's ResNet-50 Bottleneck (v1.5: the stride sits on the 3x3 conv)."""

    def __init__(self, cin, planes, stride, project, folded):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=folded)
        self.bn1 = _bn(planes, folded)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=folded)
        self.bn2 = _bn(planes, folded)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=folded)
        self.bn3 = _bn(4 * planes, folded)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if project:
            self.downsample = nn.Sequential(nn.Conv2d(cin, 4 * planes, 1, stride, bias=folded),
                                            _bn(4 * planes, folded))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        out += identity
        return self.relu(out)


def _stage(cin, planes, blocks, stride, folded):
    return nn.Sequential(*[Bottleneck(cin if b == 0 else 4 * planes, planes, stride if b == 0 else 1, b == 0, folded)
                           for b in range(blocks)])


class ResidualConvUnit(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(features, features, 3, 1, 1, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.relu(x)  # in place: x itself becomes relu(x), which the residual below adds
        out = self.conv1(out)
        out = self.relu(out)
        out = self.conv2(out)
        return out + x


class FeatureFusionBlock(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.resConfUnit = ResidualConvUnit(features)

    def forward(self, *xs):
        output = xs[0]
        if len(xs) == 2:
            output += self.resConfUnit(xs[1])
        output = self.resConfUnit(output)
        return F.interpolate(output, scale_factor=2, mode="bilinear", align_corners=True)


class Interpolate(nn.Module):
    def __init__(self, scale_factor, mode):
        super().__init__()
        self.scale_factor, self.mode = scale_factor, mode

    def forward(self, x):
        return F.interpolate(x, scale_factor=self.scale_factor, mode=self.mode, align_corners=False)


class MonoDepthNet(nn.Module):
    def __init__(self, features=tables.FEATURES, folded=False):
        super().__init__()
        self.pretrained = nn.Module()
        self.scratch = nn.Module()
        stages = list(zip(tables.RESNET_PLANES, tables.RESNET_BLOCKS))
        self.pretrained.layer1 = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=folded), _bn(64, folded),
                                               nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
                                               _stage(64, *stages[0], 1, folded))
        self.pretrained.layer2 = _stage(256, *stages[1], 2, folded)
        self.pretrained.layer3 = _stage(512, *stages[2], 2, folded)
        self.pretrained.layer4 = _stage(1024, *stages[3], 2, folded)
        for k, c in enumerate(tables.RN_CHANNELS, 1):
            setattr(self.scratch, f"layer{k}_rn", nn.Conv2d(c, features, 3, 1, 1, bias=False))
        for k in (4, 3, 2, 1):
            setattr(self.scratch, f"refinenet{k}", FeatureFusionBlock(features))
        self.scratch.output_conv = nn.Sequential(nn.Conv2d(features, 128, 3, 1, 1), nn.Conv2d(128, 1, 3, 1, 1),
                                                 Interpolate(scale_factor=2, mode="bilinear"))

    def forward(self, x):
        p, s = self.pretrained, self.scratch
        layer_1 = p.layer1(x)
        layer_2 = p.layer2(layer_1)
        layer_3 = p.layer3(layer_2)
        layer_4 = p.layer4(layer_3)
        path_4 = s.refinenet4(s.layer4_rn(layer_4))
        path_3 = s.refinenet3(path_4, s.layer3_rn(layer_3))
        path_2 = s.refinenet2(path_3, s.layer2_rn(layer_2))
        path_1 = s.refinenet1(path_2, s.layer1_rn(layer_1))
        return s.output_conv(path_1)


def build(folded=False):
    return MonoDepthNet(folded=folded).eval()


def load_numpy(net, tensors):
    """Strict load of {name: numpy array} (a checkpoint state_dict, or blob tensors for a folded net)."""
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}, strict=True)
    return net


# ---- self-check ------------------------------------------------------------------------------------------------
SPEC_KEYS, SPEC_PARAMS = 338, 37_371_201
SPEC_GMAC_256x384 = {"encoder": 8.0, "layer_rn": 6.8, "refinenet": 19.1, "output_conv": 7.3, "total": 41.2}


def _group(name):
    """Which line of spec 4.1's MAC breakdown the conv called `name` belongs to."""
    for prefix, group in (("scratch.layer", "layer_rn"), ("scratch.refinenet", "refinenet"),
                          ("scratch.output_conv", "output_conv")):
        if name.startswith(prefix):
            return group
    return "encoder"


def count_macs(net, h, w):
    """{group: multiply-accumulates of its convs} for one (1, 3, h, w) forward, and 'total'."""
    macs = dict.fromkeys(SPEC_GMAC_256x384, 0)
    handles = [mod.register_forward_hook(
        lambda mod, inp, out, g=_group(name): macs.__setitem__(
            g, macs[g] + out.numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1]))
        for name, mod in net.named_modules() if isinstance(mod, nn.Conv2d)]
    with torch.no_grad():
        net(torch.zeros(1, 3, h, w))
    for hd in handles:
        hd.remove()
    macs["total"] = sum(v for k, v in macs.items() if k != "total")
    return macs


def self_check():
    net = build()
    sd = net.state_dict()
    got = [(k, tuple(v.shape)) for k, v in sd.items()]
    want = [(k, tuple(s)) for k, s in tables.checkpoint_table().items()]
    learn = sum(p.numel() for p in net.parameters() if p.requires_grad)
    folded = [(k, tuple(v.shape)) for k, v in build(folded=True).state_dict().items()]
    blob = [(k, tuple(s)) for k, s in tables.blob_table().items()]
    macs = count_macs(net, 256, 384)
    mac_text = ", ".join(f"{g} {macs[g] / 1e9:.2f} (spec {SPEC_GMAC_256x384[g]})" for g in SPEC_GMAC_256x384)
    checks = [("keys", len(sd) == SPEC_KEYS, f"{len(sd)} (spec {SPEC_KEYS})"),
              ("key table", got == want, "names, shapes and order match convert_midas.checkpoint_table"),
              ("learnable", learn == SPEC_PARAMS, f"{learn:,} (spec {SPEC_PARAMS:,})"),
              ("folded", folded == blob, f"{len(folded)} tensors = convert_midas.blob_table"),
              ("GMAC", all(abs(macs[g] / 1e9 - v) < 0.05 for g, v in SPEC_GMAC_256x384.items()),
               f"256x384: {mac_text}")]
    ok = True
    for what, good, text in checks:
        ok &= good
        print(f"midas-v1 {what:9s} {'ok  ' if good else 'FAIL'} {text}")
    for k in sorted(set(dict(got)) ^ set(dict(want))):
        print(f"      differs: {k}")
    return ok


if __name__ == "__main__":
    sys.exit(0 if self_check() else 1)
