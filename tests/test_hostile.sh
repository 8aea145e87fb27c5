#!/usr/bin/env bash
# test_hostile.sh - hostile inputs (issue 18): headers claiming absurd sizes (refused on the header,
# before any allocation; the pixel limit --max-pixels), YAML bombs, nesting and duplicate keys,
# trajectories with NaN / infinity / too many poses, PLY faces past the vertices, weight blobs with
# overlapping tensors. Each: a message naming the file, a non-zero exit, no crash, nothing left.
. "$(dirname "$0")/cli_lib.sh"
src=${P3D_SOURCE_DIR:-.}
photo=$src/samples/scene.png disp=$src/samples/scene_disp.png
mesh=$src/tests/fuzz/fuzz_ply/ascii.ply   # a 2x2-pixel mesh made by tools/make_fuzz_seeds.py

# crash = killed by a signal (ASan and UBSan abort; the kernel's OOM killer) or a sanitizer report
nocrash() { # NAME
  if [ "$rc" -ge 128 ] || grep -Eq "Sanitizer|runtime error|Segmentation|Aborted" "$tmp/err"; then bad "$1: crashed (exit $rc): $(head -5 "$tmp/err")"; return 1; fi
}
# hostile NAME WANT_PATTERN FILE_NAMED OUTDIR -- ARGS...: exit 1..3, the pattern and the file's name in
# the output, no crash, OUTDIR absent or empty afterwards
hostile() {
  local name=$1 pat=$2 file=$3 out=$4
  shift 5
  timeout 60 "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  nocrash "$name" || return 1
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 4 ]; then bad "$name: exit $rc: $(cat "$tmp/err")"; return 1; fi
  if ! grep -Eq -- "$pat" "$tmp/err"; then bad "$name: no /$pat/ in: $(cat "$tmp/err")"; return 1; fi
  if ! grep -qF -- "$(basename "$file")" "$tmp/err"; then bad "$name: the message does not name $file: $(cat "$tmp/err")"; return 1; fi
  if [ -n "$out" ] && [ -n "$(find "$out" -mindepth 1 2>/dev/null)" ]; then bad "$name: left $(find "$out" -mindepth 1 | tr '\n' ' ')"; return 1; fi
  ok "$name (exit $rc)"
}

# ---- absurd sizes ----
"$py" - "$tmp" <<'PY'
import struct, sys, zlib, json
d = sys.argv[1]
def chunk(t, b): return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
def png(w, h, bits=8, colour=2):
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
open(d + "/huge.png", "wb").write(png(100000, 100000))
open(d + "/big.png", "wb").write(png(20000, 20000))          # sides fine, 400 Mpx > the default limit
open(d + "/bigdepth.png", "wb").write(png(20000, 20000, 16, 0))
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648, 2147483648), }"
hdr += " " * (118 - len(hdr)) + "\n"
open(d + "/huge.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + b"\0" * 64)
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (20000, 20000), }"
hdr += " " * (118 - len(hdr)) + "\n"
open(d + "/big.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + b"\0" * 64)
open(d + "/huge.pfm", "wb").write(b"Pf\n60000 60000\n-1.0\n" + b"\0" * 64)
open(d + "/huge.ply", "wb").write(b"ply\nformat binary_little_endian 1.0\ncomment H 2\ncomment W 2\n"
    b"element vertex 1000000000000\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\n"
    b"property uchar green\nproperty uchar blue\nproperty uchar alpha\nelement face 1\n"
    b"property list uchar int vertex_index\nend_header\n" + b"\0" * 64)
open(d + "/pastfaces.ply", "wb").write(b"ply\nformat ascii 1.0\ncomment H 2\ncomment W 2\nelement vertex 3\n"
    b"property float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\n"
    b"property uchar blue\nproperty uchar alpha\nelement face 1\nproperty list uchar int vertex_index\nend_header\n"
    b"0 0 -1 1 2 3 1\n1 0 -1 1 2 3 1\n0 1 -1 1 2 3 1\n3 0 1 7\n")
j = b'{"asset":{"version":"2.0"},"meshes":[]}'
j += b" " * (-len(j) % 4)
glb = struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(j) + 8 + 16) + struct.pack("<I4s", len(j), b"JSON") + j
glb += struct.pack("<I4s", 0x7fffffff, b"BIN\0") + b"\0" * 16                   # BIN claims 2 GB
open(d + "/chunk.glb", "wb").write(glb)
glb2 = struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(j)) + struct.pack("<I4s", 0xfffffff0, b"JSON") + j  # JSON past the end
open(d + "/json.glb", "wb").write(glb2)
PY
cp "$src/tests/data/example.p3dw" "$tmp/overlap.p3dw"
"$py" - "$tmp/overlap.p3dw" <<'PY'
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
to = struct.unpack_from("<Q", b, 32)[0]
nt = struct.unpack_from("<I", b, 20)[0]
q, recs = to, []
for i in range(nt):
    k, dt, nd = struct.unpack_from("<HBB", b, q)
    q += 4 + k + 8 * nd
    recs.append(q + 8)          # position of the u64 offset
    q += 24
first_off, first_n = struct.unpack_from("<QQ", b, recs[0])
struct.pack_into("<Q", b, recs[1], (first_off + first_n - 1) // 64 * 64)  # inside the first tensor, aligned
open(p, "wb").write(bytes(b))
PY

hostile "PNG 100000x100000" "side larger|limit" huge.png "$tmp/h1" -- run "$tmp/huge.png" --depth "$disp" -o "$tmp/h1" --mesh-only
hostile "PNG 20000x20000 over the default limit" "max-pixels" big.png "$tmp/h2" -- run "$tmp/big.png" --depth "$disp" -o "$tmp/h2" --mesh-only
hostile "16-bit depth PNG 20000x20000" "max-pixels" bigdepth.png "$tmp/h3" -- run "$photo" --depth "$tmp/bigdepth.png" -o "$tmp/h3" --mesh-only
hostile ".npy (2^31, 2^31)" "absurd|large|limit" huge.npy "$tmp/h4" -- run "$photo" --depth "$tmp/huge.npy" -o "$tmp/h4" --mesh-only
hostile ".npy (20000, 20000) over the limit" "max-pixels|truncated" big.npy "$tmp/h5" -- run "$photo" --depth "$tmp/big.npy" -o "$tmp/h5" --mesh-only
hostile "PFM 60000x60000" "max-pixels|truncated" huge.pfm "$tmp/h6" -- run "$photo" --depth "$tmp/huge.pfm" -o "$tmp/h6" --mesh-only
hostile "PLY with 10^12 vertices" "vert" huge.ply "$tmp/h7" -- render "$tmp/huge.ply" -o "$tmp/h7" --format png --pose 0,0,0
hostile "PLY face past the vertex count" "range|index" pastfaces.ply "$tmp/h8" -- render "$tmp/pastfaces.ply" -o "$tmp/h8" --format png --pose 0,0,0
hostile "GLB BIN chunk longer than the file" "chunk" chunk.glb "$tmp/h9" -- render "$tmp/chunk.glb" -o "$tmp/h9" --format png --pose 0,0,0
hostile "GLB JSON chunk longer than the file" "chunk" json.glb "$tmp/h10" -- render "$tmp/json.glb" -o "$tmp/h10" --format png --pose 0,0,0
"$py" -c "
import struct
h = \"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 8, 8), }\"
h += ' ' * (118 - len(h)) + '\\n'
open('$tmp/x.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(h)) + h.encode() + b'\\0' * 256)
h = h.replace('(1, 1, 8, 8)', '(1, 3, 8, 8)')
open('$tmp/x3.npy', 'wb').write(b'\\x93NUMPY\\x01\\x00' + struct.pack('<H', len(h)) + h.encode() + b'\\0' * 768)"
hostile "weights with overlapping tensors" "overlap" overlap.p3dw "" -- net --model edge --weights "$tmp/overlap.p3dw" \
  --input "$tmp/x.npy" --input "$tmp/x.npy" --input "$tmp/x3.npy" --input "$tmp/x.npy" --input "$tmp/x.npy" --output "$tmp/h11.npy"
[ -e "$tmp/h11.npy" ] && bad "weights: an output was written"

# ---- the pixel limit is configurable ----
hostile "--max-pixels 1000 refuses the 640x448 sample" "286720 pixels.*1000 \(--max-pixels\)" scene.png "$tmp/h12" -- \
  --max-pixels 1000 run "$photo" --depth "$disp" -o "$tmp/h12" --mesh-only
run "run --max-pixels 640x448 takes the sample" 0 "1 done" -- run "$photo" --depth "$disp" -o "$tmp/h13" --mesh-only --max-pixels 640x448
run "--max-pixels nonsense is a usage error" 2 "max-pixels 'lots'" -- --max-pixels lots info
run "the limit is in --help" 0 "max-pixels" -- --help
run "... and in run --help" 0 "max-pixels" -- run --help

# ---- YAML ----
{
  echo 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
  prev=a
  for n in b c d e f g h i; do
    printf '%s: &%s [' "$n" "$n"; for _ in 1 2 3 4 5 6 7 8; do printf '*%s,' "$prev"; done; printf '*%s]\n' "$prev"; prev=$n
  done
} >"$tmp/laughs.yml"
printf 'filter_size: &x [1, 2]\nx_shift_range: *x\ncrop_border: &c [*x, *x]\n' >"$tmp/alias_nested.yml"
"$py" -c "print('fps: ' + '[' * 100000 + ']' * 100000)" >"$tmp/deep.yml"
"$py" -c "print('fps: ' + '{a: ' * 50000 + '1' + '}' * 50000)" >"$tmp/deepmap.yml"
printf 'fps: 30\nnum_frames: 10\nfps: 40\n' >"$tmp/dup.yml"
printf '{fps: 30, fps: 40}\n' >"$tmp/dupflow.yml"
hostile "YAML billion laughs" "laughs.yml" laughs.yml "" -- run "$photo" --config "$tmp/laughs.yml" --print-config
hostile "YAML alias of a list inside a list" "nested|list" alias_nested.yml "" -- run "$photo" --config "$tmp/alias_nested.yml" --print-config
hostile "YAML 100000 nested lists" "deep.yml" deep.yml "" -- run "$photo" --config "$tmp/deep.yml" --print-config
hostile "YAML 50000 nested mappings" "deepmap.yml" deepmap.yml "" -- run "$photo" --config "$tmp/deepmap.yml" --print-config
hostile "YAML duplicate key" "given twice" dup.yml "" -- run "$photo" --config "$tmp/dup.yml" --print-config
hostile "YAML duplicate key (flow)" "given twice" dupflow.yml "" -- run "$photo" --config "$tmp/dupflow.yml" --print-config

# ---- trajectories ----
printf '0 0 0\nnan 0 0\n' >"$tmp/nan.txt"
printf '0 0 0\n0 inf 0\n' >"$tmp/inf.txt"
printf '0 0 0 0 0 -1 nan' >"$tmp/nanfov.txt"
printf '[{"position": [0, 0, 1e999]}]' >"$tmp/inf.json"
printf '[{"position": [0, 0, 0], "rotation": [nan, 0, 0, 0, 1, 0, 0, 0, 1]}]' >"$tmp/nanrot.json"
"$py" -c "
import sys
sys.stdout.write('0 0 0\n' * 1000001)" >"$tmp/million.txt"
"$py" -c "
import sys
sys.stdout.write('[' + ','.join(['{\"position\":[0,0,0]}'] * 1000001) + ']')" >"$tmp/million.json"
for f in nan.txt inf.txt nanfov.txt inf.json nanrot.json; do
  hostile "trajectory $f" "$f" "$f" "$tmp/t_$f" -- render "$mesh" --traj "$tmp/$f" -o "$tmp/t_$f" --format png
done
for f in million.txt million.json; do
  hostile "trajectory $f (1000001 poses)" "1000000|too many" "$f" "$tmp/t_$f" -- render "$mesh" --traj "$tmp/$f" -o "$tmp/t_$f" --format png
done
finish
