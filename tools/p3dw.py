"""p3dw.py - writer and reader of the p3dw weight-blob format (weights/FORMAT.md).

Every converter in tools/ writes through Writer, so the byte layout is defined once, with explicit
little-endian packing ('<' formats and '<' numpy dtypes), never the machine's native order.

    w = Writer("example", {"channels": 8})
    w.add("conv.weight", np.asarray(..., np.float32))
    w.add("q.weight", int8_array, scale=0.02, zero_point=0)
    w.write("example.p3dw", expected={"conv.weight": (8, 3, 3, 3), "q.weight": (8,)})

write() refuses an incomplete or over-complete model when `expected` is given, prints every tensor it
writes, and replaces the target atomically (temp file + os.replace). Converters check the checkpoint
itself first with check_expected(shapes, expected), which raises the same by-name ConversionError.
Shapes in messages read "[256,128,3,3]", as in the C loader's. Needs numpy only.
"""
import argparse
import os
import struct
import sys

import numpy as np

MAGIC = b"P3DW"
VERSION = 1
ENDIAN_PROBE = 0x01020304
ALIGN = 64
HEADER = struct.Struct("<4sIIIIIQQQQII")  # 64 bytes, see FORMAT.md
assert HEADER.size == 64

MODEL_KINDS = {
    "example": 0,
    "inpaint-edge": 1,
    "inpaint-depth": 2,
    "inpaint-color": 3,
    "midas-v1": 4,
    "midas-small": 5,
    "midas-large": 6,
    "tiefenrausch": 7,
}
DTYPES = {  # p3d_dtype code -> little-endian numpy dtype
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("u1"),
    3: np.dtype("<i4"),
}
HP_I64, HP_F64, HP_STR = 0, 1, 2


class ConversionError(Exception):
    """A checkpoint or model that must not be written (missing/unknown key, wrong shape)."""


def require_torch(prog):
    """Imports and returns torch, or exits naming the interpreter to use: converters need PyTorch, and
    only on the converting machine (the pyenv python3 on PATH has neither torch nor numpy)."""
    try:
        import torch
    except ImportError:
        sys.exit(f"{prog}: needs PyTorch (use /usr/bin/python3 on the development machine)")
    return torch


def _dtype_code(arr):
    for code, dt in DTYPES.items():
        if arr.dtype.kind == dt.kind and arr.dtype.itemsize == dt.itemsize:
            return code
    raise ConversionError(f"unsupported dtype {arr.dtype} (p3dw holds float32, int8, uint8, int32)")


def _pad(n):
    return (-n) % ALIGN


def shape_str(shape):
    """[256,128,3,3]: the shape notation of the C loader's messages, so both sides read alike."""
    return "[" + ",".join(str(int(d)) for d in shape) + "]"


def _check_text(what, text, max_len):
    """UTF-8 bytes of a name, key or string value; refuses NUL (the C side keeps NUL-terminated copies)."""
    b = text.encode()
    if "\0" in text or len(b) > max_len:
        raise ConversionError(f"bad {what} {text!r} (UTF-8, no NUL, at most {max_len} bytes)")
    return b


# zero_point ranges of the quantized dtypes (i32 holds biases whose zero point is 0 by construction)
_ZP_RANGE = {1: (-128, 127), 2: (0, 255), 3: (-2**31, 2**31 - 1)}


def _check_quantization(name, code, scale, zero_point):
    """FORMAT.md: f32 has scale 1 and zero_point 0; an integer dtype a finite scale > 0 (stored as f32)
    and a zero_point inside the dtype's range. The C loader refuses anything else."""
    if code == 0:
        if scale != 1.0 or zero_point != 0:
            raise ConversionError(f"{name}: float32 tensor with scale {scale} / zero_point {zero_point}")
        return
    if not (np.isfinite(np.float32(scale)) and np.float32(scale) > 0):
        raise ConversionError(f"{name}: scale {scale} (must be finite and > 0 as a float32)")
    lo, hi = _ZP_RANGE[code]
    if not lo <= zero_point <= hi:
        raise ConversionError(f"{name}: zero_point {zero_point} outside [{lo}, {hi}]")


def check_expected(shapes, expected):
    """Compares {name: shape} with the model's expected {name: shape} table and raises one
    ConversionError listing every missing, unknown and mis-shaped tensor by name. Converters call it on
    the checkpoint before converting anything; Writer.write calls it on what it is about to write."""
    errors = [f"missing tensor {k} (expected {shape_str(v)})" for k, v in expected.items() if k not in shapes]
    errors += [f"unknown tensor {k}" for k in shapes if k not in expected]
    errors += [f"{k}: got {shape_str(s)}, expected {shape_str(expected[k])}"
               for k, s in shapes.items() if k in expected and tuple(s) != tuple(expected[k])]
    if errors:
        raise ConversionError("refusing to write an incomplete or mismatched model:\n  " + "\n  ".join(errors))


def checkpoint_errors(expected, sd, value_error=None):
    """The problems of a numpy state_dict sd against expected {key: shape}, as messages naming the keys:
    missing, unknown, not an array, num_batches_tracked not an integer scalar, mis-shaped, not float32, NaN
    or inf, and then value_error(key, array) (a message or None) for the keys that passed."""
    errors = [f"missing key {k} (expected {list(s)})" for k, s in expected.items() if k not in sd]
    errors += [f"unknown key {k}" for k in sd if k not in expected]
    for k, arr in sd.items():
        if k not in expected:
            continue
        if not isinstance(arr, np.ndarray):
            errors.append(f"{k}: a {type(arr).__name__}, not an array")
        elif k.endswith(".num_batches_tracked"):
            if arr.dtype.kind not in "iu" or arr.size != 1:
                errors.append(f"{k}: expected an integer scalar, got {arr.dtype} {list(arr.shape)}")
        elif tuple(arr.shape) != tuple(expected[k]):
            errors.append(f"{k}: got {list(arr.shape)}, expected {list(expected[k])}")
        elif arr.dtype != np.float32:
            errors.append(f"{k}: dtype {arr.dtype}, expected float32")
        elif not np.all(np.isfinite(arr)):
            errors.append(f"{k}: contains NaN or inf")
        elif value_error and value_error(k, arr):
            errors.append(value_error(k, arr))
    return errors


def read_torch_checkpoint(path, unwrap):
    """Loads a checkpoint with torch (CPU); unwrap(loaded object) gives its state_dict. Returns
    {key: numpy array} in the checkpoint's order; a value that is not a tensor is refused by name."""
    import torch
    sd = unwrap(torch.load(path, map_location="cpu"))
    out = {}
    for k, v in sd.items():
        if not torch.is_tensor(v):
            raise ConversionError(f"{k}: a {type(v).__name__}, not a tensor")
        out[k] = v.detach().cpu().numpy()
    return out


def converter_main(argv, prog, description, models, input_help, read, write):
    """The converters' command line `PROG --model M IN OUT.p3dw`: write(model, read(IN), OUT); a
    ConversionError is printed as "PROG: IN: message" and gives exit status 1."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--model", required=True, choices=models)
    ap.add_argument("input", help=input_help)
    ap.add_argument("output", help="OUT.p3dw")
    args = ap.parse_args(argv)
    try:
        write(args.model, read(args.input), args.output)
    except ConversionError as e:
        print(f"{prog}: {args.input}: {e}", file=sys.stderr)
        return 1
    return 0


def write_tensors(path, model_kind, hparams, tensors, expected, log=sys.stdout):
    """Writes the converted {name: array} tensors (in order) as a blob of model_kind; refuses a set that
    differs from expected {name: shape}. Returns the file size."""
    w = Writer(model_kind, hparams, log=log)
    for name, arr in tensors.items():
        w.add(name, arr)
    return w.write(path, expected=expected)


class Writer:
    def __init__(self, model_kind, hparams=None, log=sys.stdout):
        if model_kind not in MODEL_KINDS:
            raise ConversionError(f"unknown model kind '{model_kind}' (known: {', '.join(MODEL_KINDS)})")
        self.kind = MODEL_KINDS[model_kind]
        self.hparams = dict(hparams or {})
        self.tensors = []  # (name, array, scale, zero_point), in insertion order
        self.names = set()
        self.log = log

    def add(self, name, array, scale=None, zero_point=None):
        if not name:
            raise ConversionError("empty tensor name")
        _check_text("tensor name", name, 1023)
        if name in self.names:
            raise ConversionError(f"{name}: added twice")
        arr = np.ascontiguousarray(array)
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if not 1 <= arr.ndim <= 4:
            raise ConversionError(f"{name}: {arr.ndim} dimensions (p3dw holds 1 to 4)")
        if arr.size == 0:
            raise ConversionError(f"{name}: empty tensor {shape_str(arr.shape)}")
        code = _dtype_code(arr)
        if code == 0 and not np.all(np.isfinite(arr)):
            raise ConversionError(f"{name}: contains NaN or inf")
        if scale is None and code in (1, 2):
            raise ConversionError(f"{name}: quantized tensor without a scale")
        scale = 1.0 if scale is None else float(scale)
        zero_point = 0 if zero_point is None else int(zero_point)
        _check_quantization(name, code, scale, zero_point)
        self.names.add(name)
        self.tensors.append((name, arr.astype(DTYPES[code], copy=False), scale, zero_point))

    def _hparam_bytes(self):
        out = bytearray()
        for key, val in self.hparams.items():
            if not isinstance(key, str) or not key:
                raise ConversionError(f"bad hyper-parameter key {key!r}")
            k = _check_text("hyper-parameter key", key, 255)
            if isinstance(val, (bool, int, np.integer)):
                if not -2**63 <= int(val) < 2**63:
                    raise ConversionError(f"hyper-parameter {key}: {val} does not fit in int64")
                out += struct.pack("<HBB", len(k), HP_I64, 0) + k + struct.pack("<q", int(val))
            elif isinstance(val, (float, np.floating)):
                if not np.isfinite(val):
                    raise ConversionError(f"hyper-parameter {key}: {val} is not finite")
                out += struct.pack("<HBB", len(k), HP_F64, 0) + k + struct.pack("<d", float(val))
            elif isinstance(val, str):
                v = _check_text(f"hyper-parameter {key} value", val, 2**32 - 1)
                out += struct.pack("<HBB", len(k), HP_STR, 0) + k + struct.pack("<I", len(v)) + v
            else:
                raise ConversionError(f"hyper-parameter {key}: unsupported type {type(val).__name__}")
        return bytes(out)

    def write(self, path, expected=None):
        if expected is not None:
            check_expected({n: a.shape for n, a, _, _ in self.tensors}, expected)
        hp = self._hparam_bytes()
        table = bytearray()
        offset = 0
        for name, arr, scale, zp in self.tensors:
            n = name.encode()
            table += struct.pack("<HBB", len(n), _dtype_code(arr), arr.ndim) + n
            table += struct.pack(f"<{arr.ndim}q", *arr.shape)
            table += struct.pack("<fiQQ", scale, zp, offset, arr.nbytes)
            offset += arr.nbytes + _pad(arr.nbytes)
        hparams_offset = HEADER.size
        table_offset = hparams_offset + len(hp)
        data_offset = table_offset + len(table)
        data_offset += _pad(data_offset)
        file_size = data_offset + offset
        header = HEADER.pack(MAGIC, VERSION, ENDIAN_PROBE, self.kind, len(self.hparams), len(self.tensors),
                             hparams_offset, table_offset, data_offset, file_size, ALIGN, 0)
        tmp = f"{path}.tmp{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                f.write(header + hp + table)
                f.write(b"\0" * (data_offset - f.tell()))
                for name, arr, scale, zp in self.tensors:
                    f.write(arr.tobytes(order="C"))
                    f.write(b"\0" * _pad(arr.nbytes))
                    q = f" scale={scale:.6g} zp={zp}" if arr.dtype.kind in "iu" and arr.itemsize == 1 else ""
                    print(f"  {name:56s} {str(arr.dtype):7s} {shape_str(arr.shape)}{q}", file=self.log)
                assert f.tell() == file_size
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        print(f"wrote {path}: {len(self.tensors)} tensors, {file_size} bytes", file=self.log)
        return file_size


def read(path):
    """Returns (model_kind_name, hparams dict, {name: (array, scale, zero_point)}). For tests and tools."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < HEADER.size:
        raise ConversionError(f"{path}: shorter than the 64-byte header")
    magic, ver, probe, kind, nh, nt, hoff, toff, doff, size, align, _ = HEADER.unpack_from(buf, 0)
    if magic != MAGIC or ver != VERSION or probe != ENDIAN_PROBE or size != len(buf) or align != ALIGN:
        raise ConversionError(f"{path}: not a p3dw v{VERSION} file (or truncated)")
    kind_name = {v: k for k, v in MODEL_KINDS.items()}.get(kind, str(kind))
    hp = {}
    pos = hoff
    for _ in range(nh):
        klen, typ, _r = struct.unpack_from("<HBB", buf, pos)
        pos += 4
        key = buf[pos:pos + klen].decode()
        pos += klen
        if typ == HP_I64:
            hp[key] = struct.unpack_from("<q", buf, pos)[0]
            pos += 8
        elif typ == HP_F64:
            hp[key] = struct.unpack_from("<d", buf, pos)[0]
            pos += 8
        else:
            (slen,) = struct.unpack_from("<I", buf, pos)
            hp[key] = buf[pos + 4:pos + 4 + slen].decode()
            pos += 4 + slen
    tensors = {}
    pos = toff
    for _ in range(nt):
        nlen, code, ndim = struct.unpack_from("<HBB", buf, pos)
        pos += 4
        name = buf[pos:pos + nlen].decode()
        pos += nlen
        dims = struct.unpack_from(f"<{ndim}q", buf, pos)
        pos += 8 * ndim
        scale, zp, off, nbytes = struct.unpack_from("<fiQQ", buf, pos)
        pos += 24
        arr = np.frombuffer(buf, DTYPES[code], count=int(np.prod(dims)), offset=doff + off).reshape(dims)
        tensors[name] = (arr, scale, zp)
    return kind_name, hp, tensors
