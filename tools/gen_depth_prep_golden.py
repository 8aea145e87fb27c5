#!/usr/bin/python3
"""Writes the golden files for tests/test_depth_prep.c: the reference's depth preparation
(3d-photo-inpainting de04467: utils.read_MiDaS_depth, then bilateral_filtering.sparse_bilateral_filtering
with its helpers vis_depth_discontinuity, bilateral_filter and rolling_window) transcribed literally with
numpy, independently of host/depth_prep*.

Run from the project root:  /usr/bin/python3 tools/gen_depth_prep_golden.py
Output, in tests/data/depth_prep/ (float32, small):
  <case>_input.npy      the map given to the stage, (H, W): disparity, or metric depth for kind "metric"
  <case>_prefilter.npy  read_MiDaS_depth's depth at the processing size (h, w), before filtering
  <case>_depth.npy      sparse_bilateral_filtering's last returned element, as main.py uses it
and cases.txt, one line per case: name kind H W h w num_iter filter_size (comma-separated).

The reference calls two libraries; they are written out here in numpy:
  * cv2.blur(x, ksize=(3, 3)): 3x3 box mean with BORDER_REFLECT_101 (numpy pad mode 'reflect').
    OpenCV's box filter sums float32 input in double and scales by 1/9 before storing float32.
  * skimage.transform.resize(x, (h, w), order=1) when enlarging: per axis the source coordinate of
    output index d is (d + 0.5) * n_in / n_out - 0.5 (half-pixel centres); bilinear interpolation
    between floor and ceil of it, taps outside the map mirrored without repeating the edge (skimage
    mode 'reflect' = scipy 'mirror': -1 -> 1, n -> n - 2); float64 result.
  * When reducing, skimage would first blur with a Gaussian (anti_aliasing); the project resamples with
    OpenCV's INTER_AREA there instead (host/depth/depth_prep.c), so the reducing case here uses an integer
    factor, for which INTER_AREA is the plain box mean (float32 sums, as OpenCV).
Metric input becomes disparity 1 / depth (float32) first, as the project does before the reference
steps. The reference keeps float64 after the resize; the C code stores float32, hence the tests'
relative tolerance.
"""
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "data", "depth_prep")

DEPTH_THRESHOLD = 0.04  # argument.yml
DISP_RESCALE = 3.0      # main.py passes 3.0 to read_MiDaS_depth
MIN_DISP = 0.05

# name, kind, H, W, h, w, num_iter, filter_size, seed
CASES = [
    ("up", "disparity", 30, 40, 45, 60, 5, [7, 7, 5, 5, 5], 1),         # x1.5, as 640 -> 960
    ("down", "disparity", 40, 60, 20, 30, 5, [7, 7, 5, 5, 5], 2),       # x0.5 (INTER_AREA box mean)
    ("metric", "metric", 24, 32, 24, 32, 5, [7, 7, 5, 5, 5], 3),        # same size, metric input
    ("win9", "disparity", 30, 40, 30, 40, 3, [9, 3, 5], 4),             # windows 9, 3 (third discarded)
]


# ---- read_MiDaS_depth ------------------------------------------------------------------------------

def cv2_blur3(x):
    """cv2.blur(x, ksize=(3, 3)) for a float32 (H, W) map: BORDER_REFLECT_101, double sums, float32."""
    H, W = x.shape
    p = x.astype(np.float64)
    for axis, n in ((0, H), (1, W)):  # OpenCV reflects a 1-pixel axis onto itself
        pads = [(0, 0), (0, 0)]
        pads[axis] = (1, 1)
        p = np.pad(p, pads, mode="reflect" if n > 1 else "edge")
    s = np.zeros((H, W), np.float64)
    for dy in range(3):
        for dx in range(3):
            s += p[dy:dy + H, dx:dx + W]
    return (s * (1.0 / 9.0)).astype(np.float32)


def mirror(i, n):
    """skimage mode 'reflect' (coord_map 'R'): numpy-style reflection without repeating the edge."""
    if n == 1:
        return 0
    period = 2 * (n - 1)
    i = abs(i) % period
    return period - i if i > n - 1 else i


def skimage_resize_bilinear(img, out_shape):
    """skimage.transform.resize(img, out_shape, order=1, mode='reflect') when no axis is reduced."""
    H, W = img.shape
    h, w = out_shape
    assert h >= H and w >= W
    img = img.astype(np.float64)
    out = np.zeros((h, w), np.float64)
    fr, fc = H / h, W / w
    for y in range(h):
        r = (y + 0.5) * fr - 0.5
        r0, r1 = int(np.floor(r)), int(np.ceil(r))
        dr = r - r0
        for x in range(w):
            c = (x + 0.5) * fc - 0.5
            c0, c1 = int(np.floor(c)), int(np.ceil(c))
            dc = c - c0
            tl = img[mirror(r0, H), mirror(c0, W)]
            tr = img[mirror(r0, H), mirror(c1, W)]
            bl = img[mirror(r1, H), mirror(c0, W)]
            br = img[mirror(r1, H), mirror(c1, W)]
            top = (1 - dc) * tl + dc * tr
            bottom = (1 - dc) * bl + dc * br
            out[y, x] = (1 - dr) * top + dr * bottom
    return out


def inter_area_box(img, out_shape):
    """cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA) for integer reduction factors: box means."""
    H, W = img.shape
    h, w = out_shape
    fy, fx = H // h, W // w
    assert fy * h == H and fx * w == W
    return img.astype(np.float32).reshape(h, fy, w, fx).sum(axis=(1, 3), dtype=np.float32) * np.float32(1.0 / (fy * fx))


def resize(img, out_shape):
    if out_shape[0] >= img.shape[0] and out_shape[1] >= img.shape[1]:
        return skimage_resize_bilinear(img, out_shape)
    return inter_area_box(img, out_shape)


def read_MiDaS_depth(disp, disp_rescale=10., h=None, w=None):
    disp = disp - disp.min()
    disp = cv2_blur3(disp / disp.max()) * disp.max()
    disp = (disp / disp.max()) * disp_rescale
    if h is not None and w is not None:
        disp = resize(disp / disp.max(), (h, w)) * disp.max()
    depth = 1. / np.maximum(disp, MIN_DISP)
    return depth


# ---- bilateral_filtering.py ------------------------------------------------------------------------

def vis_depth_discontinuity(depth, depth_threshold):
    disp = 1. / depth
    u_diff = (disp[1:, :] - disp[:-1, :])[:-1, 1:-1]
    b_diff = (disp[:-1, :] - disp[1:, :])[1:, 1:-1]
    l_diff = (disp[:, 1:] - disp[:, :-1])[1:-1, :-1]
    r_diff = (disp[:, :-1] - disp[:, 1:])[1:-1, 1:]
    u_over = (np.abs(u_diff) > depth_threshold).astype(np.float32)
    b_over = (np.abs(b_diff) > depth_threshold).astype(np.float32)
    l_over = (np.abs(l_diff) > depth_threshold).astype(np.float32)
    r_over = (np.abs(r_diff) > depth_threshold).astype(np.float32)
    u_over = np.pad(u_over, 1, mode='constant')
    b_over = np.pad(b_over, 1, mode='constant')
    l_over = np.pad(l_over, 1, mode='constant')
    r_over = np.pad(r_over, 1, mode='constant')
    return [u_over, b_over, l_over, r_over]


def rolling_window(a, window, strides):
    shape = [(a.shape[i] - w) // s + 1 for i, (w, s) in enumerate(zip(window, strides))] + list(window)
    _strides = [int(np.prod(a.shape[i + 1:])) * s * a.itemsize for i, s in enumerate(strides)] + list(a.strides)
    return np.lib.stride_tricks.as_strided(a, shape=shape, strides=_strides)


def bilateral_filter(depth, discontinuity_map, window_size):
    midpt = window_size // 2
    depth = depth[1:-1, 1:-1]
    depth = np.pad(depth, ((1, 1), (1, 1)), 'edge')
    pad_depth = np.pad(depth, (midpt, midpt), 'edge')
    discontinuity_map = discontinuity_map[1:-1, 1:-1]
    discontinuity_map = np.pad(discontinuity_map, ((1, 1), (1, 1)), 'edge')
    pad_discontinuity_map = np.pad(discontinuity_map, (midpt, midpt), 'edge')
    pad_discontinuity_hole = 1 - pad_discontinuity_map
    output = depth.copy()
    pad_depth_patches = rolling_window(pad_depth, [window_size, window_size], [1, 1])
    pad_discontinuity_patches = rolling_window(pad_discontinuity_map, [window_size, window_size], [1, 1])
    pad_discontinuity_hole_patches = rolling_window(pad_discontinuity_hole, [window_size, window_size], [1, 1])
    pH, pW = pad_depth_patches.shape[:2]
    for pi in range(pH):
        for pj in range(pW):
            if bool(pad_discontinuity_patches[pi, pj].any()) is False:
                continue
            discontinuity_holes = pad_discontinuity_hole_patches[pi, pj]
            depth_patch = pad_depth_patches[pi, pj]
            depth_order = depth_patch.ravel().argsort()
            patch_midpt = depth_patch[window_size // 2, window_size // 2]
            coef = discontinuity_holes.astype(np.float32)
            if coef.max() == 0:
                output[pi, pj] = patch_midpt
                continue
            coef = coef / (coef.sum())
            coef_order = coef.ravel()[depth_order]
            cum_coef = np.cumsum(coef_order)
            ind = np.digitize(0.5, cum_coef)
            output[pi, pj] = depth_patch.ravel()[depth_order][ind]
    return output


def sparse_bilateral_filtering(depth, filter_size, num_iter):
    save_depths = []
    vis_depth = depth.copy()
    for i in range(num_iter):
        window_size = filter_size[i]
        save_depths.append(vis_depth)
        u_over, b_over, l_over, r_over = vis_depth_discontinuity(vis_depth, DEPTH_THRESHOLD)
        discontinuity_map = (u_over + b_over + l_over + r_over).clip(0.0, 1.0)
        discontinuity_map[depth == 0] = 1
        vis_depth = bilateral_filter(vis_depth, discontinuity_map=discontinuity_map, window_size=window_size)
    return save_depths


# ---- synthetic inputs ------------------------------------------------------------------------------

def synthetic_disparity(H, W, seed):
    """Disparity with an unknown shift (negative values, as MiDaS output): a ramp, a steep band, two
    raised rectangles (steps), a far plateau at the minimum, and noise strong enough in one region to
    cross the discontinuity threshold."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    d = -0.4 + 0.012 * x + 0.006 * y
    d += np.where((x > 0.85 * W), 0.022 * (x - 0.85 * W), 0.0)
    d += np.where((y >= H // 4) & (y < H // 2) & (x >= W // 5) & (x < W // 2), 0.9, 0.0)
    d += np.where((y >= (2 * H) // 3) & (y < H - 2) & (x >= W // 2) & (x < (4 * W) // 5), 0.5, 0.0)
    d = np.where((y < H // 5) & (x < W // 4), -0.45, d)
    d += rng.normal(0.0, 0.01, size=(H, W))
    d += np.where((y >= (2 * H) // 3) & (x < W // 4), rng.normal(0.0, 0.05, size=(H, W)), 0.0)
    return d.astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for name, kind, H, W, h, w, num_iter, filter_size, seed in CASES:
        disp_in = synthetic_disparity(H, W, seed)
        if kind == "metric":
            stored = (np.float32(1.0) / (disp_in - disp_in.min() + np.float32(0.25))).astype(np.float32)
            disp = (np.float32(1.0) / stored).astype(np.float32)
        else:
            stored = disp_in
            disp = disp_in
        depth = read_MiDaS_depth(disp, disp_rescale=DISP_RESCALE, h=h, w=w)
        depths = sparse_bilateral_filtering(depth, filter_size, num_iter)
        final = depths[-1]
        changed = int(np.count_nonzero(final != depth))
        np.save(os.path.join(OUT, name + "_input.npy"), stored.astype(np.float32))
        np.save(os.path.join(OUT, name + "_prefilter.npy"), depth.astype(np.float32))
        np.save(os.path.join(OUT, name + "_depth.npy"), final.astype(np.float32))
        lines.append("%s %s %d %d %d %d %d %s" % (name, kind, H, W, h, w, num_iter, ",".join(map(str, filter_size))))
        print("%-7s %dx%d -> %dx%d: depth %.4g..%.4g, %d of %d pixels changed by the filter"
              % (name, W, H, w, h, depth.min(), depth.max(), changed, h * w))
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# name kind H W h w num_iter filter_size (tools/gen_depth_prep_golden.py)\n")
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
