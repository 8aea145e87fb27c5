#!/usr/bin/python3
"""gen_inpaint_golden.py [--out tests/data/inpaint] [--workdir DIR] - golden files of the inpainting nets.

Needs torch. For each net it
  1. builds the module of tools/inpaint_nets.py and loads the seeded random state_dict of
     tools/golden_weights.py, saves it as WORKDIR/<model>-random.pth (not committed);
  2. converts that .pth with `convert_inpaint.py` and checks that the blob's SHA-256 equals the one
     `make_test_weights.py` writes from numpy alone;
  3. runs forward_3P on N = 2 synthetic RGB-D patches of 81 x 101 pixels (padded to 128 x 128, window
     top 23, left 13: odd residuals, so the extra row/column goes bottom/right);
  4. reloads the converted blob into the folded module (spectral norm and BN folded as the C side gets
     them) and checks that its output matches within 1e-5 of max |output|; for the edge net, whose
     instance norms hide any scale error of a conv, it also compares every folded weight with torch's
     eval-mode spectral-norm weight (1e-5 of its max |w|).

Patches (spec 2.16, 2.17.1): a textured far background, a mid-depth object and a near object whose
occlusion boundary is the inpainted edge. mask = the near side of the boundary grown MASK_RINGS rings into
the near object (the region behind it is synthesised), context = the far surfaces grown CONTEXT_RINGS rings
from the far neighbours of the edge along same-surface links, erode = its first ERODE_RINGS rings.
  edge net:  rgb/255 and disp (|1/z| / global max) on context, the context's own depth edges
             (near side of mid/background), context = C + E, mask = M;
  depth net: zero-mean log depth on context (log and mean taken by the caller, as the reference's
             get_depth_from_nodes), edge = context edges + the hidden continuation of the mid object's edge
             inside the mask (a perfect edge-net prediction), context = C + E, mask = closed M;
  colour net: rgb on C (without E), the same edge map, context = C, mask = closed (M + E).
"closed" = open_small_mask(mask, context, 3, 41) (three 41x41 closings of mask + context).

Files (all C order, little-endian): {net}_in_{name}.npy for each forward_3P argument in call order
(binary maps '|u1', the rest '<f4'), {net}_forward_input_p0.npy = the padded concatenated tensor that
forward() gets, for patch 0 only (1, C, 128, 128) '<f4', {net}_out.npy = forward_3P's output '<f4',
manifest.json.
"""
import os
import sys

import numpy as np
import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import inpaint_nets  # noqa: E402
import p3dw  # noqa: E402
from convert_inpaint import MODELS  # noqa: E402
from golden_weights import (SEED, convert_saved, golden_setup, random_state_dict, save_npy, uniform,  # noqa: E402
                            write_manifest)

H, W = 81, 101
MASK_RINGS, CONTEXT_RINGS, ERODE_RINGS = 9, 16, 3
FOLD_TOL = 1e-5
BG, MID, NEAR = 0, 1, 2
ARGS = {  # forward_3P arguments in call order, and which are binary maps
    "edge": ["mask", "context", "rgb", "disp", "edge"],
    "depth": ["mask", "context", "depth", "edge"],
    "color": ["mask", "context", "rgb", "edge"],
}
BINARY = {"mask", "context", "edge"}


# ---- scene -------------------------------------------------------------------------------------------------
def _scene(idx):
    """(labels, labels without the near object, depth (H, W), rgb (3, H, W) quantised to k/255)."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    if idx == 0:
        bg_depth = 6.0 + 0.012 * yy + 0.008 * xx
        mid = (yy >= 50) & (xx <= 55)
        mid_depth = 3.0 + 0.004 * xx
        r2 = (yy - 38) ** 2 + (xx - 58) ** 2
        near = r2 <= 20 ** 2
        near_depth = 1.2 + 0.0015 * r2
    else:
        bg_depth = 5.0 + 0.02 * xx - 0.005 * yy
        mid = (xx >= 58) & (xx <= 80) & (yy >= 6)
        mid_depth = 2.6 + 0.003 * yy
        a, b = (yy - 46) * 0.866 + (xx - 44) * 0.5, -(yy - 46) * 0.5 + (xx - 44) * 0.866
        near = (a / 16) ** 2 + (b / 27) ** 2 <= 1
        near_depth = 1.5 + 0.01 * a
    hidden = np.where(mid, MID, BG)
    labels = np.where(near, NEAR, hidden)
    depth = np.choose(labels, [bg_depth, mid_depth, near_depth])
    phase = 1.3 * idx
    tex = [
        np.stack([0.55 + 0.20 * np.sin(0.35 * xx + 0.8 * np.sin(0.11 * yy) + phase),
                  0.50 + 0.15 * np.cos(0.27 * yy + 0.3 * xx),
                  0.35 + 0.10 * np.sign(np.sin(0.5 * xx) * np.sin(0.5 * yy))]),
        np.stack([0.25 + 0.15 * ((xx + yy) % 8 < 4), 0.30 + 0.10 * np.sin(0.9 * xx + phase),
                  0.60 + 0.20 * np.cos(0.21 * yy)]),
        np.stack([0.80 - 0.004 * yy, 0.35 + 0.25 * np.sin(0.15 * (xx - yy)) ** 2, 0.20 + 0.003 * xx]),
    ]
    rgb = np.choose(labels[None], tex) + uniform(SEED, f"golden.texture.{idx}", (3, H, W), -0.04, 0.04)
    rgb = np.round(np.clip(rgb, 0, 1) * 255) / 255
    return labels, hidden, depth, rgb


def _grow4(m):
    g = m.copy()
    g[1:] |= m[:-1]
    g[:-1] |= m[1:]
    g[:, 1:] |= m[:, :-1]
    g[:, :-1] |= m[:, 1:]
    return g


def _near_edge(labels, fg):
    """Pixels of label fg that have a 4-neighbour of another label (the near side of a depth edge)."""
    other = labels != fg
    return (labels == fg) & _grow4(other) & ~other


def _rings(seed, allowed, n):
    """List of n rings grown by 4-adjacency inside `allowed`, ring 0 = seed."""
    rings, seen = [seed], seed.copy()
    for _ in range(n - 1):
        nxt = _grow4(rings[-1]) & allowed & ~seen
        rings.append(nxt)
        seen |= nxt
    return rings


def _box(a, k, op, pad):
    """k x k max/min filter of a 2-D uint8 array; outside pixels do not count (cv2's default border)."""
    r = k // 2
    for axis in (0, 1):
        widths = [(0, 0), (0, 0)]
        widths[axis] = (r, r)
        win = np.lib.stride_tricks.sliding_window_view(np.pad(a, widths, constant_values=pad), k, axis=axis)
        a = op(win, axis=-1)
    return a


def closed_mask(mask, context, iterations=3, kernel=41):
    """open_small_mask of the reference: close mask + context; new mask = mask | (closed & ~context)."""
    v = mask.astype(np.uint8) + context.astype(np.uint8)
    for _ in range(iterations):
        v = _box(_box(v, kernel, np.max, 0), kernel, np.min, 255)
    return mask | ((v.astype(np.int16) - context) > 0)


def make_patch(idx):
    labels, hidden, depth, rgb = _scene(idx)
    near = labels == NEAR
    self_edge = _near_edge(labels, NEAR)
    mask = np.logical_or.reduce(_rings(self_edge, near, MASK_RINGS))
    far0 = _grow4(self_edge) & ~near
    ctx_rings = [np.zeros_like(near)] * CONTEXT_RINGS
    for lab in (BG, MID):
        for k, ring in enumerate(_rings(far0 & (labels == lab), labels == lab, CONTEXT_RINGS)):
            ctx_rings[k] = ctx_rings[k] | ring
    context = np.logical_or.reduce(ctx_rings)
    erode = np.logical_or.reduce(ctx_rings[:ERODE_RINGS])
    context_edge = _near_edge(labels, MID) & context
    npath = _near_edge(hidden, MID) & mask
    edge_output = context_edge | npath
    inv = 1.0 / depth
    disp = inv * context / inv.max()
    logd = np.log(depth + 1e-8) * context
    mean = logd[context].mean()
    c_ctx = context & ~erode
    return {
        "edge": {"mask": mask, "context": context, "rgb": rgb * context, "disp": disp, "edge": context_edge},
        "depth": {"mask": closed_mask(mask, context), "context": context, "depth": (logd - mean) * context,
                  "edge": edge_output},
        "color": {"mask": closed_mask(mask | erode, c_ctx), "context": c_ctx, "rgb": rgb * c_ctx,
                  "edge": edge_output},
        "log_depth_mean": float(mean),
        "counts": {"mask": int(mask.sum()), "context": int(context.sum()), "erode": int(erode.sum()),
                   "context_edge": int(context_edge.sum()), "npath": int(npath.sum())},
    }


# ---- golden generation -------------------------------------------------------------------------------------
def batch_inputs(patches, model):
    """{arg: numpy (2, C, H, W)}: float32 for values, uint8 for binary maps."""
    out = {}
    for name in ARGS[model]:
        arrs = [np.asarray(p[model][name]) for p in patches]
        arrs = [a[None] if a.ndim == 2 else a for a in arrs]
        out[name] = np.stack(arrs).astype(np.uint8 if name in BINARY else np.float32)
    return out


def run_3p(net, model, inputs):
    args = [torch.from_numpy(inputs[n].astype(np.float32)) for n in ARGS[model]]
    with torch.no_grad():
        padded, window = inpaint_nets.pad_input(net.concat_inputs(*args))
        out = inpaint_nets.crop_output(net(padded), window)
        assert torch.equal(out, net.forward_3P(*args))
    return padded.numpy(), out.numpy()


def main(argv=None):
    default_out = os.path.join(os.path.dirname(TOOLS), "tests", "data", "inpaint")
    out_dir, work, numpy_dir = golden_setup(argv, __doc__, default_out, "p3d_inpaint_golden_", "make_test_weights.py",
                                            MODELS)

    patches = [make_patch(i) for i in range(2)]
    manifest = {
        "generator": "tools/gen_inpaint_golden.py", "seed": SEED, "torch": torch.__version__,
        "patch": {"n": 2, "h": H, "w": W, "padded_h": 128, "padded_w": 128, "top": 23, "left": 13},
        "forward_3P_args": ARGS,
        "log_depth_mean": [p["log_depth_mean"] for p in patches],
        "region_pixels": [p["counts"] for p in patches],
        "fold_tolerance": FOLD_TOL, "blobs": {}, "files": {}, "outputs": {},
    }
    ok = True
    for model in ("edge", "depth", "color"):
        sd = random_state_dict(model, SEED)
        net = inpaint_nets.load_numpy(inpaint_nets.build(model), sd)
        manifest["blobs"][model], same = convert_saved("convert_inpaint.py", model, net.state_dict(), "pth", work,
                                                       numpy_dir)
        ok &= same
        blob = os.path.join(work, manifest["blobs"][model]["file"])

        inputs = batch_inputs(patches, model)
        padded, out = run_3p(net, model, inputs)
        tensors = {k: v for k, (v, _, _) in p3dw.read(blob)[2].items()}
        folded = inpaint_nets.load_numpy(inpaint_nets.build(model, folded=True), tensors)
        _, out_folded = run_3p(folded, model, inputs)
        max_abs = float(np.abs(out).max())
        rel = float(np.abs(out_folded - out).max() / max_abs)
        ok &= rel <= FOLD_TOL
        print(f"{model}: max |out| {max_abs:.6g}, folded vs original max diff / max |out| = {rel:.3g}"
              f" ({'ok' if rel <= FOLD_TOL else 'FAIL'})")
        sn_rel = 0.0
        for name, w in inpaint_nets.spectral_norm_weights(net).items():
            sn_rel = max(sn_rel, float(np.abs(tensors[name] - w).max() / np.abs(w).max()))
        if model == "edge":
            ok &= sn_rel <= FOLD_TOL
            print(f"edge: folded weights vs torch spectral norm: max diff / max |w| = {sn_rel:.3g}"
                  f" ({'ok' if sn_rel <= FOLD_TOL else 'FAIL'})")

        files = {f"{model}_in_{n}.npy": inputs[n] for n in ARGS[model]}
        files[f"{model}_forward_input_p0.npy"] = padded[:1]
        files[f"{model}_out.npy"] = out
        for fname, arr in files.items():
            manifest["files"][fname] = save_npy(os.path.join(out_dir, fname), arr)
        manifest["outputs"][model] = {"max_abs": max_abs, "min": float(out.min()), "max": float(out.max()),
                                      "folded_max_rel_diff": rel}
        if model == "edge":
            manifest["outputs"][model]["sn_weight_max_rel_diff"] = sn_rel

    write_manifest(out_dir, manifest, work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
