#!/usr/bin/python3
"""make_midas21_weights.py OUTDIR [--seed N] [--model K] [--manifest M] - writes OUTDIR/midas-{small,large}-random.p3dw.

Seeded random state_dicts with exactly the keys and shapes of the MiDaS v2.1 checkpoints, converted by the
core of tools/convert_midas21.py. numpy only. The blobs (66 MB small, 416 MB large) are not committed:
the ctest fixture midas21_test_weights regenerates them and compares their SHA-256 with
tests/data/midas21/manifest.json, whose golden outputs PyTorch computed from the same weights
(tools/gen_midas21_golden.py). With --manifest, a blob that already has the manifest's SHA-256 is kept,
any other is (re)written, and the exit status is 1 if a written blob's SHA-256 differs.

Values come from tools/golden_weights.py's counter-based splitmix64 stream (bit-identical on every machine)
under the state_dict key; U(lo, hi) as there. fan_in = prod(weight.shape[1:]).
| tensor | values |
|---|---|
| conv weight | U(-b, b), b = sqrt(3 g / fan_in), g = _gain(): see the next lines |
| conv bias | U(-0.1, 0.1); scratch.output_conv.4.bias U(0.05, 0.15) |
| BN weight / bias / running_mean / running_var | U(0.8, 1.2) / U(-0.1, 0.1) / U(-0.2, 0.2) / U(0.5, 2) |
| BN num_batches_tracked | 1000 (int64 scalar) |
g = 2 for a conv reading a ReLU/ReLU6 output (Kaiming), 1 for one reading the image or a linear sum, 0.25 for
one ending a residual branch (large conv3, small conv_pwl of a residual block). The smaller gain on the residual
branches keeps the random activations O(1) through the 33 bottlenecks
(with g = 2 they double per block); the positive output bias leaves part of the final ReLU's input above 0.
"""
import math
import os
import sys
from collections import OrderedDict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_midas21 as cm  # noqa: E402
from golden_weights import uniform  # noqa: E402
from make_test_weights import blobs_main  # noqa: E402

SEED = 20210401


def _residual_ends(kind):
    if kind == "midas-large":
        return {f"{p}.conv3.weight" for p, *_ in cm.resnext_blocks()}
    return {f"{p}.conv_pwl.weight" for p, _, _, _, _, _, _, res in cm.lite3_blocks() if res}


def _gain(kind, key, ends):
    """g of a conv weight: 2 when the conv reads a ReLU/ReLU6 output, 1 when it reads the image or a linear
    sum (small: block outputs, fusion outputs; both: the head's first two convs), 0.25 ending a residual branch."""
    if key in ends:
        return 0.25
    if key in ("pretrained.layer1.0.weight", "scratch.output_conv.0.weight", "scratch.output_conv.2.weight"):
        return 1.0
    if kind == "midas-small" and (key.startswith("scratch.layer") or ".out_conv." in key):
        return 1.0
    if kind == "midas-small" and key.endswith(".conv_pw.weight"):
        prefix = key.rsplit(".", 2)[0]
        return 2.0 if any(p == prefix and t == "ds" for p, t, *_ in cm.lite3_blocks()) else 1.0
    return 2.0


def random_state_dict(kind, seed=SEED):
    """OrderedDict {checkpoint key: numpy array}: exactly the keys and shapes of the official checkpoint."""
    ends = _residual_ends(kind)
    bn_prefixes = {bn for _, bn in cm.bn_pairs(kind)}
    sd = OrderedDict()
    for key, shape in cm.checkpoint_table(kind).items():
        prefix, leaf = key.rsplit(".", 1)
        if prefix in bn_prefixes:
            if leaf == "num_batches_tracked":
                sd[key] = np.array(1000, np.int64)
                continue
            lo, hi = {"weight": (0.8, 1.2), "bias": (-0.1, 0.1), "running_mean": (-0.2, 0.2),
                      "running_var": (0.5, 2.0)}[leaf]
        elif leaf == "weight":
            b = math.sqrt(3.0 * _gain(kind, key, ends) / int(np.prod(shape[1:])))
            lo, hi = -b, b
        elif key == "scratch.output_conv.4.bias":
            lo, hi = 0.05, 0.15
        else:
            lo, hi = -0.1, 0.1
        sd[key] = uniform(seed, key, shape, lo, hi)
    return sd


def main(argv=None):
    return blobs_main(argv, __doc__, cm.KINDS, SEED, random_state_dict, cm.write_blob)


if __name__ == "__main__":
    sys.exit(main())
