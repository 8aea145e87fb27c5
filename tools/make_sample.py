#!/usr/bin/env python3
"""make_sample.py - generates samples/: a procedural RGB-D scene made by this project.

A textured back wall, a tiled floor receding to it, a shaded striped sphere standing on the floor and
a near column on the left: large disparity jumps at the sphere and column silhouettes, so a moving
camera shows parallax and disocclusions that the inpainting must fill.

Writes (deterministic, numpy + zlib only):
  samples/scene.png        RGB 8-bit, 640 x 448
  samples/scene_disp.png   16-bit grey disparity (larger = nearer), v / 65535 * 2.0 = disparity
                           in units of 1/metre for a camera with focal length 640 px
Usage: make_sample.py [OUTDIR]   (default: samples/ next to tools/)
"""
import os
import struct
import sys
import zlib

import numpy as np

W, H = 640, 448
F = 640.0  # focal length in pixels (the reference's convention: the longer side)
CX, CY = W / 2, H / 2


def write_png(path, arr):
    """Minimal PNG writer: uint8 HxWx3 (RGB) or uint16 HxW (grey), no filtering choice beyond 'up'."""
    if arr.dtype == np.uint8 and arr.ndim == 3:
        color, depth, raw = 2, 8, arr
    elif arr.dtype == np.uint16 and arr.ndim == 2:
        color, depth, raw = 0, 16, arr.astype(">u2")
    else:
        raise ValueError("unsupported array for PNG")
    h = raw.shape[0]
    rows = raw.reshape(h, -1).view(np.uint8)
    # PNG filter type 2 ('up'): each byte minus the byte above; compresses smooth images well.
    up = np.vstack([rows[:1] * 0, rows[:-1]])
    filt = ((rows.astype(np.int16) - up) & 0xFF).astype(np.uint8)
    data = b"".join(b"\x02" + filt[y].tobytes() for y in range(h))

    def chunk(tag, payload):
        return struct.pack(">I", len(payload)) + tag + payload + struct.pack(">I", zlib.crc32(tag + payload) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", raw.shape[1], h, depth, color, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b"")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(png)
    os.replace(tmp, path)


def rays():
    """Unit-depth ray directions (x/z, y/z) per pixel centre; camera looks along +z, y down."""
    u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    return (u - CX) / F, (v - CY) / F


def smooth_noise(shape, scale, rng):
    """Value noise: random grid bilinearly upsampled (deterministic with rng)."""
    gh, gw = shape[0] // scale + 2, shape[1] // scale + 2
    g = rng.random((gh, gw))
    y = np.arange(shape[0]) / scale
    x = np.arange(shape[1]) / scale
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    a = g[y0][:, x0]
    b = g[y0][:, x0 + 1]
    c = g[y0 + 1][:, x0]
    d = g[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def main():
    np.seterr(invalid="ignore", divide="ignore")  # rays that miss a surface carry inf/nan until masked
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261121)
    rx, ry = rays()
    depth = np.full((H, W), np.inf)
    rgb = np.zeros((H, W, 3))

    # Back wall at z = 9 m: bricks (staggered rows), mortar lines, colour variation per brick.
    zw = 9.0
    X, Y = rx * zw, ry * zw
    bh, bw = 0.35, 0.8
    row = np.floor(Y / bh)
    col = np.floor(X / bw + 0.5 * (row % 2))
    tint = np.sin(row * 12.9898 + col * 78.233) * 43758.5453 % 1.0
    mortar = (np.abs(Y / bh - np.round(Y / bh)) < 0.06) | (np.abs((X / bw + 0.5 * (row % 2)) - np.round(X / bw + 0.5 * (row % 2))) < 0.03)
    brick = np.stack([0.55 + 0.25 * tint, 0.25 + 0.12 * tint, 0.18 + 0.05 * tint], -1)
    wall = np.where(mortar[..., None], np.array([0.78, 0.76, 0.70]), brick)
    depth[:] = zw
    rgb[:] = wall

    # Floor plane y = 1.4 m (camera height), tiled checker that recedes to the wall.
    floor_y = 1.4
    with np.errstate(divide="ignore"):
        zf = np.where(ry > 1e-6, floor_y / ry, np.inf)
    on_floor = zf < depth
    fx, fz = rx * zf, zf
    checker = ((np.floor(fx / 0.6) + np.floor(fz / 0.6)) % 2)[..., None]
    floor_col = np.where(checker > 0, np.array([0.85, 0.82, 0.74]), np.array([0.30, 0.34, 0.42]))
    depth = np.where(on_floor, zf, depth)
    rgb = np.where(on_floor[..., None], floor_col, rgb)

    # Sphere radius 0.9 m centred at (0.7, 0.5, 4.5), resting on the floor, striped and Lambert-shaded.
    c = np.array([0.7, floor_y - 0.9, 4.5])
    r = 0.9
    d = np.stack([rx, ry, np.ones_like(rx)], -1)
    dn = d / np.linalg.norm(d, axis=-1, keepdims=True)
    b = (dn @ c)
    disc = b * b - (c @ c - r * r)
    hit = disc > 0
    t = np.where(hit, b - np.sqrt(np.maximum(disc, 0)), np.inf)
    zs = t * dn[..., 2]
    on_sphere = hit & (zs < depth)
    p = dn * t[..., None]
    nrm = (p - c) / r
    light = np.array([-0.5, -0.7, -0.5])
    light /= np.linalg.norm(light)
    shade = 0.3 + 0.7 * np.clip(nrm @ light, 0, 1)
    lat = np.arctan2(nrm[..., 1], np.hypot(nrm[..., 0], nrm[..., 2]))
    stripes = (np.floor(lat / 0.26) % 2)[..., None]
    sph_col = np.where(stripes > 0, np.array([0.95, 0.75, 0.15]), np.array([0.15, 0.45, 0.85])) * shade[..., None]
    depth = np.where(on_sphere, zs, depth)
    rgb = np.where(on_sphere[..., None], sph_col, rgb)

    # Near column on the left: a vertical box face at z = 2.2 m from x = -1.0 to -0.45 m, wood grain.
    zc = 2.2
    xc = rx * zc
    on_col = (xc > -1.0) & (xc < -0.45) & (zc < depth)
    grain = 0.5 + 0.5 * np.sin(xc * 60 + 6 * smooth_noise((H, W), 24, rng))
    col_col = np.stack([0.45 + 0.2 * grain, 0.28 + 0.12 * grain, 0.12 + 0.05 * grain], -1)
    depth = np.where(on_col, zc, depth)
    rgb = np.where(on_col[..., None], col_col, rgb)

    # A little sensor-like texture so patches are not perfectly flat (deterministic, mild).
    rgb = rgb * (0.94 + 0.12 * smooth_noise((H, W), 3, rng))[..., None]
    img = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)
    disp = 1.0 / depth
    disp16 = np.clip(np.round(disp / 2.0 * 65535), 1, 65535).astype(np.uint16)
    write_png(os.path.join(out, "scene.png"), img)
    write_png(os.path.join(out, "scene_disp.png"), disp16)
    print(f"wrote {out}/scene.png and scene_disp.png ({W}x{H}); disparity {disp.min():.3f}..{disp.max():.3f} 1/m")


if __name__ == "__main__":
    main()
