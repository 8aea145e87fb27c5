"""convert_common.py - what the PyTorch-checkpoint converters (convert_inpaint.py, convert_midas.py) share:
reading a checkpoint, checking its state_dict against the expected key table, writing the blob and the
command line `CONVERTER --model NAME IN OUT`. numpy only; torch is imported only to read a checkpoint.
"""
import argparse
import sys
from collections import OrderedDict

import numpy as np

from p3dw import ConversionError, Writer


def unwrap_checkpoint(obj):
    """The state_dict inside a loaded checkpoint: the object itself, or obj['model'] / obj['state_dict']
    when that is the only key."""
    if isinstance(obj, dict) and len(obj) == 1:
        (key, val), = obj.items()
        if key in ("model", "state_dict") and isinstance(val, dict):
            return val
    if not isinstance(obj, dict):
        raise ConversionError(f"checkpoint is a {type(obj).__name__}, not a state_dict")
    return obj


def read_checkpoint(path):
    """Loads a .pth / .pt with torch (CPU) and returns {key: numpy array}."""
    import torch
    obj = torch.load(path, map_location="cpu")
    sd = unwrap_checkpoint(obj)
    out = OrderedDict()
    for k, v in sd.items():
        if not torch.is_tensor(v):
            raise ConversionError(f"{k}: a {type(v).__name__}, not a tensor")
        out[k] = v.detach().cpu().numpy()
    return out


def check_state_dict(label, expected, sd, extra=None):
    """Raises ConversionError "LABEL checkpoint refused:" listing every key of sd that is missing from or
    unknown to expected {key: shape}, mis-shaped, not float32 or not finite; keys ending in
    .num_batches_tracked must be integer scalars. extra(key, array) may return one more message for a
    key that passed those checks."""
    errors = [f"missing key {k} (expected {list(s)})" for k, s in expected.items() if k not in sd]
    errors += [f"unknown key {k}" for k in sd if k not in expected]
    for k, arr in sd.items():
        if k not in expected:
            continue
        if not isinstance(arr, np.ndarray):
            errors.append(f"{k}: a {type(arr).__name__}, not an array")
            continue
        if k.endswith(".num_batches_tracked"):
            if arr.dtype.kind not in "iu" or arr.size != 1:
                errors.append(f"{k}: expected an integer scalar, got {arr.dtype} {list(arr.shape)}")
            continue
        if tuple(arr.shape) != tuple(expected[k]):
            errors.append(f"{k}: got {list(arr.shape)}, expected {list(expected[k])}")
        elif arr.dtype != np.float32:
            errors.append(f"{k}: dtype {arr.dtype}, expected float32")
        elif not np.all(np.isfinite(arr)):
            errors.append(f"{k}: contains NaN or inf")
        else:
            msg = extra(k, arr) if extra else None
            if msg:
                errors.append(msg)
    if errors:
        raise ConversionError(f"{label} checkpoint refused:\n  " + "\n  ".join(errors))


def write_tensors(kind, hparams, tensors, path, expected, log=sys.stdout):
    """Writes {name: array} as a blob of model kind `kind`, refusing anything but the names and shapes of
    expected. Returns the file size."""
    w = Writer(kind, hparams, log=log)
    for name, arr in tensors.items():
        w.add(name, arr)
    return w.write(path, expected=expected)


def main(argv, prog, description, models, input_help, write_blob):
    """`PROG --model NAME IN OUT`: write_blob(model, read_checkpoint(IN), OUT); exit status 1 with the
    refusal on stderr."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--model", required=True, choices=models)
    ap.add_argument("input", help=input_help)
    ap.add_argument("output", help="OUT.p3dw")
    args = ap.parse_args(argv)
    try:
        write_blob(args.model, read_checkpoint(args.input), args.output)
    except ConversionError as e:
        print(f"{prog}: {args.input}: {e}", file=sys.stderr)
        return 1
    return 0
