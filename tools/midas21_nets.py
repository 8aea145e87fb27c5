#!/usr/bin/python3
"""midas21_nets.py - the MiDaS v2.1 networks (isl-org/MiDaS, MIT) as PyTorch modules, written from the
published architecture with the official state_dict key names, so the released checkpoints load with
strict=True and without timm, torch.hub or gen-efficientnet-pytorch.

    MidasNetSmall()   MidasNet_small(features=64, backbone="efficientnet_lite3", exportable=True,
                      non_negative=True, blocks={'expand': True}, align_corners=True): midas_v21_small_256.pt
    MidasNetLarge()   MidasNet(features=256, non_negative=True), ResNeXt-101 32x8d WSL: midas_v21_384.pt

forward(x): x (N, 3, H, W), H and W multiples of 32, ImageNet-normalised RGB -> (N, H, W) relative
inverse depth (>= 0). build(kind, folded=True) gives the same nets with every BatchNorm folded into the
conv before it (conv biases instead of BN modules, refinenet4.resConfUnit1 absent): the layout of the
p3dw blob that tools/convert_midas21.py writes, which load_numpy fills from the blob's tensors.

Details that matter for parity (and that the C side, host/depth/midas_v21.c, reproduces):
  * Small encoder = tf_efficientnet_lite3 of gen-efficientnet-pytorch: TF 'same' padding - stride-1 convs
    pad k//2 symmetrically, stride-2 convs pad total = max((ceil(i/s)-1)*s + k - i, 0) split as
    (total//2 before, the rest after), computed from the input size (Conv2dSameExport fixes it at the first
    call; every multiple of 32 gives the same pads) -; ReLU6; BN eps 1e-3; depthwise-separable and
    inverted-residual blocks without squeeze-excite; a residual add where stride is 1 and in == out.
  * MiDaS's layer1..layer4 are encoder stages [stem, blocks 0-1], [2], [3-4], [5-6] (small) and
    [conv1, bn1, relu, maxpool 3x3 s2 p1, layer1], layer2, layer3, layer4 (large, torchvision
    Bottleneck with the stride on the grouped 3x3, 32 groups, BN eps 1e-5).
  * Large decoder: ResidualConvUnit uses nn.ReLU(inplace=True) on its input, so it returns
    relu(x) + conv2(relu(conv1(relu(x)))), not x + ...; the small one (ResidualConvUnit_custom with
    nn.ReLU(False)) returns x + conv2(relu(conv1(relu(x)))).
  * Fusion: out = xs[0] + RCU1(xs[1]) (refinenet4: xs[0] alone), RCU2, bilinear x2 with
    align_corners=True, then (small only) a 1x1 out_conv halving the channels (refinenet1 keeps 64).
  * Head: conv3x3 -> bilinear x2 (align_corners=False) -> conv3x3 -> ReLU -> conv1x1 -> ReLU.

Run as a script: builds both nets and checks key names, shapes and order against convert_midas21's tables,
the parameter counts and, with folded weights from a random checkpoint, the folding (needs torch).
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_midas21 as cm  # noqa: E402

# Values in the checkpoints (parameters, BN running statistics and one num_batches_tracked per BN: 72 in
# the small net, 104 in the large one): the 21M and 105M parameters the MiDaS README gives.
EXPECTED_NUMEL = {"midas-small": 21394657 + 72, "midas-large": 105565825 + 104}


# ---- encoder pieces ----------------------------------------------------------------------------------
def same_pad(size, k, s):
    """TF 'same' padding of one axis: (before, after)."""
    total = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """gen-efficientnet's Conv2dSame / Conv2dSameExport: zero padding computed from the input size."""

    def forward(self, x):
        ph = same_pad(x.shape[-2], self.kernel_size[0], self.stride[0])
        pw = same_pad(x.shape[-1], self.kernel_size[1], self.stride[1])
        return F.conv2d(F.pad(x, [pw[0], pw[1], ph[0], ph[1]]), self.weight, self.bias, self.stride, 0, 1, self.groups)


def tf_conv(cin, cout, k, stride=1, groups=1, bias=False):
    """create_conv2d_pad(padding='same'): static symmetric padding where it is exact, else dynamic."""
    if stride == 1 and k % 2 == 1:
        return nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=bias)
    return Conv2dSame(cin, cout, k, stride, padding=0, groups=groups, bias=bias)


def norm(c, eps, folded):
    return nn.Identity() if folded else nn.BatchNorm2d(c, eps=eps)


class DepthwiseSeparableConv(nn.Module):
    def __init__(self, cin, cout, k, stride, folded):
        super().__init__()
        self.has_residual = stride == 1 and cin == cout
        self.conv_dw = tf_conv(cin, cin, k, stride, groups=cin, bias=folded)
        self.bn1 = norm(cin, 1e-3, folded)
        self.act1 = nn.ReLU6(inplace=True)
        self.conv_pw = tf_conv(cin, cout, 1, bias=folded)
        self.bn2 = norm(cout, 1e-3, folded)

    def forward(self, x):
        y = self.bn2(self.conv_pw(self.act1(self.bn1(self.conv_dw(x)))))
        return y + x if self.has_residual else y


class InvertedResidual(nn.Module):
    def __init__(self, cin, mid, cout, k, stride, folded):
        super().__init__()
        self.has_residual = stride == 1 and cin == cout
        self.conv_pw = tf_conv(cin, mid, 1, bias=folded)
        self.bn1 = norm(mid, 1e-3, folded)
        self.act1 = nn.ReLU6(inplace=True)
        self.conv_dw = tf_conv(mid, mid, k, stride, groups=mid, bias=folded)
        self.bn2 = norm(mid, 1e-3, folded)
        self.act2 = nn.ReLU6(inplace=True)
        self.conv_pwl = tf_conv(mid, cout, 1, bias=folded)
        self.bn3 = norm(cout, 1e-3, folded)

    def forward(self, x):
        y = self.act1(self.bn1(self.conv_pw(x)))
        y = self.act2(self.bn2(self.conv_dw(y)))
        y = self.bn3(self.conv_pwl(y))
        return y + x if self.has_residual else y


def lite3_encoder(folded):
    """MiDaS's `pretrained` module around tf_efficientnet_lite3."""
    stages = {}
    for prefix, typ, cin, mid, cout, k, stride, _ in cm.lite3_blocks():
        stage = prefix.rsplit(".", 1)[0]
        block = DepthwiseSeparableConv(cin, cout, k, stride, folded) if typ == "ds" else \
            InvertedResidual(cin, mid, cout, k, stride, folded)
        stages.setdefault(stage, []).append(block)
    seq = {p: nn.Sequential(*stages[p]) for p in cm.LITE_STAGE_PREFIX}
    enc = nn.Module()
    enc.layer1 = nn.Sequential(tf_conv(3, cm.LITE_STEM, 3, 2, bias=folded), norm(cm.LITE_STEM, 1e-3, folded),
                               nn.ReLU6(inplace=True), seq["pretrained.layer1.3"], seq["pretrained.layer1.4"])
    enc.layer2 = nn.Sequential(seq["pretrained.layer2.0"])
    enc.layer3 = nn.Sequential(seq["pretrained.layer3.0"], seq["pretrained.layer3.1"])
    enc.layer4 = nn.Sequential(seq["pretrained.layer4.0"], seq["pretrained.layer4.1"])
    return enc


class Bottleneck(nn.Module):
    """torchvision's ResNeXt Bottleneck (stride on conv2)."""

    def __init__(self, cin, width, cout, stride, down, folded):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=folded)
        self.bn1 = norm(width, 1e-5, folded)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=cm.RESNEXT_GROUPS, bias=folded)
        self.bn2 = norm(width, 1e-5, folded)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=folded)
        self.bn3 = norm(cout, 1e-5, folded)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=folded), norm(cout, 1e-5, folded)) \
            if down else None

    def forward(self, x):
        identity = self.downsample(x) if self.downsample is not None else x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def resnext_encoder(folded):
    """MiDaS's `pretrained` module around resnext101_32x8d_wsl (_make_resnet_backbone)."""
    layers = {}
    for prefix, cin, width, cout, stride, down in cm.resnext_blocks():
        layers.setdefault(prefix.rsplit(".", 1)[0], []).append(Bottleneck(cin, width, cout, stride, down, folded))
    enc = nn.Module()
    enc.layer1 = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=folded), norm(64, 1e-5, folded), nn.ReLU(inplace=True),
                               nn.MaxPool2d(3, 2, 1), nn.Sequential(*layers["pretrained.layer1.4"]))
    enc.layer2 = nn.Sequential(*layers["pretrained.layer2"])
    enc.layer3 = nn.Sequential(*layers["pretrained.layer3"])
    enc.layer4 = nn.Sequential(*layers["pretrained.layer4"])
    return enc


# ---- decoder pieces (midas/blocks.py) ----------------------------------------------------------------
class Interpolate(nn.Module):
    def __init__(self, scale_factor, mode, align_corners=False):
        super().__init__()
        self.scale_factor, self.mode, self.align_corners = scale_factor, mode, align_corners

    def forward(self, x):
        return F.interpolate(x, scale_factor=self.scale_factor, mode=self.mode, align_corners=self.align_corners)


class ResidualConvUnit(nn.Module):
    """MidasNet's unit: its in-place ReLU overwrites x, so the skip adds relu(x)."""

    def __init__(self, features):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(features, features, 3, 1, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.relu(x)
        out = self.conv1(out)
        out = self.relu(out)
        out = self.conv2(out)
        return out + x


class FeatureFusionBlock(nn.Module):
    def __init__(self, features, with_unit1=True):
        super().__init__()
        if with_unit1:
            self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(self, *xs):
        output = xs[0]
        if len(xs) == 2:
            output += self.resConfUnit1(xs[1])
        output = self.resConfUnit2(output)
        return F.interpolate(output, scale_factor=2, mode="bilinear", align_corners=True)


class ResidualConvUnitCustom(nn.Module):
    """ResidualConvUnit_custom(bn=False, groups=1) with nn.ReLU(False): the skip adds x itself."""

    def __init__(self, features, activation):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, 3, 1, 1, bias=True)
        self.conv2 = nn.Conv2d(features, features, 3, 1, 1, bias=True)
        self.activation = activation

    def forward(self, x):
        out = self.conv2(self.activation(self.conv1(self.activation(x))))
        return out + x


class FeatureFusionBlockCustom(nn.Module):
    """FeatureFusionBlock_custom(deconv=False, bn=False, align_corners=True)."""

    def __init__(self, features, activation, expand, with_unit1=True):
        super().__init__()
        self.out_conv = nn.Conv2d(features, features // 2 if expand else features, 1, 1, 0, bias=True)
        if with_unit1:
            self.resConfUnit1 = ResidualConvUnitCustom(features, activation)
        self.resConfUnit2 = ResidualConvUnitCustom(features, activation)

    def forward(self, *xs):
        output = xs[0]
        if len(xs) == 2:
            output = output + self.resConfUnit1(xs[1])
        output = self.resConfUnit2(output)
        output = F.interpolate(output, scale_factor=2, mode="bilinear", align_corners=True)
        return self.out_conv(output)


def make_scratch(in_channels, out_channels):
    scratch = nn.Module()
    for i, (cin, cout) in enumerate(zip(in_channels, out_channels)):
        setattr(scratch, f"layer{i + 1}_rn", nn.Conv2d(cin, cout, 3, 1, 1, bias=False))
    return scratch


class _MidasBase(nn.Module):
    def forward(self, x):
        layer_1 = self.pretrained.layer1(x)
        layer_2 = self.pretrained.layer2(layer_1)
        layer_3 = self.pretrained.layer3(layer_2)
        layer_4 = self.pretrained.layer4(layer_3)
        layer_1_rn = self.scratch.layer1_rn(layer_1)
        layer_2_rn = self.scratch.layer2_rn(layer_2)
        layer_3_rn = self.scratch.layer3_rn(layer_3)
        layer_4_rn = self.scratch.layer4_rn(layer_4)
        path_4 = self.scratch.refinenet4(layer_4_rn)
        path_3 = self.scratch.refinenet3(path_4, layer_3_rn)
        path_2 = self.scratch.refinenet2(path_3, layer_2_rn)
        path_1 = self.scratch.refinenet1(path_2, layer_1_rn)
        out = self.scratch.output_conv(path_1)
        return torch.squeeze(out, dim=1)


class MidasNetSmall(_MidasBase):
    def __init__(self, folded=False):
        super().__init__()
        f = cm.SMALL_FEATURES
        feats = (f, 2 * f, 4 * f, 8 * f)
        self.pretrained = lite3_encoder(folded)
        self.scratch = make_scratch(cm.ENCODER_CHANNELS["midas-small"], feats)
        self.scratch.activation = nn.ReLU(False)
        act = self.scratch.activation
        self.scratch.refinenet4 = FeatureFusionBlockCustom(feats[3], act, True, with_unit1=not folded)
        self.scratch.refinenet3 = FeatureFusionBlockCustom(feats[2], act, True)
        self.scratch.refinenet2 = FeatureFusionBlockCustom(feats[1], act, True)
        self.scratch.refinenet1 = FeatureFusionBlockCustom(feats[0], act, False)
        self.scratch.output_conv = nn.Sequential(
            nn.Conv2d(f, f // 2, 3, 1, 1), Interpolate(2, "bilinear"), nn.Conv2d(f // 2, 32, 3, 1, 1), act,
            nn.Conv2d(32, 1, 1, 1, 0), nn.ReLU(True), nn.Identity())


class MidasNetLarge(_MidasBase):
    def __init__(self, folded=False):
        super().__init__()
        f = cm.LARGE_FEATURES
        self.pretrained = resnext_encoder(folded)
        self.scratch = make_scratch(cm.ENCODER_CHANNELS["midas-large"], (f, f, f, f))
        self.scratch.refinenet4 = FeatureFusionBlock(f, with_unit1=not folded)
        self.scratch.refinenet3 = FeatureFusionBlock(f)
        self.scratch.refinenet2 = FeatureFusionBlock(f)
        self.scratch.refinenet1 = FeatureFusionBlock(f)
        self.scratch.output_conv = nn.Sequential(
            nn.Conv2d(f, 128, 3, 1, 1), Interpolate(2, "bilinear"), nn.Conv2d(128, 32, 3, 1, 1), nn.ReLU(True),
            nn.Conv2d(32, 1, 1, 1, 0), nn.ReLU(True))


def build(kind, folded=False):
    net = {"midas-small": MidasNetSmall, "midas-large": MidasNetLarge}[kind](folded)
    return net.eval()


def load_numpy(net, sd):
    """Loads {name: numpy array} into net (strict: every key, nothing else). Returns net."""
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()}, strict=True)
    return net


def _self_check():
    ok = True
    for kind in cm.KINDS:
        for folded, table in ((False, cm.checkpoint_table(kind)), (True, cm.blob_table(kind))):
            sd = build(kind, folded).state_dict()
            got = [(k, tuple(v.shape)) for k, v in sd.items()]
            want = [(k, tuple(s)) for k, s in table.items()]
            same = got == want
            ok &= same
            numel = sum(v.numel() for v in sd.values())
            line = f"{kind}{' folded' if folded else ''}: {len(sd)} keys, {numel} values"
            if not folded:
                ok &= numel == EXPECTED_NUMEL[kind]
                line += f" (expected {EXPECTED_NUMEL[kind]})"
            print(f"{line}: keys/shapes/order {'match' if same else 'DIFFER'} convert_midas21's table")
            if not same:
                for a, b in zip(got, want):
                    if a != b:
                        print(f"  first difference: module {a} vs table {b}")
                        break
    return ok


if __name__ == "__main__":
    sys.exit(0 if _self_check() else 1)
