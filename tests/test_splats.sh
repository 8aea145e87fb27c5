#!/usr/bin/env bash
# test_splats.sh - mesh --splats: the LDI as 3D Gaussians in the 3DGS PLY layout, read back by a
# reader written here from the layout's description (numpy, not the program's PLY code): one Gaussian
# per vertex of the dense PLY at exactly its position, colours back from the degree-0 harmonics, the
# identity rotation, finite discs facing the camera; then the centres, with the dense mesh's faces,
# rendered by the program give the dense mesh's own frame.
set -u
. tests/cli_lib.sh
if ! "$py" -c "import numpy" 2>/dev/null; then skipped "python3 without numpy"; finish; fi

run splats-written 0 "mesh:" -- mesh samples/scene.png --depth samples/scene_disp.png --longer-side 96 --no-border \
  --fill classic --device cpu -o "$tmp/dense.ply" --splats "$tmp/splats.ply"
run splats-bad-path 1 "splats.ply" -- mesh samples/scene.png --depth samples/scene_disp.png --longer-side 96 \
  --no-border --fill classic --device cpu -o "$tmp/d2.ply" --splats "$tmp/no/such/dir/splats.ply"
if [ ! -e "$tmp/d2.ply" ]; then ok splats-failure-leaves-no-mesh; else bad splats-failure-leaves-no-mesh; fi

if "$py" - "$tmp" <<'PY'; then ok splats-read-back; else bad splats-read-back; fi
import sys, numpy as np
t = sys.argv[1]

def header(data):
    end = data.index(b"end_header\n") + len(b"end_header\n")
    lines = data[:end].decode().splitlines()
    return lines, end

data = open(f"{t}/splats.ply", "rb").read()
lines, end = header(data)
assert lines[1] == "format binary_little_endian 1.0", lines[1]
n = int([l for l in lines if l.startswith("element vertex")][0].split()[2])
props = [l.split()[2] for l in lines if l.startswith("property float")]
want = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
        "rot_0", "rot_1", "rot_2", "rot_3"]
assert props == want, props
g = np.frombuffer(data, dtype=np.dtype([(p, "<f4") for p in props]), count=n, offset=end)
assert len(data) == end + n * 4 * len(props), "trailing or missing bytes"

dense = open(f"{t}/dense.ply", "rb").read()
dl, dend = header(dense)
nv = int([l for l in dl if l.startswith("element vertex")][0].split()[2])
nf = int([l for l in dl if l.startswith("element face")][0].split()[2])
v = np.frombuffer(dense, dtype=np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("r", "u1"), ("g", "u1"),
                                         ("b", "u1"), ("a", "u1")]), count=nv, offset=dend)
assert n == nv, (n, nv)
for k in "xyz":
    assert np.array_equal(g[k], v[k]), k
rgb = np.stack([g["f_dc_0"], g["f_dc_1"], g["f_dc_2"]], -1) * 0.28209479177387814 + 0.5
assert np.abs(rgb * 255 - np.stack([v["r"], v["g"], v["b"]], -1)).max() < 0.01
assert np.all(1 / (1 + np.exp(-g["opacity"])) > 0.98)
assert np.all(np.isfinite([g[f"scale_{k}"] for k in range(3)]))
assert np.all(g["scale_2"] < g["scale_0"]) and np.all(g["scale_2"] < g["scale_1"])
assert np.all(g["rot_0"] == 1) and not np.any([g["rot_1"], g["rot_2"], g["rot_3"]])
# The centres with the dense faces, as a binary PLY of our own making.
faces = dense[dend + nv * 16:]
assert len(faces) == nf * 13
out = bytearray(dense[:dend])
rec = np.zeros(nv, dtype=v.dtype)
for k in "xyz":
    rec[k] = g[k]
for k, c in zip("rgb", np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8).T):
    rec[k] = c
rec["a"] = v["a"]
open(f"{t}/centres.ply", "wb").write(bytes(out) + rec.tobytes() + faces)
PY
for m in dense centres; do
  "$bin" -q render "$tmp/$m.ply" -o "$tmp/r_$m" --pose 0.01,0,0.02 --format png --device cpu >/dev/null 2>&1
done
if cmp -s "$tmp/r_dense/dense_pose0.png" "$tmp/r_centres/centres_pose0.png"; then ok splat-centres-render-as-the-mesh
else bad "splat-centres-render-as-the-mesh: $(ls "$tmp"/r_*)"; fi
finish
