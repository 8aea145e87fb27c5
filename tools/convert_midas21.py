#!/usr/bin/python3
"""convert_midas21.py - converts the MiDaS v2.1 checkpoints (isl-org/MiDaS, MIT) into p3dw blobs
(weights/FORMAT.md).

    convert_midas21.py --model midas-small IN.pt OUT.p3dw   # midas_v21_small_256.pt / midas_v21_small-70d6b9c8.pt
    convert_midas21.py --model midas-large IN.pt OUT.p3dw   # midas_v21_384.pt / midas_v21-f6b98070.pt

The checkpoints are state_dicts of MidasNet_small (EfficientNet-Lite3 encoder, features 64, expand) and
MidasNet (ResNeXt-101 32x8d WSL encoder, features 256); a dict {"model": state_dict, "optimizer": ...}
is accepted too (MiDaS's BaseModel.load). Every expected key must be present with its exact shape and
dtype; any other key is refused by name (a checkpoint of the other MiDaS v2.1 model is named as such).
Errors name the keys and the exit status is 1.

The conversion core (`convert_state_dict`, `write_blob`) works on a plain {name: numpy array} dict and
needs numpy only; torch is imported only to read a .pt file. The executable definition of both nets,
keys included, is tools/midas21_nets.py, which checks its modules against the tables here.

What the converter bakes in (every other tensor keeps its PyTorch name, shape and layout, float32):

| checkpoint keys | stored as | how |
|---|---|---|
| conv `C.weight` followed by BatchNorm `B.*` | `C.weight`, `C.bias` | BN folded into the conv, below |
| `B.num_batches_tracked` | dropped | training counter, unused in eval |
| `scratch.refinenet4.resConfUnit1.*` | dropped | refinenet4 gets one input, so this unit never runs |

Conv -> BN pairs: small: the stem `pretrained.layer1.0` / `.1` and, in every block, conv_dw / bn1,
conv_pw / bn2 (depthwise-separable) or conv_pw / bn1, conv_dw / bn2, conv_pwl / bn3 (inverted residual);
large: the stem `pretrained.layer1.0` / `.1`, in every bottleneck conv1 / bn1, conv2 / bn2, conv3 / bn3,
downsample.0 / downsample.1. No BN-preceded conv has a bias. Folding, per output channel, in float64
rounded once to float32 (IEEE-exact element-wise steps, so a blob is bit-identical on every machine):
    s = gamma / sqrt(running_var + eps),  weight' = weight * s,  bias' = beta - running_mean * s
with eps = 1e-3 (the tf_ EfficientNet ports, small) or 1e-5 (torchvision ResNeXt, large).

Blob order: the checkpoint's order with the BN entries removed and each folded bias right after its
weight (blob_table(kind)).
"""
import math
import os
import sys
from collections import OrderedDict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_common import check_state_dict as check_checkpoint, fold_batch_norm, read_checkpoint, unwrap_checkpoint  # noqa: E402,F401
from p3dw import ConversionError, converter_main, write_tensors  # noqa: E402

KINDS = ("midas-small", "midas-large")
BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")

# ---- MidasNet_small: tf_efficientnet_lite3 (gen-efficientnet-pytorch, exportable) -------------------
# Base EfficientNet-Lite arch (block type, kernel, stride, expansion, channels, repeats); lite3 scales
# channels by 1.2 (make_divisible by 8) and repeats by 1.4 (ceil), the first and last stage's repeats and
# the 32-channel stem fixed. ReLU6 everywhere, no squeeze-excite, TF 'same' padding, BN eps 1e-3.
LITE_BASE = [("ds", 3, 1, 1, 16, 1), ("ir", 3, 2, 6, 24, 2), ("ir", 5, 2, 6, 40, 2), ("ir", 3, 2, 6, 80, 3),
             ("ir", 5, 1, 6, 112, 3), ("ir", 5, 2, 6, 192, 4), ("ir", 3, 1, 6, 320, 1)]
LITE_STEM = 32
LITE_CHANNEL_MULT, LITE_DEPTH_MULT = 1.2, 1.4
# MiDaS's _make_efficientnet_backbone: layer1 = [conv_stem, bn1, act1, blocks[0], blocks[1]],
# layer2 = blocks[2:3], layer3 = blocks[3:5], layer4 = blocks[5:9]: the module prefix of each stage.
LITE_STAGE_PREFIX = ["pretrained.layer1.3", "pretrained.layer1.4", "pretrained.layer2.0", "pretrained.layer3.0",
                     "pretrained.layer3.1", "pretrained.layer4.0", "pretrained.layer4.1"]
SMALL_FEATURES = 64


def make_divisible(v, divisor=8):
    """gen-efficientnet's rounding: to the nearest multiple of divisor, never more than 10% down."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def lite3_stages():
    """[(type, kernel, stride, expansion, out channels, repeats)] of tf_efficientnet_lite3."""
    out = []
    for i, (t, k, s, e, c, r) in enumerate(LITE_BASE):
        fixed = i in (0, len(LITE_BASE) - 1)
        out.append((t, k, s, e, make_divisible(c * LITE_CHANNEL_MULT), r if fixed else math.ceil(r * LITE_DEPTH_MULT)))
    return out


def lite3_blocks():
    """Every encoder block in order: (prefix, type, in, mid, out, kernel, stride, residual)."""
    blocks, cin = [], LITE_STEM
    for (t, k, s, e, c, r), stage_prefix in zip(lite3_stages(), LITE_STAGE_PREFIX):
        for j in range(r):
            stride = s if j == 0 else 1
            mid = cin if t == "ds" else make_divisible(cin * e)
            blocks.append((f"{stage_prefix}.{j}", t, cin, mid, c, k, stride, stride == 1 and cin == c))
            cin = c
    return blocks


# ---- MidasNet: ResNeXt-101 32x8d (torchvision Bottleneck, stride on the 3x3, BN eps 1e-5) ------------
RESNEXT_LAYERS = (3, 4, 23, 3)
RESNEXT_PLANES = (64, 128, 256, 512)
RESNEXT_GROUPS, RESNEXT_WIDTH_PER_GROUP = 32, 8
LARGE_FEATURES = 256


def resnext_blocks():
    """Every bottleneck in order: (prefix, in, width, out, stride, has downsample)."""
    blocks, cin = [], 64
    for li, (n, planes) in enumerate(zip(RESNEXT_LAYERS, RESNEXT_PLANES)):
        width = planes * RESNEXT_WIDTH_PER_GROUP // 64 * RESNEXT_GROUPS
        cout = planes * 4
        prefix = "pretrained.layer1.4" if li == 0 else f"pretrained.layer{li + 1}"
        for j in range(n):
            stride = 2 if (j == 0 and li > 0) else 1
            blocks.append((f"{prefix}.{j}", cin, width, cout, stride, j == 0))
            cin = cout
    return blocks


ENCODER_CHANNELS = {"midas-small": None, "midas-large": (256, 512, 1024, 2048)}
HPARAMS = {
    "midas-small": OrderedDict([("features", SMALL_FEATURES), ("input_size", 256), ("backbone", "efficientnet_lite3"),
                                ("batch_norm", "folded into conv"), ("bn_eps", 1e-3), ("padding", "tf-same"),
                                ("activation", "relu6"), ("rcu_skip", "x"), ("non_negative", 1)]),
    "midas-large": OrderedDict([("features", LARGE_FEATURES), ("input_size", 384), ("backbone", "resnext101_32x8d"),
                                ("batch_norm", "folded into conv"), ("bn_eps", 1e-5), ("padding", "symmetric"),
                                ("activation", "relu"), ("rcu_skip", "relu(x)"), ("non_negative", 1)]),
}


def _small_encoder_channels():
    """Channels of layer1..layer4 of the small encoder: (32, 48, 136, 384)."""
    ends = {}
    for prefix, _, _, _, cout, _, _, _ in lite3_blocks():
        ends[prefix.split(".")[1]] = cout
    return tuple(ends[f"layer{i}"] for i in range(1, 5))


ENCODER_CHANNELS["midas-small"] = _small_encoder_channels()


# ---- tables -------------------------------------------------------------------------------------------
def _conv_bn(t, conv, bn, shape, checkpoint):
    """A bias-free conv followed by a BN: the checkpoint's keys, or the folded blob's."""
    t[f"{conv}.weight"] = shape
    if checkpoint:
        for k in BN_KEYS:
            t[f"{bn}.{k}"] = () if k == "num_batches_tracked" else (shape[0],)
    else:
        t[f"{conv}.bias"] = (shape[0],)


def _conv(t, name, cout, cin, k, bias=True):
    t[f"{name}.weight"] = (cout, cin, k, k)
    if bias:
        t[f"{name}.bias"] = (cout,)


def bn_pairs(kind):
    """[(conv prefix, BN prefix, eps)] of every folded pair, in checkpoint order."""
    pairs = [("pretrained.layer1.0", "pretrained.layer1.1")]
    if kind == "midas-small":
        for prefix, typ, *_ in lite3_blocks():
            names = [("conv_dw", "bn1"), ("conv_pw", "bn2")] if typ == "ds" else \
                [("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3")]
            pairs += [(f"{prefix}.{c}", f"{prefix}.{b}") for c, b in names]
    else:
        for prefix, _, _, _, _, down in resnext_blocks():
            pairs += [(f"{prefix}.conv{i}", f"{prefix}.bn{i}") for i in (1, 2, 3)]
            if down:
                pairs.append((f"{prefix}.downsample.0", f"{prefix}.downsample.1"))
    return pairs


def _table(kind, checkpoint):
    if kind not in KINDS:
        raise ConversionError(f"unknown model '{kind}' (known: {', '.join(KINDS)})")
    t = OrderedDict()
    if kind == "midas-small":
        _conv_bn(t, "pretrained.layer1.0", "pretrained.layer1.1", (LITE_STEM, 3, 3, 3), checkpoint)
        for prefix, typ, cin, mid, cout, k, _, _ in lite3_blocks():
            if typ == "ds":
                _conv_bn(t, f"{prefix}.conv_dw", f"{prefix}.bn1", (cin, 1, k, k), checkpoint)
                _conv_bn(t, f"{prefix}.conv_pw", f"{prefix}.bn2", (cout, cin, 1, 1), checkpoint)
            else:
                _conv_bn(t, f"{prefix}.conv_pw", f"{prefix}.bn1", (mid, cin, 1, 1), checkpoint)
                _conv_bn(t, f"{prefix}.conv_dw", f"{prefix}.bn2", (mid, 1, k, k), checkpoint)
                _conv_bn(t, f"{prefix}.conv_pwl", f"{prefix}.bn3", (cout, mid, 1, 1), checkpoint)
        f = SMALL_FEATURES
        scratch = (f, 2 * f, 4 * f, 8 * f)  # expand=True
    else:
        _conv_bn(t, "pretrained.layer1.0", "pretrained.layer1.1", (64, 3, 7, 7), checkpoint)
        for prefix, cin, width, cout, _, down in resnext_blocks():
            _conv_bn(t, f"{prefix}.conv1", f"{prefix}.bn1", (width, cin, 1, 1), checkpoint)
            _conv_bn(t, f"{prefix}.conv2", f"{prefix}.bn2", (width, width // RESNEXT_GROUPS, 3, 3), checkpoint)
            _conv_bn(t, f"{prefix}.conv3", f"{prefix}.bn3", (cout, width, 1, 1), checkpoint)
            if down:
                _conv_bn(t, f"{prefix}.downsample.0", f"{prefix}.downsample.1", (cout, cin, 1, 1), checkpoint)
        f = LARGE_FEATURES
        scratch = (f, f, f, f)
    for i, (cin, cout) in enumerate(zip(ENCODER_CHANNELS[kind], scratch)):
        _conv(t, f"scratch.layer{i + 1}_rn", cout, cin, 3, bias=False)
    for i in (4, 3, 2, 1):
        c = scratch[i - 1]
        name = f"scratch.refinenet{i}"
        if kind == "midas-small":  # FeatureFusionBlock_custom registers out_conv first
            _conv(t, f"{name}.out_conv", c // 2 if i > 1 else c, c, 1)
        for unit in (1, 2):
            if unit == 1 and i == 4 and not checkpoint:
                continue
            for conv in (1, 2):
                _conv(t, f"{name}.resConfUnit{unit}.conv{conv}", c, c, 3)
    _conv(t, "scratch.output_conv.0", f // 2 if kind == "midas-small" else 128, f, 3)
    _conv(t, "scratch.output_conv.2", 32, f // 2 if kind == "midas-small" else 128, 3)
    _conv(t, "scratch.output_conv.4", 1, 32, 1)
    return t


def checkpoint_table(kind):
    """OrderedDict {state_dict key: shape} of the official checkpoint, in module order
    (num_batches_tracked has shape ())."""
    return _table(kind, checkpoint=True)


def blob_table(kind):
    """OrderedDict {blob tensor name: shape}, in the order the blob stores them."""
    return _table(kind, checkpoint=False)


# ---- validation and conversion -----------------------------------------------------------------------
def check_state_dict(kind, sd):
    """Raises ConversionError listing every missing, unknown, mis-shaped or mis-typed key."""
    expected = checkpoint_table(kind)
    other = [k for k in KINDS if k != kind][0]
    if set(sd) == set(checkpoint_table(other)):
        raise ConversionError(f"{kind} checkpoint refused: this is a {other} checkpoint (convert it with "
                              f"--model {other})")

    def negative_variance(k, arr):
        return f"{k}: negative running variance" if k.endswith(".running_var") and not np.all(arr >= 0) else None

    check_checkpoint(kind, expected, sd, negative_variance)


def convert_state_dict(kind, sd):
    """{checkpoint key: numpy array} -> OrderedDict {blob name: float32 array} in blob_table order."""
    check_state_dict(kind, sd)
    eps = HPARAMS[kind]["bn_eps"]
    folded = {}
    for conv, bn in bn_pairs(kind):
        w, b = fold_batch_norm(sd[f"{conv}.weight"], *(sd[f"{bn}.{k}"] for k in BN_KEYS[:4]), eps)
        folded[f"{conv}.weight"], folded[f"{conv}.bias"] = w, b
    return OrderedDict((k, folded[k] if k in folded else sd[k]) for k in blob_table(kind))


def write_blob(kind, sd, path, log=sys.stdout):
    """Validates and converts a numpy state_dict and writes the p3dw blob. Returns the file size."""
    return write_tensors(path, kind, HPARAMS[kind], convert_state_dict(kind, sd), blob_table(kind), log)


def main(argv=None):
    return converter_main(argv, "convert_midas21.py", "Convert a MiDaS v2.1 checkpoint (.pt) into a p3dw blob "
                          "(the program looks for midas-small.p3dw / midas-large.p3dw).", KINDS,
                          "midas_v21_small_256.pt (midas-small) / midas_v21_384.pt (midas-large)", read_checkpoint,
                          write_blob)


if __name__ == "__main__":
    sys.exit(main())
