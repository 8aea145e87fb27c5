"""golden_weights.py - seeded random state_dicts for the three inpainting nets and MiDaS v1, numpy only.

The same (model, seed) gives bit-identical float32 arrays on every machine: values come from a
counter-based splitmix64 stream and are formed with IEEE-exact operations only (integer mixing, one
float64 multiply-add rounded once to float32, sqrt, exactly rounded sums via math.fsum). No libm
transcendental, no BLAS reduction.

Stream for a tensor named NAME (the state_dict key) under seed S:
    key   = mix(S ^ fnv1a64(NAME))                          fnv1a64 over the UTF-8 bytes
    x_i   = mix(key + (i + 1) * 0x9E3779B97F4A7C15)       i = 0, 1, ... (mod 2^64), C order
    u_i   = (x_i >> 11) * 2^-53                             in [0, 1), float64
    value = float32(lo + (hi - lo) * u_i)
mix(z): z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31.

Distributions (fan_in = prod(weight.shape[1:])); U(lo, hi) as above:
| tensor | values |
|---|---|
| SN weight_orig (edge net) | U(-b, b), b = sqrt(6 / fan_in) (Kaiming, ReLU gain) |
| decoder_2.1.weight (edge output conv) | U(-b, b), b = sqrt(3 / fan_in) |
| partial-conv input_conv weight | U(-b, b), b = sqrt(1.5 / fan_in) (see below) |
| conv biases | U(-0.1, 0.1) |
| mask_conv.weight | 1 |
| bn.weight / bias / running_mean / running_var | U(0.8, 1.2) / U(-0.1, 0.1) / U(-0.2, 0.2) / U(0.5, 2) |
| bn.num_batches_tracked | 1000 (int64 scalar) |
| SN weight_v | normalised U(-1, 1) vector |
| SN weight_u | normalise(W_mat @ weight_v) |

weight_u is one power-iteration step from weight_v, so sigma = |W_mat v| > 0 is well conditioned as in a
trained checkpoint (a random u would give u . (W v) near 0). The edge net's SN weights' scale is divided
out by sigma and by instance norm. The U-Nets' weights are smaller than Kaiming's because the partial-conv
renormalisation multiplies the rim of the growing valid region by up to k*k at every layer: with the ReLU
gain the random activations grow ~100x by the bottleneck and the colour sigmoid saturates; at variance
0.5 / fan_in they stay O(1) on the golden patches (depth output about [-1, 0.7], colour about [0.16, 0.85]).

MiDaS v1 (midas-v1, keys of tools/convert_midas.py), same stream:
| tensor | values |
|---|---|
| encoder conv and scratch.layerK_rn weights (ReLU follows or precedes) | U(-b, b), b = sqrt(6 / fan_in) |
| scratch.refinenet* and scratch.output_conv weights | U(-b, b), b = sqrt(3 / fan_in) |
| conv biases | U(-0.1, 0.1) |
| BN weight | U(0.2, 0.4) for bn3 (the last BN of a residual branch), else U(0.8, 1.2) |
| BN bias / running_mean / running_var, num_batches_tracked | as above |
With the ReLU gain on every residual branch the ResNet's residual stream grows ~1.3x per bottleneck
(output std ~150); the small bn3 scale keeps every stage's activations O(1) (std 0.4-0.7 in the encoder,
output std ~1 on the golden photos), like a trained network's.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
from collections import OrderedDict

import numpy as np

import convert_midas
from convert_inpaint import EDGE_SN, checkpoint_table, exact_matvec, sn_matrix

SEED = 20200614
_M64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & _M64
    return h


def stream_key(seed, name):
    return int(_mix(np.array([(seed ^ fnv1a64(name.encode())) & _M64], np.uint64))[0])


def uniform(seed, name, shape, lo, hi):
    """float32 array of `shape` from the (seed, name) stream, U(lo, hi)."""
    n = int(np.prod(shape, dtype=np.int64))
    ctr = np.arange(1, n + 1, dtype=np.uint64)
    x = _mix(np.uint64(stream_key(seed, name)) + ctr * _GOLDEN)
    u = (x >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    return (lo + (hi - lo) * u).astype(np.float32).reshape(shape)


def normalise(vec):
    """float32 vec / |vec|, the norm exactly rounded."""
    v = vec.astype(np.float64)
    return (v / math.sqrt(math.fsum((v * v).tolist()))).astype(np.float32)


def _weight(seed, name, shape):
    gain2 = 6.0 if name.endswith(".weight_orig") else 3.0 if name.startswith("decoder_2.") else 1.5
    b = math.sqrt(gain2 / int(np.prod(shape[1:])))
    return uniform(seed, name, shape, -b, b)


def _midas_state_dict(seed):
    sd = OrderedDict()
    bn_prefixes = {bn for _, bn, _, _ in convert_midas.layer_table() if bn}
    for key, shape in convert_midas.checkpoint_table().items():
        prefix, leaf = key.rsplit(".", 1)
        if leaf == "num_batches_tracked":
            sd[key] = np.array(1000, np.int64)
        elif len(shape) == 4:
            b = math.sqrt((3.0 if key.startswith(("scratch.refinenet", "scratch.output_conv")) else 6.0)
                          / int(np.prod(shape[1:])))
            sd[key] = uniform(seed, key, shape, -b, b)
        elif prefix in bn_prefixes:
            lo, hi = {"weight": (0.2, 0.4) if prefix.endswith(".bn3") else (0.8, 1.2), "bias": (-0.1, 0.1),
                      "running_mean": (-0.2, 0.2), "running_var": (0.5, 2.0)}[leaf]
            sd[key] = uniform(seed, key, shape, lo, hi)
        else:
            sd[key] = uniform(seed, key, shape, -0.1, 0.1)
    return sd


def random_state_dict(model, seed=SEED):
    """OrderedDict {checkpoint key: numpy array}: exactly the keys and shapes of the official checkpoint."""
    if model in convert_midas.MODELS:
        return _midas_state_dict(seed)
    sd = OrderedDict()
    sn_dim = {prefix: dim for prefix, _, _, dim in EDGE_SN}
    for key, shape in checkpoint_table(model).items():
        prefix, leaf = key.rsplit(".", 1)
        if leaf == "num_batches_tracked":
            sd[key] = np.array(1000, np.int64)
        elif ".mask_conv." in key:
            sd[key] = np.ones(shape, np.float32)
        elif leaf in ("weight", "weight_orig") and len(shape) == 4:
            sd[key] = _weight(seed, key, shape)
        elif leaf == "weight_u":
            continue
        elif leaf == "weight_v":
            v = normalise(uniform(seed, key, shape, -1.0, 1.0))
            w_mat = sn_matrix(sd[f"{prefix}.weight_orig"], sn_dim[prefix])
            sd[f"{prefix}.weight_u"] = normalise(exact_matvec(w_mat, v))
            sd[key] = v
        elif ".bn." in key:
            lo, hi = {"weight": (0.8, 1.2), "bias": (-0.1, 0.1), "running_mean": (-0.2, 0.2),
                      "running_var": (0.5, 2.0)}[leaf]
            sd[key] = uniform(seed, key, shape, lo, hi)
        elif leaf == "bias":
            sd[key] = uniform(seed, key, shape, -0.1, 0.1)
        else:
            raise AssertionError(f"no rule for {key}")
    return OrderedDict((k, sd[k]) for k in checkpoint_table(model))


def save_npy(path, arr):
    """np.save of a C-order, little-endian copy of arr; returns its manifest entry (shape, dtype, bytes)."""
    arr = np.ascontiguousarray(arr)
    arr = arr.astype(arr.dtype.newbyteorder("<")) if arr.dtype.itemsize > 1 else arr
    np.save(path, arr)
    return {"shape": list(arr.shape), "dtype": arr.dtype.str, "bytes": os.path.getsize(path)}


def write_manifest(out_dir, manifest, work):
    """out_dir/manifest.json (short lists on one line), written to a temporary name and renamed; prints what
    the golden set holds and the work dir."""
    text = json.dumps(manifest, indent=1)
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    tmp = os.path.join(out_dir, "manifest.json.tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, os.path.join(out_dir, "manifest.json"))
    total = sum(v["bytes"] for v in manifest["files"].values())
    print(f"wrote {len(manifest['files'])} files ({total} bytes) + manifest.json to {out_dir}; work dir {work}")


def golden_setup(argv, doc, out_default, work_prefix, make_script, models=()):
    """The golden generators' command line ([--out DIR] [--workdir DIR]): makes the folders and writes the
    numpy-only random-weight blobs with tools/<make_script> (of `models` only, if given) into WORKDIR/numpy.
    Returns (out, work, numpy_dir)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--out", default=out_default)
    ap.add_argument("--workdir", help="where the checkpoints and blobs go (default: a new temp dir)")
    args = ap.parse_args(argv)
    work = args.workdir or tempfile.mkdtemp(prefix=work_prefix)
    os.makedirs(args.out, exist_ok=True)
    numpy_dir = os.path.join(work, "numpy")
    tools = os.path.dirname(os.path.abspath(__file__))
    model_args = [a for m in models for a in ("--model", m)]
    subprocess.run([sys.executable, os.path.join(tools, make_script), numpy_dir] + model_args, check=True)
    return args.out, work, numpy_dir


def convert_saved(converter, model, state_dict, ext, work, numpy_dir):
    """Saves a module's state_dict as WORK/<model>-random.<ext>, converts it with tools/<converter> into
    WORK/<model>-random.p3dw and compares that blob's SHA-256 with the numpy-made one in numpy_dir.
    Returns (manifest entry of the blob, whether both are the same)."""
    import torch
    from make_test_weights import blob_path, sha256
    tools = os.path.dirname(os.path.abspath(__file__))
    ckpt, blob = os.path.join(work, f"{model}-random.{ext}"), blob_path(work, model)
    torch.save(state_dict, ckpt)
    subprocess.run([sys.executable, os.path.join(tools, converter), "--model", model, ckpt, blob], check=True,
                   stdout=subprocess.DEVNULL)
    digest, digest_np = sha256(blob), sha256(blob_path(numpy_dir, model))
    print(f"{model}: blob from .{ext} {digest[:16]}, from numpy {digest_np[:16]}: "
          f"{'same' if digest == digest_np else 'DIFFER'}")
    return {"file": os.path.basename(blob), "sha256": digest, "bytes": os.path.getsize(blob)}, digest == digest_np
