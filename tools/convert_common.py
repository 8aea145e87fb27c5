"""convert_common.py - what the PyTorch-checkpoint converters (convert_inpaint.py, convert_midas.py,
convert_midas21.py) share on top of p3dw.py's scaffolding (checkpoint_errors, read_torch_checkpoint,
write_tensors, converter_main): unwrapping and reading a checkpoint, refusing a state_dict with every
problem named, and folding an eval-mode BatchNorm into the conv before it. numpy only; torch is imported
only to read a checkpoint.
"""
import numpy as np

from p3dw import ConversionError, checkpoint_errors, read_torch_checkpoint


def unwrap_checkpoint(obj):
    """The state_dict inside a loaded checkpoint: the object itself, or obj['model'] when it also holds
    'optimizer' (MiDaS's BaseModel.load), or obj['model'] / obj['state_dict'] when that is the only key."""
    if not isinstance(obj, dict):
        raise ConversionError(f"checkpoint is a {type(obj).__name__}, not a state_dict")
    if "optimizer" in obj and isinstance(obj.get("model"), dict):
        return obj["model"]
    if len(obj) == 1:
        (key, val), = obj.items()
        if key in ("model", "state_dict") and isinstance(val, dict):
            return val
    return obj


def read_checkpoint(path):
    """Loads a .pth / .pt with torch (CPU) and returns {key: numpy array}."""
    return read_torch_checkpoint(path, unwrap_checkpoint)


def check_state_dict(label, expected, sd, extra=None):
    """Raises ConversionError "LABEL checkpoint refused:" listing every problem p3dw.checkpoint_errors
    finds in sd against expected {key: shape}; extra(key, array) may return one more message for a key
    that passed those checks."""
    errors = checkpoint_errors(expected, sd, extra)
    if errors:
        raise ConversionError(f"{label} checkpoint refused:\n  " + "\n  ".join(errors))


def fold_batch_norm(weight, gamma, beta, mean, var, eps):
    """(W', b') float32 of conv(W, no bias) -> BatchNorm2d in eval mode, in float64:
    W' = W * s, b' = beta - mean * s, s = gamma / sqrt(var + eps)."""
    s = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    w = weight.astype(np.float64) * s.reshape((-1,) + (1,) * (weight.ndim - 1))
    b = beta.astype(np.float64) - mean.astype(np.float64) * s
    return w.astype(np.float32), b.astype(np.float32)
