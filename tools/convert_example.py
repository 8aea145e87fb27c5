"""convert_example.py - converts tools/example_module.py's checkpoint into a p3dw blob (kind `example`).

    /usr/bin/python3 tools/convert_example.py tests/data/example.pth tests/data/example.p3dw \\
        --values tests/data/example_values.txt

It is the smallest converter and the pattern the real ones follow:
  1. load the state_dict with torch, on the CPU, without running pickled code (weights_only);
  2. drop, explicitly and by name, what the C side never reads;
  3. check every key and shape against the table derived from the model's hyper-parameters and refuse
     a missing, unknown or mis-shaped tensor by name (ConversionError, exit status 1);
  4. add every tensor under its PyTorch name in its PyTorch layout, write through p3dw.Writer.
The blob is a function of the checkpoint alone: converting the same .pth twice gives identical bytes.

--values writes what the C test (tests/test_weights.c) expects to read back, taken from the PyTorch
tensors (never from the blob), as text: see write_values().
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import example_module  # noqa: E402
import p3dw  # noqa: E402

# BatchNorm's batch counter only matters for training (momentum=None); inference never reads it.
DROPPED_SUFFIXES = (".num_batches_tracked",)
# One int8 tensor exercises the quantized path (scale, zero_point) end to end: fc.weight quantized
# per tensor, asymmetrically so that the zero point is not 0.
INT8_NAME = "fc.weight_int8"


def load_state_dict(path):
    import torch

    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a missing, corrupt or pickled-code file
        raise p3dw.ConversionError(f"cannot load: {e}") from e
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise p3dw.ConversionError("not a state_dict (a dict of tensors)")
    return sd


def quantize_int8(t):
    """Per-tensor asymmetric int8 quantization of a float tensor: (int8 values, scale, zero_point)."""
    import torch

    lo, hi = min(float(t.min()), 0.0), max(float(t.max()), 0.0)
    scale = float(np.float32((hi - lo) / 255.0))  # exactly representable: the blob stores an f32
    zero_point = int(round(-128 - lo / scale))
    q = torch.quantize_per_tensor(t, scale, zero_point, torch.qint8)
    return q.int_repr().numpy(), q.q_scale(), q.q_zero_point()


def convert(pth, out, values=None, log=sys.stdout):
    import torch

    cfg = example_module.CONFIG
    expected = example_module.expected_shapes(cfg)
    sd = load_state_dict(pth)
    for key in [k for k in sd if k.endswith(DROPPED_SUFFIXES)]:
        del sd[key]
    p3dw.check_expected({k: tuple(v.shape) for k, v in sd.items()}, expected)
    for key, t in sd.items():
        if t.dtype != torch.float32:
            raise p3dw.ConversionError(f"{key}: dtype {t.dtype}, expected torch.float32")

    tensors = [(k, sd[k].numpy(), None, None) for k in expected]  # table order = expected order
    tensors.append((INT8_NAME, *quantize_int8(sd["fc.weight"])))
    w = p3dw.Writer("example", cfg, log=log)
    for name, arr, scale, zp in tensors:
        w.add(name, arr, scale=scale, zero_point=zp)
    w.write(out, expected={**expected, INT8_NAME: expected["fc.weight"]})
    if values:
        write_values(values, cfg, tensors)


def write_values(path, hparams, tensors):
    """Text the C test parses with strtod: float32 values with 9 significant digits (exact round trip),
    f64 hyper-parameters with 17. Written to a temporary name and renamed, like the blob."""
    kinds = {int: "i64", float: "f64", str: "str"}
    lines = [
        "# Expected contents of tests/data/example.p3dw, written by tools/convert_example.py from the",
        "# PyTorch tensors (not from the blob). Lines: 'hparam KEY TYPE VALUE', or",
        "# 'tensor NAME DTYPE NDIM DIMS... SCALE ZERO_POINT' followed by one line of values in C order.",
    ]
    for key, val in hparams.items():
        text = f"{val:.17g}" if isinstance(val, float) else str(val)
        lines.append(f"hparam {key} {kinds[type(val)]} {text}")
    dtype_names = {np.dtype("float32"): "f32", np.dtype("int8"): "i8"}
    for name, arr, scale, zp in tensors:
        scale = 1.0 if scale is None else scale
        zp = 0 if zp is None else zp
        dims = " ".join(str(d) for d in arr.shape)
        lines.append(f"tensor {name} {dtype_names[arr.dtype]} {arr.ndim} {dims} {scale:.9g} {zp}")
        fmt = "{:.9g}" if arr.dtype == np.float32 else "{:d}"
        lines.append(" ".join(fmt.format(v) for v in arr.reshape(-1).tolist()))
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pth", help="checkpoint written by tools/example_module.py")
    ap.add_argument("out", help="p3dw blob to write")
    ap.add_argument("--values", help="also write the expected values for tests/test_weights.c here")
    args = ap.parse_args(argv)
    p3dw.require_torch("convert_example.py")
    try:
        convert(args.pth, args.out, args.values)
    except p3dw.ConversionError as e:
        sys.exit(f"convert_example.py: {args.pth}: {e}")


if __name__ == "__main__":
    main()
