#!/usr/bin/python3
"""Writes the golden files for tests/test_resize_area.c: cv::resize(..., INTER_AREA) computed from
its definition with numpy in float64, independently of host/resize_area*.

Run from the project root:  /usr/bin/python3 tools/gen_resize_golden.py
Output: tests/data/resize_area/cases.txt (one line per case) and <case>.npy, float32 (R, dw, C):
the destination rows listed in cases.txt ("all" or comma-separated row indices; large cases keep
a sample of rows so every file stays small).

Inputs are not stored: both sides compute them from the same integer hash (pattern() here,
ra_pattern() in the test), values k / 16384 - 1 for k in 0..65535, exact in float32.

What is computed:
  * Reduction on both axes (dst <= src on each): exact pixel-overlap integration. Destination pixel
    d covers the source interval [d * sn / dn, (d + 1) * sn / dn); a source pixel s contributes the
    length of its overlap with that interval divided by the interval's length. Lengths are exact
    integers in units of 1 / dn pixel, so the weights are exact rationals. (OpenCV drops overlaps
    below 1e-3 pixel; with dn <= 1000, as here, no true overlap is that small.)
  * Enlargement on either axis: OpenCV's INTER_AREA falls back to a two-tap interpolation on BOTH
    axes (cv::hal::resize, "area_mode"): destination pixel d spans [d, d + 1) in destination
    units, source pixel s ends at (s + 1) * dn / sn there; with s = floor(d * sn / dn) the part of
    [d, d + 1) beyond that end, f = (d + 1) - (s + 1) * dn / sn (0 if negative, else its fraction),
    goes to s + 1 and 1 - f to s; indices past the last pixel are clamped to it.
"""
import os
import numpy as np

OUT = os.path.join("tests", "data", "resize_area")

# name, src h, src w, dst h, dst w, channels, seed, rows kept (None = all)
CASES = [
    ("box2", 48, 64, 24, 32, 1, 1, None),          # integer factor 2
    ("box3_rgb", 36, 48, 12, 16, 3, 2, None),      # integer factor 3, interleaved RGB
    ("box_3x2", 40, 30, 20, 10, 1, 3, None),       # integer factors 2 (y) and 3 (x)
    ("area_7to3", 7, 14, 3, 6, 1, 4, None),        # 7 -> 3 on both axes
    ("area_rgb", 30, 50, 13, 21, 3, 5, None),      # non-integer, interleaved RGB
    ("area_x_only", 48, 30, 48, 20, 2, 6, None),   # y unchanged, x by 1.5
    ("area_640to384", 480, 640, 288, 384, 1, 7, 24),
    ("area_1024to384", 1024, 768, 384, 288, 1, 8, 24),  # Tiefenrausch input size
    ("up2", 4, 4, 8, 8, 1, 9, None),
    ("up_3to7", 3, 5, 7, 11, 1, 10, None),
    ("up_8over3", 384, 288, 1024, 768, 1, 11, 16),  # columns depth -> image size
    ("mixed_hup", 20, 30, 45, 12, 1, 12, None),     # y enlarged, x reduced
    ("mixed_wup", 40, 9, 15, 20, 2, 13, None),      # y reduced, x enlarged
]


def pattern(h, w, c, seed):
    """(h, w, c) float32 test image from an integer hash (mirrored by ra_pattern in the test)."""
    y, x, ch = np.meshgrid(np.arange(h, dtype=np.uint64), np.arange(w, dtype=np.uint64),
                           np.arange(c, dtype=np.uint64), indexing="ij")
    m = np.uint64(0xFFFFFFFF)
    v = ((y * np.uint64(73856093)) ^ (x * np.uint64(19349663)) ^ (ch * np.uint64(83492791))
         ^ np.uint64(seed * 2654435761)) & m
    v ^= v >> np.uint64(13)
    v = (v * np.uint64(0x5BD1E995)) & m
    v ^= v >> np.uint64(15)
    return ((v & np.uint64(0xFFFF)).astype(np.float64) / 16384.0 - 1.0).astype(np.float32)


def overlap_weights(sn, dn):
    """(dn, sn) exact area weights for a reduction sn -> dn (dn <= sn)."""
    d = np.arange(dn, dtype=np.int64)[:, None]
    s = np.arange(sn, dtype=np.int64)[None, :]
    lo = np.maximum(d * sn, s * dn)
    hi = np.minimum((d + 1) * sn, (s + 1) * dn)
    return np.clip(hi - lo, 0, None).astype(np.float64) / sn


def two_tap_weights(sn, dn):
    """(dn, sn) weights of OpenCV's INTER_AREA enlargement rule."""
    inv = dn / sn
    scale = 1.0 / inv
    w = np.zeros((dn, sn))
    for d in range(dn):
        s = int(np.floor(d * scale))
        f = (d + 1) - (s + 1) * inv
        f = 0.0 if f <= 0 else f - np.floor(f)
        w[d, min(s, sn - 1)] += 1.0 - f
        w[d, min(s + 1, sn - 1)] += f
    return w


def resize(img, dh, dw):
    sh, sw, _ = img.shape
    if dh <= sh and dw <= sw:
        wy, wx = overlap_weights(sh, dh), overlap_weights(sw, dw)
    else:
        wy, wx = two_tap_weights(sh, dh), two_tap_weights(sw, dw)
    src = img.astype(np.float64)
    return np.stack([wy @ src[:, :, c] @ wx.T for c in range(src.shape[2])], axis=2)


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = ["# name src_h src_w dst_h dst_w channels seed rows (see tools/gen_resize_golden.py)"]
    for name, sh, sw, dh, dw, c, seed, keep in CASES:
        out = resize(pattern(sh, sw, c, seed), dh, dw)
        if keep is None:
            rows, text = np.arange(dh), "all"
        else:
            rows = np.unique(np.round(np.linspace(0, dh - 1, keep)).astype(np.int64))
            text = ",".join(str(r) for r in rows)
        np.save(os.path.join(OUT, name + ".npy"), out[rows].astype(np.float32))
        lines.append(f"{name} {sh} {sw} {dh} {dw} {c} {seed} {text}")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
