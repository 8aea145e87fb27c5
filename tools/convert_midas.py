#!/usr/bin/python3
"""convert_midas.py - converts the MiDaS v1 checkpoint of 3d-photo-inpainting (MiDaS/model.pt,
`MonoDepthNet`, reference spec 3.6 / 3.9) into a p3dw blob (weights/FORMAT.md).

    convert_midas.py --model midas-v1 IN.pt OUT.p3dw

The official model.pt is a plain state_dict (338 keys); a dict whose only key is 'model' or
'state_dict' holding it is accepted too. Every expected key must be present with its exact shape and
dtype; any other key is refused. Errors name the key and the exit status is 1.

The conversion core (`convert_state_dict`, `write_blob`) works on a plain {name: numpy array} dict and
needs numpy only; torch is imported only to read the .pt file.

What the converter bakes in:
  * Every BatchNorm2d (eval, eps 1e-5) is folded into the convolution before it. All of them follow a
    plain bias-free conv (ResNet-50 stem, bottleneck convs, downsample convs), so the fold is exact
    algebra: with s = gamma / sqrt(running_var + eps),
        W' = W * s[o],   b' = beta - running_mean * s       (per output channel o)
    computed in float64 (IEEE-exact elementwise steps) and rounded once to float32, so a blob is
    bit-identical on every machine (tests compare SHA-256s). The folded conv keeps the conv's name and
    gains a `.bias`; the BN's tensors and `num_batches_tracked` are dropped.
  * Every other tensor keeps its PyTorch name, shape and layout (Conv2d: out, in, kh, kw), float32.

Stored tensors (126), in forward order (shapes: blob_table()):
  pretrained.layer1.0.{weight [64,3,7,7], bias [64]}                         stem conv + bn1, ReLU, then max-pool
  pretrained.layer{1.4|2|3|4}.{i}.conv{1,2,3}.{weight, bias}                bottleneck convs + bn1..3
  pretrained.layer{1.4|2|3|4}.0.downsample.0.{weight, bias}                 projection shortcut + its BN
  scratch.layer{1..4}_rn.weight [256, 256|512|1024|2048, 3, 3]               no bias
  scratch.refinenet{4,3,2,1}.resConfUnit.conv1.{weight, bias}, .conv2.weight
  scratch.output_conv.{0,1}.{weight, bias}
What the C side computes with them: host/depth/midas.h; the executable definition: tools/midas_nets.py
(MonoDepthNet(folded=True), whose state_dict keys are exactly these names).
"""
import os
import sys
from collections import OrderedDict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_common import check_state_dict as check_checkpoint, fold_batch_norm, read_checkpoint  # noqa: E402,F401
from p3dw import ConversionError, converter_main, write_tensors  # noqa: E402

BN_EPS = 1e-5
FEATURES = 256
MODELS = ("midas-v1",)
BN_KEYS = ("weight", "bias", "running_mean", "running_var")
RESNET_BLOCKS = (3, 4, 6, 3)    # bottlenecks per ResNet-50 stage
RESNET_PLANES = (64, 128, 256, 512)
RN_CHANNELS = (256, 512, 1024, 2048)

HPARAMS = OrderedDict([
    ("features", FEATURES), ("resnet_blocks", "3,4,6,3"), ("bn_eps", BN_EPS),
    ("batch_norm", "folded into conv"), ("input_multiple", 32), ("input_longer_side", 384),
    ("input", "RGB in [0, 1], no mean/std normalisation"),
    ("fusion_upsampling", "bilinear x2 align_corners=True"),
    ("output_upsampling", "bilinear x2 align_corners=False"),
])


def stage_prefix(stage):
    """State_dict prefix of ResNet stage 1..4 (stage 1 sits inside pretrained.layer1 at index 4)."""
    return "pretrained.layer1.4" if stage == 1 else f"pretrained.layer{stage}"


def layer_table(features=FEATURES):
    """Convolutions in forward order: (conv prefix, BN prefix or None, weight shape, checkpoint bias)."""
    t = [("pretrained.layer1.0", "pretrained.layer1.1", (64, 3, 7, 7), False)]
    cin = 64
    for stage, (blocks, p) in enumerate(zip(RESNET_BLOCKS, RESNET_PLANES), 1):
        for b in range(blocks):
            pre = f"{stage_prefix(stage)}.{b}"
            t += [(f"{pre}.conv1", f"{pre}.bn1", (p, cin if b == 0 else 4 * p, 1, 1), False),
                  (f"{pre}.conv2", f"{pre}.bn2", (p, p, 3, 3), False),
                  (f"{pre}.conv3", f"{pre}.bn3", (4 * p, p, 1, 1), False)]
            if b == 0:
                t.append((f"{pre}.downsample.0", f"{pre}.downsample.1", (4 * p, cin, 1, 1), False))
        cin = 4 * p
    t += [(f"scratch.layer{k}_rn", None, (features, c, 3, 3), False) for k, c in enumerate(RN_CHANNELS, 1)]
    for k in (4, 3, 2, 1):
        unit = f"scratch.refinenet{k}.resConfUnit"
        t += [(f"{unit}.conv1", None, (features, features, 3, 3), True),
              (f"{unit}.conv2", None, (features, features, 3, 3), False)]
    t += [("scratch.output_conv.0", None, (128, features, 3, 3), True),
          ("scratch.output_conv.1", None, (1, 128, 3, 3), True)]
    return t


def _table(model, checkpoint):
    _check_model(model)
    t = OrderedDict()
    for conv, bn, shape, bias in layer_table():
        t[f"{conv}.weight"] = shape
        if bias or (bn and not checkpoint):
            t[f"{conv}.bias"] = (shape[0],)
        if bn and checkpoint:
            t.update((f"{bn}.{key}", (shape[0],)) for key in BN_KEYS)
            t[f"{bn}.num_batches_tracked"] = ()
    return t


def checkpoint_table(model="midas-v1"):
    """OrderedDict {state_dict key: shape} of model.pt, in module order; num_batches_tracked has shape ()."""
    return _table(model, checkpoint=True)


def blob_table(model="midas-v1"):
    """OrderedDict {blob tensor name: shape}, in the order the blob stores them (BN-folded convs gain a bias)."""
    return _table(model, checkpoint=False)


def _check_model(model):
    if model not in MODELS:
        raise ConversionError(f"unknown model '{model}' (known: {', '.join(MODELS)})")


def _variance_positive(key, arr):
    if key.endswith(".running_var") and not np.all(arr + BN_EPS > 0):
        return f"{key}: running_var + eps is not > 0 everywhere"
    return None


def check_state_dict(model, sd):
    """Raises ConversionError listing every missing, unknown, mis-shaped, mis-typed or non-finite key."""
    check_checkpoint(model, checkpoint_table(model), sd, _variance_positive)


def convert_state_dict(model, sd):
    """{checkpoint key: numpy array} -> OrderedDict {blob name: float32 array} in blob_table order."""
    check_state_dict(model, sd)
    out = OrderedDict()
    for conv, bn, shape, bias in layer_table():
        w = sd[f"{conv}.weight"]
        if bn:
            w, b = fold_batch_norm(w, *(sd[f"{bn}.{key}"] for key in BN_KEYS), BN_EPS)
        else:
            b = sd[f"{conv}.bias"] if bias else None
        out[f"{conv}.weight"] = w
        if b is not None:
            out[f"{conv}.bias"] = b
    return out


def write_blob(model, sd, path, log=sys.stdout):
    """Validates and converts a numpy state_dict and writes the p3dw blob. Returns the file size."""
    return write_tensors(path, model, HPARAMS, convert_state_dict(model, sd), blob_table(model), log)


def main(argv=None):
    return converter_main(argv, "convert_midas.py", "Convert the MiDaS v1 checkpoint (model.pt) into a p3dw blob "
                          "(midas-v1.p3dw is the name photo3d-gpu looks for).", MODELS, "MiDaS/model.pt", read_checkpoint,
                          write_blob)


if __name__ == "__main__":
    sys.exit(main())
