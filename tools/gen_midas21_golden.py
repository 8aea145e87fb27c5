#!/usr/bin/python3
"""gen_midas21_golden.py [--out tests/data/midas21] [--workdir DIR] - golden files of the MiDaS v2.1 nets.

Needs torch. For each of midas-small and midas-large it
  1. builds the module of tools/midas21_nets.py, loads the seeded random state_dict of
     tools/make_midas21_weights.py and saves it as WORKDIR/<kind>-random.pt (not committed);
  2. converts that .pt with `convert_midas21.py` and checks that the blob's SHA-256 equals the one
     `make_midas21_weights.py` writes from numpy alone;
  3. runs forward() on a smooth synthetic normalised input, (1, 3, 64, 96) for small and (1, 3, 96, 64)
     for large (non-square, both orientations);
  4. reloads the converted blob into the folded module (BN folded as the C side gets it) and checks that
     its output matches within 1e-5 of max |output|.
It also writes the preprocessing goldens: run.py's transform (Resize keep_aspect_ratio, multiple of 32,
'upper_bound', cv2.INTER_CUBIC on the float64 image / 255, NormalizeImage with the ImageNet mean/std,
PrepareForNet) as OpenCV computes it, emulated here from OpenCV's resize code in numpy (cv2 is not
installed) and cross-checked against torch's bicubic interpolation (a = -0.75, float64, clamped borders:
the same filter, with float64 instead of OpenCV's float32 coefficients; must agree within 1e-5), on two
synthetic RGB8 images resized to explicit sizes (23x37 -> 64x96 up, 150x97 -> 96x64 down), and a table of
network input sizes from Resize.get_size (sizes.txt: size width height -> net_w net_h).

Files (C order, little-endian): {kind}_in.npy (1, 3, H, W) '<f4', {kind}_out.npy (1, H, W) '<f4',
pre_{up,down}_src.npy (h, w, 3) '|u1', pre_{up,down}.npy (3, H, W) '<f4', sizes.txt, manifest.json.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
import convert_midas21 as cm  # noqa: E402
import midas21_nets  # noqa: E402
import p3dw  # noqa: E402
from golden_weights import convert_saved, golden_setup, save_npy, uniform, write_manifest  # noqa: E402
from make_midas21_weights import SEED, random_state_dict  # noqa: E402

FOLD_TOL = 1e-5
SHAPES = {"midas-small": (64, 96), "midas-large": (96, 64)}
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])
NET_SIZE = {"midas-small": 256, "midas-large": 384}


# ---- run.py's preprocessing ----------------------------------------------------------------------------
def get_size(width, height, size, multiple=32):
    """midas/transforms.py Resize(size, size, keep_aspect_ratio=True, ensure_multiple_of=multiple,
    resize_method='upper_bound').get_size(width, height) -> (new_width, new_height)."""
    scale_h, scale_w = size / height, size / width
    if scale_w < scale_h:
        scale_h = scale_w
    else:
        scale_w = scale_h

    def constrain(x, max_val):
        y = (np.round(x / multiple) * multiple).astype(int)
        if y > max_val:
            y = (np.floor(x / multiple) * multiple).astype(int)
        return int(y)

    return constrain(scale_w * width, size), constrain(scale_h * height, size)


def _cubic_coeffs(x):
    """OpenCV's interpolateCubic in float32 (A = -0.75), x a float32 array."""
    A = np.float32(-0.75)
    one = np.float32(1)
    c0 = ((A * (x + one) - np.float32(5) * A) * (x + one) + np.float32(8) * A) * (x + one) - np.float32(4) * A
    c1 = ((A + np.float32(2)) * x - (A + np.float32(3))) * x * x + one
    y = one - x
    c2 = ((A + np.float32(2)) * y - (A + np.float32(3))) * y * y + one
    c3 = one - c0 - c1 - c2
    return np.stack([c0, c1, c2, c3], -1).astype(np.float32)


def _cubic_taps(src_n, dst_n):
    """(indices (dst_n, 4) clamped, weights (dst_n, 4) float32) of one axis, as cv::resize's tables."""
    scale = 1.0 / (dst_n / src_n)
    f = ((np.arange(dst_n) + 0.5) * scale - 0.5).astype(np.float32)
    s = np.floor(f)
    f = (f - s).astype(np.float32)
    idx = np.clip(s.astype(np.int64)[:, None] + np.arange(-1, 3)[None], 0, src_n - 1)
    return idx, _cubic_coeffs(f)


def cv_resize_cubic(img, dw, dh):
    """cv2.resize(img, (dw, dh), interpolation=cv2.INTER_CUBIC) for a float64 (h, w, c) image: horizontal
    pass then vertical, float64 sums of four taps in tap order with float32 weights (resizeGeneric_ with
    HResizeCubic<double, double, float> / VResizeCubic)."""
    xi, xw = _cubic_taps(img.shape[1], dw)
    yi, yw = _cubic_taps(img.shape[0], dh)
    xw, yw = xw.astype(np.float64), yw.astype(np.float64)
    t = img[:, xi[:, 0]] * xw[None, :, 0:1]
    for k in range(1, 4):
        t = t + img[:, xi[:, k]] * xw[None, :, k:k + 1]
    out = t[yi[:, 0]] * yw[:, 0, None, None]
    for k in range(1, 4):
        out = out + t[yi[:, k]] * yw[:, k, None, None]
    return out


def preprocess(rgb8, dw, dh):
    """run.py: read_image (/ 255.0, float64) -> Resize (INTER_CUBIC) -> NormalizeImage -> PrepareForNet."""
    img = cv_resize_cubic(rgb8 / 255.0, dw, dh)
    img = (img - MEAN) / STD
    return np.ascontiguousarray(np.transpose(img, (2, 0, 1))).astype(np.float32)


def torch_bicubic(rgb8, dw, dh):
    x = torch.from_numpy(np.transpose(rgb8 / 255.0, (2, 0, 1))[None].copy())
    y = F.interpolate(x, size=(dh, dw), mode="bicubic", align_corners=False)[0].numpy()
    return np.transpose(y, (1, 2, 0))


def synthetic_rgb8(h, w, salt):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([0.5 + 0.4 * np.sin(0.31 * xx + 0.17 * yy), 0.5 + 0.4 * np.cos(0.23 * yy - 0.05 * xx),
                     0.5 + 0.3 * np.sign(np.sin(0.9 * xx) * np.sin(0.7 * yy))], -1)
    noise = uniform(SEED, f"golden.preprocess.{salt}", (h, w, 3), -0.1, 0.1)
    return np.round(np.clip(base + noise, 0, 1) * 255).astype(np.uint8)


def net_input(h, w, salt):
    """A smooth normalised image-like input (1, 3, h, w) float32 with a little noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x = np.stack([np.sin(0.11 * xx + 0.07 * yy), np.cos(0.05 * xx - 0.13 * yy), np.sin(0.03 * (xx + yy))]) * 1.5
    return (x + uniform(SEED, f"golden.input.{salt}", (3, h, w), -0.2, 0.2)).astype(np.float32)[None]


SIZE_CASES = [(640, 480), (480, 640), (1024, 768), (4032, 3024), (3000, 4000), (1920, 1080), (500, 500),
              (300, 200), (70, 45), (45, 70), (800, 208), (800, 224), (800, 240), (1000, 111), (37, 23),
              (384, 384), (256, 192), (2000, 1), (1, 2000), (512, 96), (512, 160), (512, 224), (768, 160),
              (768, 224)]


def main(argv=None):
    default_out = os.path.join(os.path.dirname(TOOLS), "tests", "data", "midas21")
    out_dir, work, numpy_dir = golden_setup(argv, __doc__, default_out, "p3d_midas21_golden_",
                                            "make_midas21_weights.py")
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    manifest = {"generator": "tools/gen_midas21_golden.py", "seed": SEED, "torch": torch.__version__,
                "fold_tolerance": FOLD_TOL, "blobs": {}, "files": {}, "outputs": {}, "preprocess": {}}
    files = {}
    ok = True
    for kind in cm.KINDS:
        net = midas21_nets.load_numpy(midas21_nets.build(kind), random_state_dict(kind, SEED))
        manifest["blobs"][kind], same = convert_saved("convert_midas21.py", kind, net.state_dict(), "pt", work,
                                                      numpy_dir)
        ok &= same
        blob = os.path.join(work, manifest["blobs"][kind]["file"])

        h, w = SHAPES[kind]
        x = net_input(h, w, kind)
        with torch.no_grad():
            out = net(torch.from_numpy(x.copy())).numpy()
            tensors = {k: v for k, (v, _, _) in p3dw.read(blob)[2].items()}
            folded = midas21_nets.load_numpy(midas21_nets.build(kind, folded=True), tensors)
            out_folded = folded(torch.from_numpy(x.copy())).numpy()
        max_abs = float(np.abs(out).max())
        rel = float(np.abs(out_folded - out).max() / max_abs)
        ok &= rel <= FOLD_TOL and out.shape == (1, h, w)
        print(f"{kind}: out {out.shape} in [{out.min():.4g}, {out.max():.4g}], {100 * (out > 0).mean():.1f}% > 0; "
              f"folded vs original max diff / max |out| = {rel:.3g} ({'ok' if rel <= FOLD_TOL else 'FAIL'})")
        short = kind.split("-")[1]
        files[f"{short}_in.npy"] = x
        files[f"{short}_out.npy"] = out
        manifest["outputs"][kind] = {"input": [1, 3, h, w], "max_abs": max_abs, "min": float(out.min()),
                                     "max": float(out.max()), "positive_fraction": float((out > 0).mean()),
                                     "folded_max_rel_diff": rel}

    for name, (sh, sw, dh, dw) in {"up": (23, 37, 64, 96), "down": (150, 97, 96, 64)}.items():
        src = synthetic_rgb8(sh, sw, name)
        pre = preprocess(src, dw, dh)
        ref = torch_bicubic(src, dw, dh)
        diff = float(np.abs(cv_resize_cubic(src / 255.0, dw, dh) - ref).max())
        ok &= diff <= 1e-5
        print(f"preprocess {name}: {sh}x{sw} -> {dh}x{dw}; OpenCV emulation vs torch bicubic max diff {diff:.3g}")
        files[f"pre_{name}_src.npy"] = src
        files[f"pre_{name}.npy"] = pre
        manifest["preprocess"][name] = {"src": [sh, sw], "dst": [dh, dw], "vs_torch_bicubic_max_diff": diff}

    for fname, arr in files.items():
        manifest["files"][fname] = save_npy(os.path.join(out_dir, fname), arr)
    lines = ["# size width height -> net_w net_h (midas/transforms.py Resize, upper_bound, multiple of 32)"]
    for size in sorted(set(NET_SIZE.values())):
        for w, h in SIZE_CASES:
            nw, nh = get_size(w, h, size)
            lines.append(f"{size} {w} {h} {nw} {nh}")
    with open(os.path.join(out_dir, "sizes.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    manifest["files"]["sizes.txt"] = {"bytes": os.path.getsize(os.path.join(out_dir, "sizes.txt"))}

    write_manifest(out_dir, manifest, work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
