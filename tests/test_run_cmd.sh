#!/usr/bin/env bash
# test_run_cmd.sh - `photo3d-gpu run` as a user meets it: the bad-input matrix (messages and exit codes),
# configuration files and overrides, --print-config, sharding and --skip-existing resume. Photos are
# small copies of the project's sample so each run takes seconds.
. "$(dirname "$0")/cli_lib.sh"
src=${P3D_SOURCE_DIR:-.}
img=$src/samples/scene.png
disp=$src/samples/scene_disp.png
fast=(--device cpu --fill classic --set longer_side_len=96 --frames 4 -q)

# --- usage errors: exit 2 ---
run "no input" 2 "no INPUT" -- run
run "unknown option" 2 "unknown option .--bogus" -- run "$img" --bogus
run "bad --set key" 2 "no_such_key" -- run "$img" --set no_such_key=1
run "bad --set value" 2 "num_frames" -- run "$img" --set num_frames=abc
run "bad shard" 2 "shard" -- run "$img" --shard 3/3
printf 'fps: 30\nbogus_key: 1\n' >"$tmp/bad.yml"
run "unknown config key" 2 "bogus_key.*bad.yml:2|bad.yml:2.*bogus_key" -- run "$img" --config "$tmp/bad.yml"
printf 'fps: [1, 2\n' >"$tmp/broken.yml"
run "malformed YAML" 2 "broken.yml" -- run "$img" --config "$tmp/broken.yml"

# --- configuration ---
printf 'fps: 30\nnum_frames: 12\nlonger_side_len: 640\n' >"$tmp/good.yml"
run "print-config" 0 "fps: 30" -- run --config "$tmp/good.yml" --set num_frames=7 --print-config
grep -q "num_frames: 7" "$tmp/out" && ok "--set overrides the file" || bad "--set overrides the file: $(cat "$tmp/out")"
"$bin" run --config "$tmp/good.yml" --print-config >"$tmp/eff.yml" 2>/dev/null
run "print-config reads back" 0 "fps: 30" -- run --config "$tmp/eff.yml" --print-config

# --- bad inputs: reported, the others go on, exit 3 ---
mkdir -p "$tmp/in"
cp "$img" "$tmp/in/good.png"
cp "$disp" "$tmp/depth_good.png"
head -c 3000 "$img" >"$tmp/in/truncated.png"
echo "not an image" >"$tmp/in/text.jpg"
mkdir -p "$tmp/dmaps"
cp "$disp" "$tmp/dmaps/good.png"
cp "$disp" "$tmp/dmaps/truncated.png"
cp "$disp" "$tmp/dmaps/text.png"
run "mixed folder" 3 "truncated" -- run "$tmp/in" --depth-dir "$tmp/dmaps" -o "$tmp/o1" --mesh-only "${fast[@]}"
grep -q "text" "$tmp/err" && ok "mixed folder names every bad photo" || bad "mixed folder: $(cat "$tmp/err")"
[ -f "$tmp/o1/mesh/good.ply" ] && ok "the good photo is done" || bad "mixed folder: no mesh for the good photo"
[ ! -e "$tmp/o1/mesh/truncated.ply" ] && ok "no output for a bad photo" || bad "mixed folder: output for a bad photo"
leftovers=$(find "$tmp/o1" -name '*.tmp*' | wc -l)
[ "$leftovers" -eq 0 ] && ok "no temporary files left" || bad "temporary files left: $leftovers"
run "missing photo" 3 "nope.png" -- run "$tmp/nope.png" -o "$tmp/o2" --mesh-only "${fast[@]}"
# a depth map of the wrong aspect
"$py" - "$tmp/wrong.npy" <<'PY'
import numpy as np, sys
np.save(sys.argv[1], np.ones((50, 50), np.float32))
PY
run "depth of the wrong size" 3 "aspect" -- run "$img" --depth "$tmp/wrong.npy" -o "$tmp/o3" --mesh-only "${fast[@]}"
run "missing depth file" 2 "missing.npy" -- run "$img" --depth "$tmp/missing.npy" -o "$tmp/o4" --mesh-only "${fast[@]}"
# an output folder that cannot be written
if [ "$(id -u)" -ne 0 ]; then
  mkdir -p "$tmp/ro" && chmod 555 "$tmp/ro"
  run "unwritable output" 1 "ro" -- run "$img" --depth "$disp" -o "$tmp/ro/x" --mesh-only "${fast[@]}"
else
  touch "$tmp/afile"
  run "unwritable output" 1 "afile" -- run "$img" --depth "$disp" -o "$tmp/afile/x" --mesh-only "${fast[@]}"
fi
# a truncated model blob: the learned fill is asked for and its weights are corrupt
mkdir -p "$tmp/models"
for m in edge depth color; do head -c 100 "$src/tests/data/example.p3dw" >"$tmp/models/$m-model.p3dw"; done
run "truncated model blob" 1 "p3dw" -- run "$img" --depth "$disp" -o "$tmp/o5" --model-dir "$tmp/models" --device cpu \
  --fill learned --set longer_side_len=96 --mesh-only -q
run "missing inpainting weights with --fill learned" 1 "edge-model.p3dw" -- run "$img" --depth "$disp" -o "$tmp/o6" \
  --model-dir "$tmp/nomodels" --device cpu --fill learned --set longer_side_len=96 --mesh-only -q

# --- sharding: every photo in exactly one shard; --skip-existing resumes ---
mkdir -p "$tmp/many" "$tmp/many_d"
for i in 0 1 2 3 4 5 6; do cp "$img" "$tmp/many/p$i.png"; cp "$disp" "$tmp/many_d/p$i.png"; done
for k in 0 1 2; do
  run "shard $k/3" 0 "" -- run "$tmp/many" --depth-dir "$tmp/many_d" -o "$tmp/sh" --shard $k/3 --mesh-only "${fast[@]}"
done
n=$(ls "$tmp/sh/mesh" | wc -l)
[ "$n" -eq 7 ] && ok "3 shards made all 7 meshes" || bad "3 shards made $n meshes, wanted 7"
before=$(stat -c %Y "$tmp/sh/mesh/p0.ply")
sleep 1
run "skip-existing" 0 "skipping 7" -- run "$tmp/many" --depth-dir "$tmp/many_d" -o "$tmp/sh" --skip-existing --mesh-only \
  --device cpu --fill classic --set longer_side_len=96
[ "$(stat -c %Y "$tmp/sh/mesh/p0.ply")" = "$before" ] && ok "skip-existing leaves outputs alone" || bad "skip-existing rewrote p0"
rm "$tmp/sh/mesh/p3.ply"
run "resume one" 0 "skipping 6" -- run "$tmp/many" --depth-dir "$tmp/many_d" -o "$tmp/sh" --skip-existing --mesh-only \
  --device cpu --fill classic --set longer_side_len=96
[ -f "$tmp/sh/mesh/p3.ply" ] && ok "resume made the missing mesh" || bad "resume: p3.ply missing"

# --- several workers (one per device; two CPU workers here): same outputs as one worker ---
run "two workers" 0 "" -- run "$tmp/many" --depth-dir "$tmp/many_d" -o "$tmp/w2" --devices cpu,cpu --mesh-only \
  --fill classic --set longer_side_len=96 -q
same=1
for f in "$tmp/sh/mesh/"*.ply; do cmp -s "$f" "$tmp/w2/mesh/$(basename "$f")" || same=0; done
[ "$same" -eq 1 ] && ok "two workers write the same meshes as one" || bad "two workers: meshes differ from one worker's"

# --- --splats and --web: OUTDIR/splats/NAME.ply and OUTDIR/web/NAME.html beside the mesh ---
run "splats" 0 "" -- run "$img" --depth "$disp" -o "$tmp/sp" --mesh-only --splats "${fast[@]}"
if [ -f "$tmp/sp/splats/scene.ply" ] && [ -f "$tmp/sp/mesh/scene.ply" ]; then
  nv=$(grep -a -m1 "^element vertex" "$tmp/sp/mesh/scene.ply")
  ns=$(grep -a -m1 "^element vertex" "$tmp/sp/splats/scene.ply")
  props=$(grep -a "^property float" "$tmp/sp/splats/scene.ply" | awk '{printf "%s ", $3}')
  [ "$nv" = "$ns" ] && ok "splats: one Gaussian per vertex of the dense mesh ($ns)" || bad "splats: '$ns' vs mesh '$nv'"
  [ "$props" = "x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2 rot_0 rot_1 rot_2 rot_3 " ] \
    && ok "splats: the 3DGS layout" || bad "splats: properties '$props'"
else
  bad "splats: splats/scene.ply or mesh/scene.ply missing: $(find "$tmp/sp" -type f)"
fi
[ -z "$(find "$tmp/sp" -name '*.tmp*')" ] && ok "splats: no temporary file left" || bad "splats: temporary files left"
run "splats skip-existing" 0 "skipping 1" -- run "$img" --depth "$disp" -o "$tmp/sp" --mesh-only --splats --skip-existing \
  --device cpu --fill classic --set longer_side_len=96
rm "$tmp/sp/splats/scene.ply"
run "splats resume" 0 "" -- run "$img" --depth "$disp" -o "$tmp/sp" --mesh-only --splats --skip-existing "${fast[@]}"
[ -f "$tmp/sp/splats/scene.ply" ] && ok "splats: resume writes the missing splats" || bad "splats: resume did not write them"
# Without three.js the page fails the photo, naming the missing file, and the photo leaves nothing.
P3D_THREE_DIR="$tmp/no-three" run "web without three.js" 3 "no-three/three.min.js.*libjs-three" -- \
  run "$img" --depth "$disp" -o "$tmp/nw" --mesh-only --web --splats "${fast[@]}"
[ -z "$(find "$tmp/nw" -type f 2>/dev/null)" ] && ok "web failure leaves no file" || bad "web failure left: $(find "$tmp/nw" -type f)"
if [ -f /usr/share/javascript/three/three.min.js ]; then
  run "web" 0 "" -- run "$img" --depth "$disp" -o "$tmp/wb" --mesh-only --web "${fast[@]}"
  if grep -q "p3d-glb" "$tmp/wb/web/scene.html" 2>/dev/null && grep -q '"name":"circle"' "$tmp/wb/web/scene.html"; then
    ok "web: web/scene.html with the GLB and the configured trajectories"
  else
    bad "web: web/scene.html missing or without the GLB / trajectories"
  fi
else
  skipped "run --web: libjs-three not installed"
fi

# --- Ctrl-C: stops at the next step, exit 130, no partial file ---
"$bin" run "$img" --depth "$disp" -o "$tmp/int" --device cpu --fill classic --set longer_side_len=256 --frames 400 \
  >"$tmp/int.out" 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 1 100); do [ -d "$tmp/int/video" ] && break; sleep 0.2; done
sleep 1
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 130 ] && ok "Ctrl-C exits 130" || bad "Ctrl-C: exit $rc: $(cat "$tmp/int.err")"
partial=$(find "$tmp/int" -name '*.tmp*' -o -name '*.mp4' | wc -l)
[ "$partial" -eq 0 ] && ok "Ctrl-C leaves no partial file" || bad "Ctrl-C left: $(find "$tmp/int" -type f)"
finish
