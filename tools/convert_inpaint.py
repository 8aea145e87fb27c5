#!/usr/bin/python3
"""convert_inpaint.py - converts the three inpainting checkpoints (edge-model.pth, depth-model.pth,
color-model.pth of 3d-photo-inpainting) into p3dw blobs (weights/FORMAT.md).

    convert_inpaint.py --model edge|depth|color IN.pth OUT.p3dw

The official checkpoints are plain state_dicts (reference spec 3, 3.9); a dict whose only key is
'model' or 'state_dict' holding the state_dict is accepted too. Every expected key must be present
with its exact shape and dtype; any other key is refused. Errors name the key and the exit status is 1.

The conversion core (`convert_state_dict`, `write_blob`) works on a plain {name: numpy array} dict and
needs numpy only; torch is imported only to read a .pth file.

What the converter bakes in (every other tensor keeps its PyTorch name, shape and layout, float32, C order):

| checkpoint keys | stored as | how |
|---|---|---|
| `P.weight_orig`, `P.weight_u`, `P.weight_v` (edge net) | `P.weight` | spectral norm folded, see below |
| `L.bn.weight`, `.bias`, `.running_mean`, `.running_var` | `L.bn.scale`, `L.bn.shift` (out,) | BN folded, see below |
| `L.bn.num_batches_tracked` | dropped | training counter, unused in eval |
| `L.conv.mask_conv.weight` | dropped | verified all ones; the C side sums the mask itself |

Spectral norm (edge net; torch.nn.utils.spectral_norm in eval mode, no power iteration):
    W = weight_orig / sigma,  sigma = u . (W_mat v),
    W_mat = weight_orig with dimension d moved first, reshaped to (shape[d], -1);
    d = 0 for Conv2d, d = 1 for ConvTranspose2d (decoder_0.0, decoder_1.0).
Layouts stay PyTorch's: Conv2d (out, in, kh, kw), ConvTranspose2d (in, out, kh, kw).

Batch norm (eps 1e-5): scale = weight / sqrt(running_var + eps), shift = bias - running_mean * scale,
so BN(h) = h * scale + shift.

Partial-conv layer L of the depth/colour nets (PCBActiv = partial conv -> renormalisation -> BN -> activation),
per output channel o, with x the input, m the (channel-replicated) mask, W = `L.conv.input_conv.weight`,
b = `L.conv.input_conv.bias` (0 where the layer has none), k x k window, C_in input channels:

    y   = conv(x * m, W)                          (no bias)
    S   = conv(m, ones(C_in, k, k))               (same for every o)
    h   = S > 0 ? y * (C_in*k*k) / S + b : 0      (reference: ((y + b - b) * winsize) / S + b)
    out = act(scale[o] * h + shift[o])            (layers with BN; act(h) otherwise)
    new mask = S > 0

The BN affine is applied at EVERY position, holes included (there h = 0 and the pre-activation is shift[o]),
exactly as the reference applies BatchNorm2d after the hole fill. Folding scale into W and b is possible
(scale*h = renormalised conv with scale*W plus scale*b) but shift must still be added after the hole fill,
so the blob keeps the two tensors separate and W bit-identical to the checkpoint.

Stored tensors, in blob order (shapes: blob_table(model)):
  edge (28):  encoder_0.1, encoder_1.0, encoder_2.0 .{weight, bias}; middle.{0..7}.conv_block.{1,5}.weight;
              decoder_0.0, decoder_1.0 .{weight (in, out, 4, 4), bias}; decoder_2.1.{weight, bias}
  depth (41): per layer of UNET['depth'] (module order enc_1..enc_7, dec_5, dec_6, dec_7, dec_4..dec_1):
              L.conv.input_conv.weight, L.conv.input_conv.bias (enc_1, enc_2, dec_1), L.bn.{scale, shift}
              (all but enc_1, dec_1)
  color (39): the same for UNET['color'] (enc_1..enc_7, dec_7, dec_6, dec_5A..dec_1A); bias only on dec_1A
Activations: enc_* ReLU, dec_* (but the last) LeakyReLU(0.2), last none (depth) / sigmoid after (colour).

Numerics: sigma and the BN scale/shift are computed in float64 and rounded once to float32. sigma uses
exactly rounded sums (math.fsum over exact float32*float32 products), so a blob is bit-identical on every
machine and numpy/BLAS build (tests compare SHA-256s).
"""
import math
import os
import sys
from collections import OrderedDict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_common import check_state_dict as check_checkpoint, read_checkpoint, unwrap_checkpoint  # noqa: E402,F401
from p3dw import ConversionError, converter_main, write_tensors  # noqa: E402

BN_EPS = 1e-5
UNIT_LENGTH = 128
LEAKY_SLOPE = 0.2
MODELS = ("edge", "depth", "color")
KIND = {"edge": "inpaint-edge", "depth": "inpaint-depth", "color": "inpaint-color"}

# ---- layer tables (reference spec 3.2-3.4, 3.9) -------------------------------------------------------
# Spectral-normed convolutions of Inpaint_Edge_Net: (prefix, weight shape, has bias, SN dim).
EDGE_SN = ([("encoder_0.1", (64, 7, 7, 7), True, 0),
            ("encoder_1.0", (128, 64, 4, 4), True, 0),
            ("encoder_2.0", (256, 128, 4, 4), True, 0)]
           + [(f"middle.{i}.conv_block.{j}", (256, 256, 3, 3), False, 0) for i in range(8) for j in (1, 5)]
           + [("decoder_0.0", (512, 128, 4, 4), True, 1),
              ("decoder_1.0", (256, 64, 4, 4), True, 1)])
EDGE_PLAIN = [("decoder_2.1", (1, 128, 7, 7), True)]

# Partial-conv layers of the U-Nets: (name, in, out, kernel, has conv bias, has BN), in module order.
_UNET_ENC = [("enc_3", 128, 256, 5, False, True), ("enc_4", 256, 512, 3, False, True),
             ("enc_5", 512, 512, 3, False, True), ("enc_6", 512, 512, 3, False, True),
             ("enc_7", 512, 512, 3, False, True)]
UNET = {
    "depth": ([("enc_1", 4, 64, 7, True, False), ("enc_2", 64, 128, 5, True, True)] + _UNET_ENC
              + [("dec_5", 1024, 512, 3, False, True), ("dec_6", 1024, 512, 3, False, True),
                 ("dec_7", 1024, 512, 3, False, True), ("dec_4", 768, 256, 3, False, True),
                 ("dec_3", 384, 128, 3, False, True), ("dec_2", 192, 64, 3, False, True),
                 ("dec_1", 68, 1, 3, True, False)]),
    "color": ([("enc_1", 6, 64, 7, False, False), ("enc_2", 64, 128, 5, False, True)] + _UNET_ENC
              + [("dec_7", 1024, 512, 3, False, True), ("dec_6", 1024, 512, 3, False, True),
                 ("dec_5A", 1024, 512, 3, False, True), ("dec_4A", 768, 256, 3, False, True),
                 ("dec_3A", 384, 128, 3, False, True), ("dec_2A", 192, 64, 3, False, True),
                 ("dec_1A", 70, 3, 3, True, False)]),
}
BN_KEYS = ("weight", "bias", "running_mean", "running_var")

HPARAMS = {
    "edge": OrderedDict([("in_channels", 7), ("out_channels", 1), ("residual_blocks", 8),
                         ("resblock_dilation", 2), ("unit_length", UNIT_LENGTH), ("instance_norm_eps", BN_EPS),
                         ("leaky_slope", LEAKY_SLOPE), ("output_activation", "sigmoid"),
                         ("spectral_norm", "folded into weight")]),
    "depth": OrderedDict([("in_channels", 4), ("out_channels", 1), ("layer_size", 7),
                          ("unit_length", UNIT_LENGTH), ("bn_eps", BN_EPS), ("leaky_slope", LEAKY_SLOPE),
                          ("upsampling", "nearest"), ("output_activation", "none"),
                          ("batch_norm", "scale-shift after renormalisation")]),
    "color": OrderedDict([("in_channels", 6), ("out_channels", 3), ("layer_size", 7),
                          ("unit_length", UNIT_LENGTH), ("bn_eps", BN_EPS), ("leaky_slope", LEAKY_SLOPE),
                          ("upsampling", "nearest"), ("output_activation", "sigmoid"),
                          ("batch_norm", "scale-shift after renormalisation")]),
}


def _table(model, checkpoint):
    t = OrderedDict()
    if model == "edge":
        for prefix, shape, bias, dim in EDGE_SN:
            if checkpoint:
                if bias:
                    t[f"{prefix}.bias"] = (shape[dim],)
                t[f"{prefix}.weight_orig"] = shape
                t[f"{prefix}.weight_u"] = (shape[dim],)
                t[f"{prefix}.weight_v"] = (int(np.prod(shape)) // shape[dim],)
            else:
                t[f"{prefix}.weight"] = shape
                if bias:
                    t[f"{prefix}.bias"] = (shape[dim],)
        for prefix, shape, bias in EDGE_PLAIN:
            t[f"{prefix}.weight"] = shape
            t[f"{prefix}.bias"] = (shape[0],)
        return t
    for name, cin, cout, k, bias, bn in UNET[model]:
        t[f"{name}.conv.input_conv.weight"] = (cout, cin, k, k)
        if bias:
            t[f"{name}.conv.input_conv.bias"] = (cout,)
        if checkpoint:
            t[f"{name}.conv.mask_conv.weight"] = (cout, cin, k, k)
        if bn and checkpoint:
            for key in BN_KEYS:
                t[f"{name}.bn.{key}"] = (cout,)
            t[f"{name}.bn.num_batches_tracked"] = ()
        elif bn:
            t[f"{name}.bn.scale"] = (cout,)
            t[f"{name}.bn.shift"] = (cout,)
    return t


def checkpoint_table(model):
    """OrderedDict {state_dict key: shape} of the checkpoint, in module order; num_batches_tracked has shape ()."""
    return _table(model, checkpoint=True)


def blob_table(model):
    """OrderedDict {blob tensor name: shape}, in the order the blob stores them."""
    return _table(model, checkpoint=False)


# ---- exactly rounded arithmetic (bit-identical blobs on every machine) -------------------------------
def exact_matvec(mat, vec):
    """mat (m, n) float32 @ vec (n,) float32 -> float64 (m,), every row sum exactly rounded.
    float32 x float32 products are exact in float64; math.fsum rounds their sum once."""
    prods = mat.astype(np.float64) * vec.astype(np.float64)
    return np.array([math.fsum(row) for row in prods.tolist()], np.float64)


def sn_matrix(weight, dim):
    """weight with dimension `dim` moved first, reshaped to (shape[dim], -1), as torch's spectral_norm."""
    w = np.moveaxis(weight, dim, 0) if dim else weight
    return np.ascontiguousarray(w).reshape(w.shape[0], -1)


def sn_sigma(weight_orig, u, v, dim):
    """sigma = u . (W_mat v) in float64, exactly rounded steps."""
    wv = exact_matvec(sn_matrix(weight_orig, dim), v)
    return math.fsum((u.astype(np.float64) * wv).tolist())


def fold_spectral_norm(weight_orig, u, v, dim):
    sigma = sn_sigma(weight_orig, u, v, dim)
    if not np.isfinite(sigma) or sigma == 0.0:
        raise ConversionError(f"spectral norm sigma = {sigma}")
    return (weight_orig.astype(np.float64) / sigma).astype(np.float32), sigma


def fold_batch_norm(weight, bias, mean, var, eps=BN_EPS):
    """(scale, shift) float32 with BN(h) = h * scale + shift."""
    scale = weight.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    shift = bias.astype(np.float64) - mean.astype(np.float64) * scale
    return scale.astype(np.float32), shift.astype(np.float32)


# ---- validation and conversion -----------------------------------------------------------------------
def _mask_conv_ones(key, arr):
    if ".mask_conv." in key and not np.all(arr == 1.0):
        bad = int(np.count_nonzero(arr != 1.0))
        return f"{key}: {bad} of {arr.size} values are not 1 (the frozen mask conv must be all ones)"
    return None


def check_state_dict(model, sd):
    """Raises ConversionError listing every missing, unknown, mis-shaped or mis-typed key."""
    if model not in MODELS:
        raise ConversionError(f"unknown model '{model}' (known: {', '.join(MODELS)})")
    check_checkpoint(model, checkpoint_table(model), sd, _mask_conv_ones)


def convert_state_dict(model, sd):
    """{checkpoint key: numpy array} -> OrderedDict {blob name: float32 array} in blob_table order."""
    check_state_dict(model, sd)
    out = OrderedDict()
    if model == "edge":
        for prefix, shape, bias, dim in EDGE_SN:
            w, _ = fold_spectral_norm(sd[f"{prefix}.weight_orig"], sd[f"{prefix}.weight_u"],
                                      sd[f"{prefix}.weight_v"], dim)
            out[f"{prefix}.weight"] = w
            if bias:
                out[f"{prefix}.bias"] = sd[f"{prefix}.bias"]
        for prefix, shape, bias in EDGE_PLAIN:
            out[f"{prefix}.weight"] = sd[f"{prefix}.weight"]
            out[f"{prefix}.bias"] = sd[f"{prefix}.bias"]
    else:
        for name, cin, cout, k, bias, bn in UNET[model]:
            out[f"{name}.conv.input_conv.weight"] = sd[f"{name}.conv.input_conv.weight"]
            if bias:
                out[f"{name}.conv.input_conv.bias"] = sd[f"{name}.conv.input_conv.bias"]
            if bn:
                scale, shift = fold_batch_norm(*(sd[f"{name}.bn.{key}"] for key in BN_KEYS))
                out[f"{name}.bn.scale"] = scale
                out[f"{name}.bn.shift"] = shift
    return out


def write_blob(model, sd, path, log=sys.stdout):
    """Validates and converts a numpy state_dict and writes the p3dw blob. Returns the file size."""
    return write_tensors(path, KIND[model], HPARAMS[model], convert_state_dict(model, sd), blob_table(model), log)


def main(argv=None):
    return converter_main(argv, "convert_inpaint.py", "Convert an inpainting checkpoint (.pth) into a p3dw blob.",
                          MODELS, "edge-model.pth / depth-model.pth / color-model.pth", read_checkpoint, write_blob)


if __name__ == "__main__":
    sys.exit(main())
