#!/usr/bin/python3
"""tiefenrausch_oracle.py - an independent numpy model of the Caffe2 Int8 operators of the released
Tiefenrausch model, used to check the C engine (host/depth/tiefenrausch.c) op by op and end to end.

    /usr/bin/python3 tools/tiefenrausch_oracle.py --from DIR --rgb RGB.npy -o LEVELS.npy [--disparity D.npy]

RGB.npy is the network input, uint8 (H, W, 3) RGB (the photo after cv2.resize INTER_AREA); LEVELS.npy
receives the quantized network output, uint8 (H, W), and D.npy the disparity exp(dequantized output)
as float32 (H, W), which is what the reference CLI saves. The operators are written from what Caffe2
(pytorch-nightly-cpu 1.2.0.dev20190731, caffe2/operators/quantized/int8_*.h) and the QNNPACK it runs
on x86-64 (pytorch/QNNPACK: src/qnnpack/requantization.h, the SSE2 micro-kernels q8gemm/4x4c2,
q8conv/4x4c2, q8dwconv/up8x9, q8vadd) compute, lane by lane, not from the C engine:

  Int8Quantize     q = clamp(zp + (int)nearbyint(x / scale), 0, 255), float32 division
                   (QuantizeUint8 of int8_utils.h; the x86 build has no SIMD path).
  Int8Conv         acc = bias + sum (x - x_zp)(w - w_zp), padding reads x_zp (QNNPACK's zero buffer);
                   scale = x_scale * w_scale / y_scale in float32 (must be < 1);
                   multiplier = (mantissa | 2^23) << 7, shift = 126 - biased exponent;
                   the kernels take |acc| * multiplier (unsigned 32 x 32 -> 64), give it acc's sign back,
                   add 2^30 and keep bits 31..62 (q31); then q31 >> shift (arithmetic) plus one where
                   (q31 & mask) - (q31 < 0) exceeds mask >> 1; then packs_epi32 (int16 saturation),
                   adds_epi16 with y_zp, packus_epi16 (0..255), min y_max, max y_min.
  Int8Add          ra = a_scale / y_scale, rb likewise (float32, each in [2^-14, 2^8)); shift = 21 -
                   unbiased exponent of max(ra, rb); multipliers lrintf(r * 2^shift);
                   acc = -(a_m * a_zp + b_m * b_zp) + a * a_m + b * b_m (int32), the same rounding shift,
                   packs/adds/packus, max y_min, min y_max.
  Int8ResizeNearest  in_y = min((int)(y / height_scale), H - 1), likewise x; keeps the quantization.
  Int8Dequantize   (float)(q - zp) * scale in float32.
  output           numpy's float32 exp of the dequantized map (cli.py: np.exp(output.squeeze())).
  Fused ReLU (Int8ConvRelu / Int8AddRelu, none in the released graph) raises the lower output limit
  to QuantizeUint8(y_scale, y_zp, 0.0) = y_zp (activationLimits).

The integer sums of a convolution are formed with float64 matrix products: every partial sum is an
integer below 2^53 in magnitude (at most 9 * 864 products of 255 * 255), so they are exact and BLAS
can do the work; they are checked to fit int32 as QNNPACK's accumulators do.

The protobufs are read with tools/convert_tiefenrausch.py's wire-format decoder (parse_netdef,
read_weights). The op functions (int8_quantize, int8_conv, int8_add, int8_resize_nearest,
int8_dequantize) take NHWC uint8 arrays without the batch axis and are what
tests/test_tiefenrausch_oracle.py compares the C operators with on random inputs."""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_tiefenrausch import (INIT_FILE, PREDICT_FILE, _arg_float, _arg_int, _arg_pair,  # noqa: E402
                                  _pads, parse_netdef, read_weights)
from p3dw import ConversionError  # noqa: E402

F32 = np.float32


def f32_bits(v):
    return int(np.asarray(v, F32).view(np.uint32))


def f32_from_bits(b):
    return np.asarray(b, np.uint32).view(F32)[()]


def _wrap32(v):
    """int64 array -> the int32 two's-complement value of its low 32 bits (as int64)."""
    v = np.asarray(v, np.int64)
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _pack_u8(out32, zero_point, lo, hi, max_first):
    """packs_epi32 -> adds_epi16(zero point) -> packus_epi16, then the output limits in the kernel's
    order (conv: min then max; add: max then min)."""
    v = np.clip(out32, -32768, 32767).astype(np.int32)
    v += zero_point
    np.clip(v, 0, 255, out=v)  # adds_epi16 saturates at +-32768, which packus then clamps to 0 or 255
    if max_first:
        v = np.minimum(np.maximum(v, lo), hi)
    else:
        v = np.maximum(np.minimum(v, hi), lo)
    return v.astype(np.uint8)


def _rounding_shift(v, shift):
    """The kernels' right shift of int32 values: arithmetic shift, plus one where the remainder,
    less one for negative values, exceeds half the divisor (ties round away from zero)."""
    mask = (1 << shift) - 1
    rem = v & mask
    rem -= v < 0
    out = v >> shift
    out += rem > (mask >> 1)
    return out


# ---- Int8Quantize / Int8Dequantize --------------------------------------------------------------------
def int8_quantize(x, scale, zero_point):
    r = np.rint(np.asarray(x, F32) / F32(scale))  # rint: round half to even, like nearbyint
    r = np.clip(r, -(1 << 20), 1 << 20).astype(np.int64)
    return np.clip(zero_point + r, 0, 255).astype(np.uint8)


def int8_dequantize(q, scale, zero_point):
    return (np.asarray(q, np.int32) - np.int32(zero_point)).astype(F32) * F32(scale)


# ---- Int8Conv ----------------------------------------------------------------------------------------
def conv_requant_params(x_scale, w_scale, y_scale):
    """(multiplier, shift) of qnnp_compute_conv_quantization_params; ValueError where QNNPACK refuses."""
    s = F32(F32(x_scale) * F32(w_scale)) / F32(y_scale)
    if not s < 1.0:
        raise ValueError(f"convolution scale {s} >= 1 (QNNPACK refuses it)")
    bits = f32_bits(s)
    multiplier = ((bits & 0x007FFFFF) | 0x00800000) << 7
    shift = 127 + 31 - 32 - (bits >> 23)
    if not 0 <= shift < 32:
        raise ValueError(f"convolution scale {s}: shift {shift} outside [0, 31]")
    return multiplier, shift


def q31_requantize(acc, multiplier, shift, zero_point, lo, hi):
    """The SSE2 kernels multiply |acc| by the multiplier (_mm_mul_epu32) and give the 64-bit product
    acc's sign back: that is the exact signed product acc * multiplier (|.| < 2^62). Adding 2^30 and
    keeping bits 31..62 is a floor shift; the result always fits int32."""
    prod = np.asarray(acc, np.int64) * np.int64(multiplier)
    prod += 1 << 30
    prod >>= 31
    return _pack_u8(_rounding_shift(prod.astype(np.int32), shift), zero_point, lo, hi, max_first=True)


def conv_accumulate(x, x_zp, w, w_zp, bias, stride, pads, groups):
    """x (H, W, C) uint8, w (M, KH, KW, C / groups) uint8, bias (M) int32 -> int64 (OH, OW, M)."""
    h, wd, c = x.shape
    m, kh, kw, cg = w.shape
    sh, sw = stride
    pt, pl, pb, pr = pads
    if c % groups or m % groups or cg != c // groups:
        raise ValueError(f"weight {w.shape} does not fit {c} channels in {groups} groups")
    oh = (h + pt + pb - kh) // sh + 1
    ow = (wd + pl + pr - kw) // sw + 1
    xp = np.full((h + pt + pb, wd + pl + pr, c), x_zp, np.uint8)
    xp[pt:pt + h, pl:pl + wd] = x
    xs = xp.astype(np.int32) - np.int32(x_zp)
    ws = w.astype(np.int32) - np.int32(w_zp)
    mg = m // groups
    depthwise = cg == 1 and mg == 1
    if depthwise:  # one input channel per output channel: 9 exact int32 multiply-adds
        acc = np.zeros((oh, ow, m), np.int32)
    else:
        acc = np.zeros((oh, ow, m), np.float64)
        xs = xs.astype(np.float64)
        ws = ws.astype(np.float64)
    for ky in range(kh):
        for kx in range(kw):
            tap = xs[ky:ky + sh * (oh - 1) + 1:sh, kx:kx + sw * (ow - 1) + 1:sw, :]  # (OH, OW, C)
            if depthwise:
                acc += tap * ws[:, ky, kx, 0]
                continue
            for g in range(groups):
                xg = tap[:, :, g * cg:(g + 1) * cg].reshape(-1, cg)
                wg = ws[g * mg:(g + 1) * mg, ky, kx, :]                         # (Mg, Cg)
                acc[:, :, g * mg:(g + 1) * mg] += (xg @ wg.T).reshape(oh, ow, mg)
    acc = acc.astype(np.int64) + np.asarray(bias, np.int64)
    if acc.size and (acc.min() < -(1 << 31) or acc.max() >= 1 << 31):
        raise ValueError("convolution accumulator outside int32")
    return acc


def int8_conv(x, x_scale, x_zp, w, w_scale, w_zp, bias, y_scale, y_zp, stride=(1, 1), pads=(0, 0, 0, 0),
              groups=1, relu=False):
    multiplier, shift = conv_requant_params(x_scale, w_scale, y_scale)
    acc = conv_accumulate(x, x_zp, w, w_zp, bias, stride, pads, groups)
    return q31_requantize(acc, multiplier, shift, y_zp, y_zp if relu else 0, 255)


# ---- Int8Add -----------------------------------------------------------------------------------------
def add_params(a_scale, b_scale, y_scale):
    """(a_multiplier, b_multiplier, shift) of qnnp_compute_add_quantization_params."""
    ra = F32(a_scale) / F32(y_scale)
    rb = F32(b_scale) / F32(y_scale)
    for r in (ra, rb):
        if not 2.0 ** -14 <= r < 2.0 ** 8:
            raise ValueError(f"Int8Add scale ratio {r} outside [2^-14, 2^8) (QNNPACK refuses it)")
    rmax = ra if ra > rb else rb
    exponent = (f32_bits(rmax) >> 23) - 127
    shift = 21 - exponent
    scale_multiplier = f32_from_bits((21 - exponent + 127) << 23)
    am = int(np.rint(F32(ra * scale_multiplier)))  # lrintf, round half to even
    bm = int(np.rint(F32(rb * scale_multiplier)))
    return am, bm, shift


def int8_add(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp, relu=False):
    am, bm, shift = add_params(a_scale, b_scale, y_scale)
    zero_point_product = int(_wrap32(-(am * a_zp + bm * b_zp)))
    acc = _wrap32(zero_point_product + np.asarray(a, np.int64) * am + np.asarray(b, np.int64) * bm)
    return _pack_u8(_rounding_shift(acc.astype(np.int32), shift), y_zp, y_zp if relu else 0, 255, max_first=False)


# ---- Int8ResizeNearest ------------------------------------------------------------------------------------
def int8_resize_nearest(x, height_scale, width_scale):
    h, w, _ = x.shape
    hs, ws = F32(height_scale), F32(width_scale)
    oh, ow = int(h * hs), int(w * ws)
    iy = np.minimum((np.arange(oh, dtype=F32) / hs).astype(np.int64), h - 1)
    ix = np.minimum((np.arange(ow, dtype=F32) / ws).astype(np.int64), w - 1)
    return x[iy][:, ix]


# ---- the graph ------------------------------------------------------------------------------------------
class Model:
    """The predict net and the weights of the init net, run op by op."""

    def __init__(self, src_dir):
        self.pred = parse_netdef(os.path.join(src_dir, PREDICT_FILE))
        init = parse_netdef(os.path.join(src_dir, INIT_FILE))
        self.weights = read_weights(init)  # name -> (array, scale, zero point)

    def run(self, x_nchw, trace=None):
        """x: float32 (1, 3, H, W). Returns (levels uint8 (H, W), scale, zero point, float32 output)."""
        blobs = {self.pred["external_input"][0]: ("f32", x_nchw)}
        last_q = None
        for i, op in enumerate(self.pred["ops"]):
            src = blobs[op.inputs[0]]
            relu = op.type.endswith("Relu")
            if op.type == "NCHW2NHWC":
                out = ("f32", np.ascontiguousarray(np.transpose(src[1], (0, 2, 3, 1))))
            elif op.type == "Int8Quantize":
                ys = _arg_float(op, "Y_scale")[0]
                yz = _arg_int(op, "Y_zero_point", 0)
                out = ("q", int8_quantize(src[1][0], ys, yz), ys, yz)
            elif op.type in ("Int8Conv", "Int8ConvRelu"):
                w, ws, wz = self.weights[op.inputs[1]]
                b = self.weights[op.inputs[2]][0]
                ys = _arg_float(op, "Y_scale")[0]
                yz = _arg_int(op, "Y_zero_point", 0)
                stride = _arg_pair(op, "strides", "stride", "stride_h", "stride_w", 1)
                y = int8_conv(src[1], src[2], src[3], w, ws, wz, b, ys, yz, stride=stride, pads=_pads(op),
                              groups=_arg_int(op, "group", 1), relu=relu)
                out = ("q", y, ys, yz)
            elif op.type in ("Int8Add", "Int8AddRelu"):
                other = blobs[op.inputs[1]]
                ys = _arg_float(op, "Y_scale")[0]
                yz = _arg_int(op, "Y_zero_point", 0)
                out = ("q", int8_add(src[1], src[2], src[3], other[1], other[2], other[3], ys, yz, relu), ys, yz)
            elif op.type == "Int8ResizeNearest":
                out = ("q", int8_resize_nearest(src[1], _arg_float(op, "height_scale")[0],
                                                _arg_float(op, "width_scale")[0]), src[2], src[3])
            elif op.type == "Int8Dequantize":
                last_q = src
                out = ("f32", int8_dequantize(src[1], src[2], src[3])[np.newaxis])
            else:
                raise ConversionError(f"predict op {i}: operator {op.type} is not modelled")
            blobs[op.outputs[0]] = out
            if trace is not None:
                trace(i, op, out)
        result = blobs[self.pred["external_output"][0]][1]
        if last_q is None or last_q[1].shape[2] != 1:
            raise ConversionError("the graph does not end in a one-channel Int8Dequantize")
        return last_q[1][:, :, 0], last_q[2], last_q[3], result[0, :, :, 0]


def network_input(rgb):
    """The reference CLI: np.transpose(rgb / 255.0, (2, 0, 1))[np.newaxis].astype(np.float32)."""
    return np.transpose(np.asarray(rgb, np.uint8) / 255.0, (2, 0, 1))[np.newaxis].astype(F32)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--from", dest="src", required=True, metavar="DIR",
                    help="folder with tiefenrausch.pb and tiefenrausch_init.pb")
    ap.add_argument("--rgb", required=True, help="network input: uint8 (H, W, 3) .npy")
    ap.add_argument("-o", "--output", required=True, help="quantized output levels: uint8 (H, W) .npy")
    ap.add_argument("--disparity", help="also write exp(dequantized output), float32 (H, W) .npy")
    args = ap.parse_args(argv)
    try:
        rgb = np.load(args.rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ConversionError(f"{args.rgb}: expected uint8 (H, W, 3), got {rgb.dtype} {rgb.shape}")
        levels, _, _, out = Model(args.src).run(network_input(rgb))
    except (ConversionError, ValueError, OSError) as e:
        print(f"tiefenrausch_oracle: {e}", file=sys.stderr)
        return 1
    np.save(args.output, levels)
    if args.disparity:
        np.save(args.disparity, np.exp(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
