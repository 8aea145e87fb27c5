#!/usr/bin/python3
"""convert_tiefenrausch.py - the released Tiefenrausch INT8 Caffe2 model -> tiefenrausch.p3dw.

    /usr/bin/python3 tools/convert_tiefenrausch.py --from DIR -o tiefenrausch.p3dw [--check]

DIR holds tiefenrausch.pb (predict net) and tiefenrausch_init.pb (init net), the two Caffe2 NetDef
protobufs of facebookresearch/one_shot_3d_photography (commit ff094d0, model/). The protobuf wire
format is decoded here directly (varints and length-delimited fields), so neither Caffe2 nor a
generated *_pb2 module is needed. Field numbers (caffe2/proto/caffe2.proto):
    NetDef:      name 1, op 2, type 3, num_workers 4, device_option 5, arg 6, external_input 7,
                 external_output 8
    OperatorDef: input 1, output 2, name 3, type 4, arg 5, device_option 6, engine 7
    Argument:    name 1, f 2, i 3, s 4, floats 5, ints 6, strings 7
Anything else (an unknown field, operator type or argument name, a non-default engine) is refused.

What the blob holds (model kind 'tiefenrausch', see weights/FORMAT.md):

* Weights, one tensor per Caffe2 blob, named as in the net ("1.first.conv.weight_int8"):
  - Int8GivenTensorFill -> dtype u8, shape (M, KH, KW, C/group) (Caffe2 NHWC "OHWI" order), with the
    fill's Y_scale / Y_zero_point as the tensor's scale / zero point. The 'values' string is the raw
    uint8 bytes: Int8GivenTensorFillOp copies them unchanged (no offset is applied anywhere); what
    looks like "int8 + 128" is only the zero point, 128 for 121 tensors and 127 for 25 here, with
    bytes spanning the whole 0..255 range. Activations and weights are both quint8 (QNNPACK), so the
    engine consumes these bytes as they are; real = scale * (q - zero_point).
  - Int8GivenIntTensorFill -> dtype i32 bias, shape (M,), scale = its Y_scale (the converter checks
    it equals input_scale * weight_scale of the conv that uses it; the engine never reads it), zp 0.
* "graph.ops": int32 tensor (n_ops, 21), one row per operator of the predict net, in order:
     0 type   (0 NCHW2NHWC, 1 Int8Quantize, 2 Int8Conv, 3 Int8Add, 4 Int8ResizeNearest,
               5 Int8Dequantize)
     1 relu   (1 for Int8ConvRelu / Int8AddRelu: output clamped below at the output zero point)
     2..4 input blob ids (-1 where absent): conv = X, W, B; add = A, B; others = X
     5 output blob id
     6 kernel_h  7 kernel_w  8 stride_h  9 stride_w  10 pad_t  11 pad_l  12 pad_b  13 pad_r
    14 dilation_h  15 dilation_w  16 group                        (conv only; 0 elsewhere)
    17 Y_zero_point   18 Y_scale as the bit pattern of the float32 argument
    19 height_scale, 20 width_scale as float32 bit patterns       (resize only; 0 elsewhere)
* hparams: "graph.blobs" = every blob name, joined by '\\n' (blob id = line index);
  "graph.input" / "graph.output" = blob ids of the net's external input / output; "graph.columns"
  = 21; "input.max_side" = 384, "input.multiple" = 32 (the reference CLI's resize rule);
  "source", "predict_net.sha256", "init_net.sha256".
The C loader (host/depth/tiefenrausch.c) reads exactly this layout; keep the two in step.

--check prints every operator with its shapes for a 384 x 288 input.
"""
import argparse
import collections
import hashlib
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from p3dw import ConversionError, Writer  # noqa: E402

SOURCE = "facebookresearch/one_shot_3d_photography@ff094d02bb519d228170a9bad068adaf9fca18ca model/"
PREDICT_FILE = "tiefenrausch.pb"
INIT_FILE = "tiefenrausch_init.pb"
N_COLS = 21
OP_CODES = {"NCHW2NHWC": 0, "Int8Quantize": 1, "Int8Conv": 2, "Int8ConvRelu": 2, "Int8Add": 3,
            "Int8AddRelu": 3, "Int8ResizeNearest": 4, "Int8Dequantize": 5}
# Argument names each operator type may carry; anything else is refused by name.
CONV_ARGS = {"kernels", "kernel", "kernel_h", "kernel_w", "strides", "stride", "stride_h", "stride_w",
             "pads", "pad", "pad_t", "pad_l", "pad_b", "pad_r", "dilations", "dilation", "group",
             "order", "Y_scale", "Y_zero_point"}
ALLOWED_ARGS = {
    "NCHW2NHWC": set(),
    "Int8Quantize": {"Y_scale", "Y_zero_point"},
    "Int8Conv": CONV_ARGS,
    "Int8ConvRelu": CONV_ARGS,
    "Int8Add": {"Y_scale", "Y_zero_point", "order"},
    "Int8AddRelu": {"Y_scale", "Y_zero_point", "order"},
    "Int8ResizeNearest": {"width_scale", "height_scale", "Y_scale", "Y_zero_point", "order"},
    "Int8Dequantize": set(),
}
FILL_ARGS = {"values", "shape", "Y_scale", "Y_zero_point"}


# ---- protobuf wire format ----------------------------------------------------------------------
def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ConversionError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos
        if shift > 63:
            raise ConversionError("varint longer than 10 bytes")


def fields(buf):
    """[(field number, wire type, value)]: value is an int (varint), bytes (length-delimited,
    fixed32, fixed64)."""
    out = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            n, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        elif wt == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ConversionError(f"unsupported protobuf wire type {wt} (field {num})")
        if pos > len(buf):
            raise ConversionError(f"field {num} runs past the end of its message")
        out.append((num, wt, val))
    return out


def _int64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _packed_varints(b):
    vals, pos = [], 0
    while pos < len(b):
        v, pos = _varint(b, pos)
        vals.append(_int64(v))
    return vals


def parse_argument(buf, where):
    name, val = None, None
    ints = []
    for num, wt, v in fields(buf):
        if num == 1 and wt == 2:
            name = v.decode()
        elif num == 2 and wt == 5:
            val = struct.unpack("<f", v)[0]
            bits = struct.unpack("<I", v)[0]
            val = ("f", val, bits)
        elif num == 3 and wt == 0:
            val = ("i", _int64(v))
        elif num == 4 and wt == 2:
            val = ("s", bytes(v))
        elif num == 6 and wt == 0:
            ints.append(_int64(v))
        elif num == 6 and wt == 2:
            ints.extend(_packed_varints(v))
        else:
            raise ConversionError(f"{where}: argument field {num} (wire type {wt}) not supported")
    if name is None:
        raise ConversionError(f"{where}: argument without a name")
    if ints:
        if val is not None:
            raise ConversionError(f"{where}: argument {name} has both a scalar and a list")
        val = ("ints", ints)
    if val is None:
        raise ConversionError(f"{where}: argument {name} has no value")
    return name, val


Op = collections.namedtuple("Op", "type inputs outputs args")


def parse_netdef(path):
    with open(path, "rb") as f:
        buf = f.read()
    net = {"name": "", "ops": [], "external_input": [], "external_output": []}
    for num, wt, v in fields(buf):
        if num == 1 and wt == 2:
            net["name"] = v.decode()
        elif num == 2 and wt == 2:
            net["ops"].append(parse_operator(v, f"{os.path.basename(path)} op {len(net['ops'])}"))
        elif num == 5 and wt == 2:
            pass  # device_option: CPU, no effect on arithmetic
        elif num == 7 and wt == 2:
            net["external_input"].append(v.decode())
        elif num == 8 and wt == 2:
            net["external_output"].append(v.decode())
        else:
            raise ConversionError(f"{path}: NetDef field {num} (wire type {wt}) not supported")
    return net


def parse_operator(buf, where):
    inputs, outputs, args, typ = [], [], {}, None
    for num, wt, v in fields(buf):
        if num == 1 and wt == 2:
            inputs.append(v.decode())
        elif num == 2 and wt == 2:
            outputs.append(v.decode())
        elif num == 3 and wt == 2:
            pass  # operator name: cosmetic
        elif num == 4 and wt == 2:
            typ = v.decode()
        elif num == 5 and wt == 2:
            name, val = parse_argument(v, where)
            if name in args:
                raise ConversionError(f"{where}: duplicated argument {name}")
            args[name] = val
        elif num == 6 and wt == 2:
            pass  # device_option
        elif num == 7 and wt == 2:
            if v:
                raise ConversionError(f"{where}: engine '{v.decode()}' not supported (default engine only)")
        else:
            raise ConversionError(f"{where}: OperatorDef field {num} (wire type {wt}) not supported")
    if typ is None:
        raise ConversionError(f"{where}: operator without a type")
    return Op(typ, inputs, outputs, args)


# ---- arguments -----------------------------------------------------------------------------------
def _arg_int(op, name, default=None):
    if name not in op.args:
        if default is None:
            raise ConversionError(f"{op.type} -> {op.outputs}: missing argument {name}")
        return default
    kind, *v = op.args[name]
    if kind != "i":
        raise ConversionError(f"{op.type}: argument {name} is not an integer")
    return v[0]


def _arg_float(op, name):
    if name not in op.args or op.args[name][0] != "f":
        raise ConversionError(f"{op.type} -> {op.outputs}: missing float argument {name}")
    return op.args[name][1], op.args[name][2]


def _arg_pair(op, list_name, single, h_name, w_name, default):
    """Caffe2 ConvPoolOpBase spellings: kernels=[h,w] / kernel=k / kernel_h + kernel_w."""
    if list_name in op.args:
        kind, v = op.args[list_name]
        if kind != "ints" or len(v) != 2:
            raise ConversionError(f"{op.type}: {list_name} must be two integers")
        return v
    if single in op.args:
        k = _arg_int(op, single)
        return [k, k]
    if h_name in op.args or w_name in op.args:
        return [_arg_int(op, h_name), _arg_int(op, w_name)]
    return [default, default]


def _pads(op):
    if "pads" in op.args:
        kind, v = op.args["pads"]
        if kind != "ints" or len(v) != 4:
            raise ConversionError(f"{op.type}: pads must be four integers")
        return v  # Caffe2 order: t, l, b, r
    if "pad" in op.args:
        return [_arg_int(op, "pad")] * 4
    return [_arg_int(op, n, 0) for n in ("pad_t", "pad_l", "pad_b", "pad_r")]


def _check_args(op, where):
    allowed = ALLOWED_ARGS.get(op.type)
    if allowed is None:
        raise ConversionError(f"{where}: unknown operator type {op.type}")
    for name in op.args:
        if name not in allowed:
            raise ConversionError(f"{where}: {op.type} argument '{name}' is not supported")
    if "order" in op.args and op.args["order"] != ("s", b"NHWC"):
        raise ConversionError(f"{where}: {op.type} order {op.args['order'][1]!r}, only NHWC is supported")


# ---- init net: weights ---------------------------------------------------------------------------
def read_weights(init):
    weights = {}
    for i, op in enumerate(init["ops"]):
        where = f"init op {i} ({op.type})"
        if op.type not in ("Int8GivenTensorFill", "Int8GivenIntTensorFill"):
            raise ConversionError(f"{where}: unknown fill operator type {op.type}")
        for name in op.args:
            if name not in FILL_ARGS:
                raise ConversionError(f"{where}: argument '{name}' is not supported")
        if len(op.outputs) != 1 or op.inputs:
            raise ConversionError(f"{where}: a fill has no inputs and one output")
        kind, shape = op.args["shape"]
        if kind != "ints":
            raise ConversionError(f"{where}: shape is not a list of integers")
        scale, _ = _arg_float(op, "Y_scale")
        zp = _arg_int(op, "Y_zero_point")
        if op.type == "Int8GivenTensorFill":
            kind, raw = op.args["values"]
            if kind != "s":
                raise ConversionError(f"{where}: values must be a byte string")
            arr = np.frombuffer(raw, np.uint8)
            if not 0 <= zp <= 255:
                raise ConversionError(f"{where}: zero point {zp} outside uint8")
        else:
            kind, vals = op.args["values"]
            if kind != "ints":
                raise ConversionError(f"{where}: values must be integers")
            arr = np.asarray(vals, np.int64)
            if arr.min() < -2**31 or arr.max() >= 2**31:
                raise ConversionError(f"{where}: bias value outside int32")
            arr = arr.astype(np.int32)
            if zp != 0:
                raise ConversionError(f"{where}: int32 bias with zero point {zp}")
        if arr.size != int(np.prod(shape)):
            raise ConversionError(f"{where}: {arr.size} values for shape {shape}")
        name = op.outputs[0]
        if name in weights:
            raise ConversionError(f"{where}: blob {name} filled twice")
        weights[name] = (arr.reshape(shape), scale, zp)
    return weights


# ---- predict net: graph ----------------------------------------------------------------------------
def build_graph(pred, weights, in_h=384, in_w=288, log=None):
    """Checks the graph with shape propagation for an in_h x in_w input; returns (rows, blob names,
    expected weight shapes, op counts)."""
    blobs, ids = [], {}

    def bid(name):
        if name not in ids:
            ids[name] = len(blobs)
            blobs.append(name)
        return ids[name]

    if len(pred["external_input"]) < 1 or len(pred["external_output"]) != 1:
        raise ConversionError("predict net: expected external inputs and one external output")
    x_name = pred["external_input"][0]
    for extra in pred["external_input"][1:]:
        if extra not in weights:
            raise ConversionError(f"predict net: external input {extra} is not filled by the init net")
    bid(x_name)
    # blob -> (layout, shape, scale, zero point); the float input is NCHW (1, 3, H, W)
    info = {x_name: ("NCHW", (1, 3, in_h, in_w), None, None)}
    rows, expected, used = [], {}, set()
    counts = collections.Counter()
    for i, op in enumerate(pred["ops"]):
        where = f"predict op {i}"
        _check_args(op, where)
        counts[op.type] += 1
        row = [0] * N_COLS
        row[0] = OP_CODES[op.type]
        row[1] = 1 if op.type.endswith("Relu") else 0
        n_in = {0: 1, 1: 1, 2: 3, 3: 2, 4: 1, 5: 1}[row[0]]
        if len(op.inputs) != n_in or len(op.outputs) != 1:
            raise ConversionError(f"{where}: {op.type} takes {n_in} inputs and one output, got "
                                  f"{len(op.inputs)} -> {len(op.outputs)}")
        for k in range(3):
            row[2 + k] = bid(op.inputs[k]) if k < n_in else -1
        out = op.outputs[0]
        if out in info or out in weights:
            raise ConversionError(f"{where}: blob {out} written twice (in-place ops are not supported)")
        row[5] = bid(out)
        src = op.inputs[0]
        if src not in info:
            raise ConversionError(f"{where}: input {src} is not produced before use")
        layout, shape, xs, xz = info[src]
        if "Y_scale" in op.args:
            ys, ybits = _arg_float(op, "Y_scale")
            yz = _arg_int(op, "Y_zero_point", 0)
            row[17], row[18] = yz, struct.unpack("<i", struct.pack("<I", ybits))[0]
            if not 0 <= yz <= 255:
                raise ConversionError(f"{where}: Y_zero_point {yz} outside uint8")
        if op.type == "NCHW2NHWC":
            if layout != "NCHW":
                raise ConversionError(f"{where}: NCHW2NHWC on a {layout} blob")
            n, c, h, w = shape
            info[out] = ("NHWC-f32", (n, h, w, c), None, None)
        elif op.type == "Int8Quantize":
            if layout != "NHWC-f32":
                raise ConversionError(f"{where}: Int8Quantize expects the float NHWC blob, got {layout}")
            info[out] = ("NHWC", shape, ys, yz)
        elif op.type in ("Int8Conv", "Int8ConvRelu"):
            if layout != "NHWC":
                raise ConversionError(f"{where}: conv on a {layout} blob")
            wname, bname = op.inputs[1], op.inputs[2]
            for nm in (wname, bname):
                if nm not in weights:
                    raise ConversionError(f"{where}: {nm} is not filled by the init net")
                used.add(nm)
            w, ws, wz = weights[wname]
            b, bs, bz = weights[bname]
            kh, kw = _arg_pair(op, "kernels", "kernel", "kernel_h", "kernel_w", 0)
            sh, sw = _arg_pair(op, "strides", "stride", "stride_h", "stride_w", 1)
            dh, dw = _arg_pair(op, "dilations", "dilation", "dilation_h", "dilation_w", 1)
            pt, pl, pb, pr = _pads(op)
            g = _arg_int(op, "group", 1)
            n, h, wd, c = shape
            m = w.shape[0]
            if w.dtype != np.uint8 or w.ndim != 4 or b.dtype != np.int32:
                raise ConversionError(f"{where}: weight must be uint8 4-D and bias int32")
            if tuple(w.shape[1:3]) != (kh, kw) or c % g or m % g or w.shape[3] != c // g:
                raise ConversionError(f"{where}: weight {list(w.shape)} does not fit kernel {kh}x{kw}, "
                                      f"{c} input channels, group {g}")
            if b.shape != (m,):
                raise ConversionError(f"{where}: bias {list(b.shape)} for {m} output channels")
            if (dh, dw) != (1, 1):
                raise ConversionError(f"{where}: dilation {dh}x{dw} not supported")
            if min(kh, kw, sh, sw) < 1 or min(pt, pl, pb, pr) < 0:
                raise ConversionError(f"{where}: bad kernel/stride/pad")
            # Caffe2 requires bias scale = input scale * weight scale (it never reads the bias scale)
            prod = float(np.float32(xs) * np.float32(ws))
            if abs(bs - prod) > 1e-5 * prod:
                raise ConversionError(f"{where}: bias scale {bs} != input scale * weight scale {prod}")
            conv_scale = np.float32(np.float32(xs) * np.float32(ws)) / np.float32(ys)
            if not conv_scale < 1.0:
                raise ConversionError(f"{where}: requantization scale {conv_scale} >= 1 (QNNPACK refuses it)")
            oh = (h + pt + pb - kh) // sh + 1
            ow = (wd + pl + pr - kw) // sw + 1
            expected[wname] = tuple(w.shape)
            expected[bname] = (m,)
            row[6:17] = [kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g]
            info[out] = ("NHWC", (n, oh, ow, m), ys, yz)
        elif op.type in ("Int8Add", "Int8AddRelu"):
            other = op.inputs[1]
            if other not in info or info[other][0] != "NHWC" or layout != "NHWC":
                raise ConversionError(f"{where}: Int8Add operands must be int8 NHWC blobs")
            if info[other][1] != shape:
                raise ConversionError(f"{where}: Int8Add shapes {shape} and {info[other][1]} differ "
                                      "(broadcast is not supported)")
            for s in (xs, info[other][2]):
                r = np.float32(s) / np.float32(ys)
                if not 2.0**-14 <= r < 2.0**8:
                    raise ConversionError(f"{where}: input/output scale ratio {r} outside [2^-14, 2^8)")
            info[out] = ("NHWC", shape, ys, yz)
        elif op.type == "Int8ResizeNearest":
            if layout != "NHWC":
                raise ConversionError(f"{where}: resize on a {layout} blob")
            hs, hbits = _arg_float(op, "height_scale")
            wsc, wbits = _arg_float(op, "width_scale")
            if (hs, wsc) != (2.0, 2.0):
                raise ConversionError(f"{where}: only x2 nearest resize is supported, got {hs} x {wsc}")
            if (ys, yz) != (xs, xz):
                raise ConversionError(f"{where}: resize must keep the quantization of its input")
            row[19] = struct.unpack("<i", struct.pack("<I", hbits))[0]
            row[20] = struct.unpack("<i", struct.pack("<I", wbits))[0]
            n, h, wd, c = shape
            info[out] = ("NHWC", (n, h * 2, wd * 2, c), xs, xz)
        elif op.type == "Int8Dequantize":
            if layout != "NHWC":
                raise ConversionError(f"{where}: dequantize on a {layout} blob")
            info[out] = ("NHWC-f32", shape, None, None)
        if log:
            l2, s2, q2, z2 = info[out]
            q = f" scale={q2:.6g} zp={z2}" if q2 is not None else ""
            extra = ""
            if row[0] == 2:
                extra = (f" k{row[6]}x{row[7]} s{row[8]} pad{row[10:14]} g{row[16]}"
                         f" W={op.inputs[1]} B={op.inputs[2]}")
            print(f"{i:3d} {op.type:18s} {','.join(op.inputs[:n_in if row[0] != 2 else 1])} -> {out} "
                  f"{list(s2)}{q}{extra}", file=log)
        rows.append(row)
    out_name = pred["external_output"][0]
    if out_name not in info or info[out_name][0] != "NHWC-f32" or info[out_name][1][3] != 1:
        raise ConversionError(f"predict net: output {out_name} is not a one-channel float blob")
    unused = sorted(set(weights) - used)
    if unused:
        raise ConversionError(f"init net fills blobs the predict net never uses: {unused[:5]}")
    bid(out_name)
    return rows, blobs, ids, expected, counts


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert(src_dir, out_path, check=False, log=sys.stdout):
    pred_path = os.path.join(src_dir, PREDICT_FILE)
    init_path = os.path.join(src_dir, INIT_FILE)
    for p in (pred_path, init_path):
        if not os.path.isfile(p):
            raise ConversionError(f"{p}: not found")
    pred = parse_netdef(pred_path)
    init = parse_netdef(init_path)
    weights = read_weights(init)
    rows, blobs, ids, expected, counts = build_graph(pred, weights, log=log if check else None)
    n_params = sum(a.size for a, _, _ in weights.values())
    print(f"{pred_path}: {len(pred['ops'])} ops: " +
          ", ".join(f"{n} {t}" for t, n in counts.most_common()), file=log)
    print(f"{init_path}: {len(init['ops'])} fills, {n_params} parameters "
          f"({sum(1 for a, _, _ in weights.values() if a.dtype == np.uint8)} uint8 weights, "
          f"{sum(1 for a, _, _ in weights.values() if a.dtype == np.int32)} int32 biases); "
          f"weight zero points {dict(collections.Counter(z for a, _, z in weights.values() if a.dtype == np.uint8))}",
          file=log)
    if out_path is None:
        return
    hp = {
        "graph.blobs": "\n".join(blobs),
        "graph.input": ids[pred["external_input"][0]],
        "graph.output": ids[pred["external_output"][0]],
        "graph.columns": N_COLS,
        "input.max_side": 384,
        "input.multiple": 32,
        "source": SOURCE + PREDICT_FILE + ", " + INIT_FILE,
        "predict_net.sha256": sha256(pred_path),
        "init_net.sha256": sha256(init_path),
    }
    w = Writer("tiefenrausch", hp, log=log)
    w.add("graph.ops", np.asarray(rows, np.int32))
    expected["graph.ops"] = (len(rows), N_COLS)
    for name in sorted(expected):
        if name == "graph.ops":
            continue
        arr, scale, zp = weights[name]
        w.add(name, arr, scale=scale, zero_point=zp)  # int32 biases keep their (unused) scale
    w.write(out_path, expected=expected)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--from", dest="src", required=True, metavar="DIR",
                    help="folder with tiefenrausch.pb and tiefenrausch_init.pb")
    ap.add_argument("-o", "--output", help="the .p3dw to write (omit with --check to only inspect)")
    ap.add_argument("--check", action="store_true", help="print every operator with its shapes")
    args = ap.parse_args(argv)
    if not args.output and not args.check:
        ap.error("give -o OUTPUT, --check, or both")
    try:
        convert(args.src, args.output, check=args.check)
    except ConversionError as e:
        print(f"convert_tiefenrausch: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
