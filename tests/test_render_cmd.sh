#!/usr/bin/env bash
# test_render_cmd.sh - `photo3d-gpu render` on a small mesh in the reference's ASCII PLY format: the four
# preset videos (names, one line each), PNG frame sequences, stereo, stills at poses, trajectory files;
# and the bad-input matrix (missing / corrupt mesh, bad trajectory file, bad options) with exit codes,
# messages naming the file and no output left behind. The videos' frame counts, sizes and rates are
# checked by decoding them in test_video.c.
set -u
. tests/cli_lib.sh

# A 64x48 grid, fx = 64 (hFov = 2 atan(0.5)), a near square in front of a slanted background.
$py - "$tmp/grid.ply" <<'PY'
import sys, math
w, h, f = 64, 48, 64.0
v, faces = [], []
for y in range(h):
    for x in range(w):
        near = 20 <= x < 44 and 14 <= y < 34
        z = 1.5 if near else 3.0 + 0.01 * x
        X, Y = z * (x + 0.5 - w / 2) / f, z * (y + 0.5 - h / 2) / f
        v.append(f"{X} {Y} {z} {4 * x} {5 * y} {255 if near else 60} 1")
for y in range(h - 1):
    for x in range(w - 1):
        a, b, c, d = y * w + x, y * w + x + 1, (y + 1) * w + x, (y + 1) * w + x + 1
        faces += [f"3 {a} {b} {c}", f"3 {b} {d} {c}"]
hdr = ["ply", "format ascii 1.0", f"comment H {h}", f"comment W {w}", f"comment hFov {2 * math.atan(0.5)}",
       f"comment vFov {2 * math.atan(h / 2 / f)}", f"element vertex {len(v)}", "property float x", "property float y",
       "property float z", "property uchar red", "property uchar green", "property uchar blue", "property uchar alpha",
       f"element face {len(faces)}", "property list uchar int vertex_index", "end_header"]
open(sys.argv[1], "w").write("\n".join(hdr + v + faces) + "\n")
PY

pngsize() { $py -c 'import struct,sys; d=open(sys.argv[1],"rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$1"; }

run help 0 "NAME_dolly-zoom-in.mp4" -- render --help

# the four presets: one video each, named as the reference's
run presets 0 "grid_swing.mp4: 6 frames 64x48 at 40 fps" -- render "$tmp/grid.ply" -o "$tmp/v" --frames 6 --device cpu
for t in dolly-zoom-in zoom-in circle swing; do
  if [ -s "$tmp/v/grid_$t.mp4" ]; then ok "video-$t"; else bad "video-$t: no $tmp/v/grid_$t.mp4"; fi
done
if ls "$tmp/v" | grep -q tmp; then bad no-temporary-files; else ok no-temporary-files; fi

# PNG frames, a custom size, a single preset, a custom name
run png-frames 0 "5 PNG frames 32x24" -- render "$tmp/grid.ply" -o "$tmp/p" --traj circle --frames 5 --format png --size 32x24 --name cam
n=$(ls "$tmp/p/cam_circle" | grep -c '^frame_0000[0-4]\.png$')
if [ "$n" = 5 ]; then ok png-count; else bad "png-count: $n"; fi
if [ "$(pngsize "$tmp/p/cam_circle/frame_00004.png")" = 32x24 ]; then ok png-size; else bad png-size; fi

# stereo: both eyes side by side, and the two halves differ (parallax)
run stereo 0 "3 PNG frames 128x48" -- render "$tmp/grid.ply" -o "$tmp/st" --traj zoom-in --frames 3 --format png --stereo --baseline 0.1
if $py - "$tmp/st/grid_zoom-in/frame_00001.png" <<'PY'
import sys, zlib, struct, numpy as np
d = open(sys.argv[1], "rb").read()
w, h = struct.unpack(">II", d[16:24])
idat, i = b"", 8
while i < len(d):
    n, = struct.unpack(">I", d[i:i + 4]); t = d[i + 4:i + 8]
    if t == b"IDAT": idat += d[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(idat)
rows, prev, bpp = [], np.zeros(w * 3, np.int32), 3
for y in range(h):
    ft, line = raw[y * (w * 3 + 1)], np.frombuffer(raw[y * (w * 3 + 1) + 1:(y + 1) * (w * 3 + 1)], np.uint8).astype(np.int32)
    out = np.zeros(w * 3, np.int32)
    for x in range(w * 3):
        a = out[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        p = a + b - c; pr = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (b if abs(p - b) <= abs(p - c) else c)
        out[x] = (line[x] + [0, a, b, (a + b) // 2, pr][ft]) & 255
    rows.append(out); prev = out
img = np.array(rows).reshape(h, w, 3)
left, right = img[:, :w // 2], img[:, w // 2:]
assert (left != right).any(), "the eyes see the same picture"
PY
then ok stereo-parallax; else bad stereo-parallax; fi

# stills at poses, and a trajectory file (text) and (JSON)
run poses 0 "grid_pose1.png: pose 0.05,0,0.1,0,0,1,60" -- render "$tmp/grid.ply" -o "$tmp/ps" --pose 0,0,0 --pose 0.05,0,0.1,0,0,1,60
if [ "$(pngsize "$tmp/ps/grid_pose0.png")" = 64x48 ] && [ ! -e "$tmp/ps/grid_circle.mp4" ]; then ok poses-only; else bad poses-only; fi
printf '# x y z\n0 0 0\n0.01 0 0\n0.02 0 0.05 0 0 1 50\n' >"$tmp/slide.txt"
run traj-text 0 "grid_slide/: 3 PNG frames" -- render "$tmp/grid.ply" -o "$tmp/tf" --traj "$tmp/slide.txt" --format png
printf '{"fps": 25, "poses": [{"position": [0, 0, 0]}, {"position": [0, 0, 0.1], "fov": 40}]}' >"$tmp/fly.json"
run traj-json 0 "grid_fly.mp4: 2 frames 64x48 at 25 fps" -- render "$tmp/grid.ply" -o "$tmp/tf" --traj "$tmp/fly.json"

# bad inputs
run no-mesh 2 "no MESH given" -- render -o "$tmp/x"
run missing-mesh 1 "nothere.ply" -- render "$tmp/nothere.ply" -o "$tmp/x"
head -c 700 "$tmp/grid.ply" >"$tmp/cut.ply"
run corrupt-mesh 1 "cut.ply" -- render "$tmp/cut.ply" -o "$tmp/x"
printf 'not a mesh at all' >"$tmp/junk.ply"
run junk-mesh 1 "junk.ply" -- render "$tmp/junk.ply" -o "$tmp/x"
printf '0 0 0\n0 0\n' >"$tmp/bad.txt"
run bad-traj-file 1 "bad.txt:2: expected 3" -- render "$tmp/grid.ply" -o "$tmp/bt" --traj "$tmp/bad.txt"
run missing-traj-file 1 "nofile.txt" -- render "$tmp/grid.ply" -o "$tmp/bt" --traj "$tmp/nofile.txt"
if [ -e "$tmp/bt/grid_bad.mp4" ] || ls "$tmp/bt" 2>/dev/null | grep -q tmp; then bad bad-traj-no-output; else ok bad-traj-no-output; fi
run unknown-option 2 "unknown option '--wobble'" -- render "$tmp/grid.ply" --wobble
run bad-size 2 "--size '64x': expected WxH" -- render "$tmp/grid.ply" --size 64x
run odd-size-mp4 2 "MP4 \(4:2:0\) needs even sizes" -- render "$tmp/grid.ply" --size 63x48
run bad-ssaa 2 "--ssaa '9': expected an integer in 1..4" -- render "$tmp/grid.ply" --ssaa 9
run bad-pose 2 "--pose '1,2': expected 3" -- render "$tmp/grid.ply" --pose 1,2
run bad-format 2 "--format 'gif': expected mp4 or png" -- render "$tmp/grid.ply" --format gif
run bad-encoder 1 "no no_such_enc encoder" -- render "$tmp/grid.ply" -o "$tmp/be" --traj circle --frames 2 --encoder no_such_enc
finish
