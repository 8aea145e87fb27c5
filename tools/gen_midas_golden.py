#!/usr/bin/python3
"""gen_midas_golden.py [--out tests/data/midas] [--workdir DIR] - golden files of MiDaS v1 (midas-v1).

Needs torch. It
  1. builds MonoDepthNet (tools/midas_nets.py), loads the seeded random state_dict of
     tools/golden_weights.py, saves it as WORKDIR/midas-v1-random.pth (not committed);
  2. converts that .pth with `convert_midas.py --model midas-v1` and checks that the blob's SHA-256 equals
     the one `make_test_weights.py --model midas-v1` writes from numpy alone;
  3. network parity: runs the net on a 1x3x128x96 input (a procedural photo / 255, float32);
  4. the reference's depth path (spec 2.1, MiDaS/run.py + MiDaS_utils.py) on a 300x75 procedural photo:
     RGB / 255 in float64, cv2.resize INTER_AREA (computed here from its definition in float64,
     tools/gen_resize_golden.resize) to (ceil(h / s / 32) * 32, ceil(w / s / 32) * 32), s = longer / 384
     (-> 96x384), float32, forward; then resize_depth: cv2.blur 3x3 (BORDER_REFLECT_101, double sums) and
     INTER_AREA to (round(h * 640 / longer), round(w * 640 / longer)) (-> 160x640, an enlargement);
  5. reloads the converted blob into the folded module (BN folded as the C side gets it) and checks that
     its outputs match within 1e-5 of max |output|.

Files (C order, little-endian): net_in.npy (1, 3, 128, 96) '<f4', net_out.npy (1, 1, 128, 96) '<f4',
photo.npy (75, 300, 3) '|u1' (RGB), photo_out.npy (1, 1, 96, 384) '<f4' (the network output at its
resolution, what `photo3d-gpu depth` writes), photo_post.npy (160, 640) '<f4' (after resize_depth, what
the reference saves as depth/<name>.npy), manifest.json.
"""
import os
import sys

import numpy as np
import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import midas_nets  # noqa: E402
import p3dw  # noqa: E402
from gen_resize_golden import resize  # noqa: E402
from golden_weights import (SEED, convert_saved, golden_setup, random_state_dict, save_npy, uniform,  # noqa: E402
                            write_manifest)

MODEL = "midas-v1"
NET_H, NET_W = 128, 96        # network-parity input
PHOTO_H, PHOTO_W = 75, 300    # the reference path's photo (-> network 96x384, output 160x640)
FOLD_TOL = 1e-5


def make_photo(h, w, idx):
    """(h, w, 3) uint8 RGB: sky, hills, a ground plane whose texture shrinks towards the horizon, a shaded
    sphere and a box, a little noise. Coordinates are relative, so every size shows the same scene."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    v, u = (yy + 0.5) / h, (xx + 0.5) / w
    horizon = 0.42 + 0.05 * np.sin(6.0 * u + idx) + 0.03 * np.sin(17.0 * u)
    sky = np.stack([0.45 + 0.3 * v, 0.6 + 0.25 * v, 0.95 - 0.1 * v])
    depth = 0.08 / np.maximum(v - horizon + 0.02, 0.02)  # ground distance, grows towards the horizon
    gx = (u - 0.5) * depth * 8.0
    check = ((np.floor(gx) + np.floor(depth * 4.0)) % 2) * 0.12
    ground = np.stack([0.35 + check - 0.1 * v, 0.5 + check * 0.8, 0.2 + 0.05 * np.sin(40 * u)])
    img = np.where(v < horizon, sky, ground)
    cy, cx, r = 0.62, 0.3 + 0.08 * idx, 0.16
    dy, dx = (v - cy) / r, (u - cx) * (w / h) / r
    inside = dy ** 2 + dx ** 2 <= 1
    shade = np.clip(0.35 + 0.65 * (-0.5 * dx - 0.6 * dy + 0.6 * np.sqrt(np.clip(1 - dx ** 2 - dy ** 2, 0, 1))), 0, 1)
    img = np.where(inside, np.stack([0.85 * shade, 0.3 * shade, 0.25 * shade]), img)
    box = (u > 0.62) & (u < 0.82) & (v > 0.5) & (v < 0.8)
    img = np.where(box, np.stack([0.55 + 0.25 * (u > 0.72), 0.45 + 0.25 * (u > 0.72), 0.3 + 0 * u]), img)
    img = img + uniform(SEED, f"golden.midas.photo.{idx}", (3, h, w), -0.03, 0.03)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8).transpose(1, 2, 0).copy()


def reference_input_size(h, w):
    """MiDaS_utils.resize_image: (height, width) of the network input, float64 as the reference."""
    scale = (w if w > h else h) / 384.0
    return int(np.ceil(h / scale / 32) * 32), int(np.ceil(w / scale / 32) * 32)


def reference_output_size(h, w):
    """run_depth's target: longer side 640, Python round."""
    scale = 640.0 / max(h, w)
    return int(round(h * scale)), int(round(w * scale))


def blur3x3(a):
    """cv2.blur(a, (3, 3)) of a float32 map: mean of the 3x3 neighbourhood, BORDER_REFLECT_101, in float64."""
    p = np.pad(a.astype(np.float64), 1, mode="reflect")
    h, w = a.shape
    return sum(p[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)) * (1.0 / 9.0)


def forward(net, x):
    with torch.no_grad():
        return net(torch.from_numpy(np.ascontiguousarray(x, np.float32))).numpy()


def main(argv=None):
    default_out = os.path.join(os.path.dirname(TOOLS), "tests", "data", "midas")
    out_dir, work, numpy_dir = golden_setup(argv, __doc__, default_out, "p3d_midas_golden_", "make_test_weights.py",
                                            (MODEL,))

    net = midas_nets.load_numpy(midas_nets.build(), random_state_dict(MODEL, SEED))
    blob_entry, ok = convert_saved("convert_midas.py", MODEL, net.state_dict(), "pth", work, numpy_dir)
    blob = os.path.join(work, blob_entry["file"])
    folded = midas_nets.load_numpy(midas_nets.build(folded=True),
                                   {k: v for k, (v, _, _) in p3dw.read(blob)[2].items()})

    net_in = (make_photo(NET_H, NET_W, 0).transpose(2, 0, 1)[None] / 255.0).astype(np.float32)
    photo = make_photo(PHOTO_H, PHOTO_W, 1)
    in_h, in_w = reference_input_size(PHOTO_H, PHOTO_W)
    post_h, post_w = reference_output_size(PHOTO_H, PHOTO_W)
    photo_in = resize(photo / 255.0, in_h, in_w).astype(np.float32).transpose(2, 0, 1)[None]
    outputs = {"net_out": (net_in, forward(net, net_in)), "photo_out": (photo_in, forward(net, photo_in))}
    post = resize(blur3x3(outputs["photo_out"][1][0, 0])[:, :, None], post_h, post_w)[:, :, 0].astype(np.float32)

    manifest = {
        "generator": "tools/gen_midas_golden.py", "seed": SEED, "torch": torch.__version__,
        "blobs": {MODEL: blob_entry},
        "net_input": [1, 3, NET_H, NET_W], "photo": [PHOTO_H, PHOTO_W], "photo_net_input": [in_h, in_w],
        "photo_post": [post_h, post_w], "fold_tolerance": FOLD_TOL, "outputs": {}, "files": {},
    }
    for name, (x, out) in outputs.items():
        rel = float(np.abs(forward(folded, x) - out).max() / np.abs(out).max())
        ok &= rel <= FOLD_TOL
        manifest["outputs"][name] = {"min": float(out.min()), "max": float(out.max()), "std": float(out.std()),
                                     "folded_max_rel_diff": rel}
        print(f"{name}: range [{out.min():.4g}, {out.max():.4g}], folded vs original max diff / max |out| = "
              f"{rel:.3g} ({'ok' if rel <= FOLD_TOL else 'FAIL'})")
    manifest["outputs"]["photo_post"] = {"min": float(post.min()), "max": float(post.max())}
    files = {"net_in.npy": net_in, "net_out.npy": outputs["net_out"][1], "photo.npy": photo,
             "photo_out.npy": outputs["photo_out"][1], "photo_post.npy": post}
    for fname, arr in files.items():
        manifest["files"][fname] = save_npy(os.path.join(out_dir, fname), arr)

    write_manifest(out_dir, manifest, work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
