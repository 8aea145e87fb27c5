#!/usr/bin/env bash
# test_newuser.sh - the rough edges a new user hit (issue 18, "What a new user hit" 1-8), each checked
# on the command line: a failed photo leaves nothing, outputs' modes, Ctrl-C during a video, -q,
# depth maps in the photo folder, the messages, report.json's resolved values and warnings, setup.
. "$(dirname "$0")/cli_lib.sh"
src=${P3D_SOURCE_DIR:-.}
photo=$src/samples/scene.png disp=$src/samples/scene_disp.png
umask 022

# ---- 1. a photo that fails leaves nothing: no rejected depth map, no empty folders ----
printf 'P5\n4 4\n255\n0123456789abcdef' >"$tmp/tiny.pgm"   # a 4x4 map: the wrong aspect for a 640x448 photo
"$py" -c "import numpy as np; np.save('$tmp/wrong.npy', np.ones((10, 10), np.float32))" 2>/dev/null ||
  cp "$disp" "$tmp/wrong.npy"
if run "1 wrong-size depth map: exit 3" 3 "aspect|size" -- run "$photo" --depth "$tmp/wrong.npy" -o "$tmp/o1" --mesh-only; then
  if [ -e "$tmp/o1" ]; then bad "1 the failed photo left $(find "$tmp/o1" | tr '\n' ' ')"; else ok "1 nothing left behind"; fi
fi
mkdir -p "$tmp/two" "$tmp/o1b"
cp "$photo" "$tmp/two/good.png"
head -c 2000 "$photo" >"$tmp/two/broken.png"
cp "$disp" "$tmp/two/good_disp.png"
touch "$tmp/o1b/keep.txt"
if run "1 one good, one broken photo: exit 3" 3 "broken" -- run "$tmp/two" --depth-dir "$tmp/two" -o "$tmp/o1b" --mesh-only; then
  left=$(cd "$tmp/o1b" && find . -name '*broken*' -o -name '*.tmp-*' | tr '\n' ' ')
  if [ -n "$left" ]; then bad "1 outputs of the broken photo: $left"
  elif [ ! -f "$tmp/o1b/mesh/good.ply" ] || [ ! -f "$tmp/o1b/depth/good.npy" ] || [ ! -f "$tmp/o1b/keep.txt" ]; then
    bad "1 the good photo's outputs or the user's file are missing: $(cd "$tmp/o1b" && find . | tr '\n' ' ')"
  else ok "1 only the good photo's outputs"; fi
fi

# ---- 2. every output gets the usual mode (0666 less the umask), MP4s too ----
if run "2 run with videos" 0 "done" -- run "$photo" --depth "$disp" -o "$tmp/o2" --frames 4 --set "video_postfix=['zoom-in']" \
     --set "traj_types=['double-straight-line']" --set "x_shift_range=[0.0]" --set "y_shift_range=[0.0]" --set "z_shift_range=[-0.05]"; then
  modes=$(cd "$tmp/o2" && find . -type f -exec stat -c '%a %n' {} + | sort)
  if echo "$modes" | grep -qv '^644 '; then bad "2 modes: $modes"
  elif ! echo "$modes" | grep -q 'mp4'; then bad "2 no video written: $modes"
  else ok "2 every output is 0644 (umask 022), the MP4 too"; fi
fi

# ---- 3. Ctrl-C during a video: no "done" line for the abandoned video ----
"$bin" run "$photo" --depth "$disp" -o "$tmp/o3" --frames 2000 >"$tmp/o3.out" 2>"$tmp/o3.err" &
pid=$!
# Wait for the first video to start, however long the mesh takes (an ASan build on a loaded machine
# can take minutes), but not past the run's own end.
while kill -0 "$pid" 2>/dev/null; do grep -q 'mp4 \.\.\.' "$tmp/o3.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
video=$(grep -o '[^ ]*\.mp4 \.\.\.' "$tmp/o3.err" | head -1 | cut -d' ' -f1)
if [ "$rc" -ne 130 ]; then bad "3 Ctrl-C during a video: exit $rc, wanted 130: $(cat "$tmp/o3.err")"
elif [ -z "$video" ]; then bad "3 no video was started: $(cat "$tmp/o3.err")"
elif grep -q "$video done" "$tmp/o3.err"; then bad "3 '$video done' printed for an abandoned video: $(cat "$tmp/o3.err")"
elif ! grep -q "$video.*interrupted\|interrupted.*$video" "$tmp/o3.err"; then bad "3 the video's line does not say interrupted: $(cat "$tmp/o3.err")"
elif [ -n "$(find "$tmp/o3" -name '*.mp4*')" ]; then bad "3 video files left: $(find "$tmp/o3" -name '*.mp4*')"
else ok "3 Ctrl-C during $video: 'interrupted', no done line, no file"; fi

# ---- 4. run -q prints nothing on success, and only the errors on failure ----
"$bin" run -q "$photo" --depth "$disp" -o "$tmp/o4" --mesh-only >"$tmp/o4.out" 2>"$tmp/o4.err"
rc=$?
if [ "$rc" -ne 0 ] || [ -s "$tmp/o4.err" ] || [ -s "$tmp/o4.out" ]; then
  bad "4 run -q: exit $rc, output: $(cat "$tmp/o4.out" "$tmp/o4.err")"
else ok "4 run -q is silent on success"; fi
"$bin" run -q "$tmp/two/broken.png" -o "$tmp/o4b" --mesh-only --depth "$disp" >"$tmp/o4.out" 2>"$tmp/o4.err"
rc=$?
if [ "$rc" -ne 3 ] || ! grep -q "broken.png" "$tmp/o4.err" || grep -Eq "^note:|done, .* skipped|running on the CPU" "$tmp/o4.err"; then
  bad "4 run -q with a failure: exit $rc, output: $(cat "$tmp/o4.err")"
else ok "4 run -q prints the failure only"; fi

# ---- 5. depth maps in the photo folder are not photos ----
mkdir -p "$tmp/five"
cp "$photo" "$disp" "$tmp/five/"
if run "5 inputs: the depth map is matched, not listed" 0 "scene.png" -- inputs "$tmp/five" --depth-dir "$tmp/five"; then
  if grep -q "scene_disp.png.*scene_disp.png" "$tmp/out" || [ "$(wc -l <"$tmp/out")" -ne 1 ] || ! grep -q "scene.png.*scene_disp.png" "$tmp/out"; then
    bad "5 inputs lists: $(cat "$tmp/out")"
  else ok "5 inputs: one photo, scene_disp.png as its depth"; fi
fi
if run "5 run FOLDER --depth-dir FOLDER" 0 "1 done" -- run "$tmp/five" --depth-dir "$tmp/five" -o "$tmp/o5" --mesh-only; then
  if [ -e "$tmp/o5/mesh/scene_disp.ply" ] || [ ! -f "$tmp/o5/mesh/scene.ply" ]; then bad "5 meshes: $(ls "$tmp/o5/mesh")"
  else ok "5 only scene is meshed"; fi
fi
cp "$photo" "$tmp/five/alone.png"
if run "5 a photo is never its own depth map" 0 "alone.png" -- inputs "$tmp/five/alone.png" --depth-dir "$tmp/five"; then
  if grep -q "alone.png.*alone.png" "$tmp/out"; then bad "5 alone.png matched itself: $(cat "$tmp/out")"; else ok "5 no self match"; fi
fi

# ---- 6. messages ----
if run "6 --shard named once" 2 "--shard '5/2'" -- run --shard 5/2 "$photo"; then
  if grep -q -- "--shard --shard" "$tmp/err"; then bad "6 option named twice: $(cat "$tmp/err")"; else ok "6 --shard message"; fi
fi
if run "6 truncated photo: truncated or corrupt" 3 "truncated or corrupt" -- run "$tmp/two/broken.png" --depth "$disp" -o "$tmp/o6" --mesh-only; then
  line=$(grep "^  .*broken.png" "$tmp/err" | head -1)
  n=$(echo "$line" | grep -o "broken.png" | wc -l)
  if grep -q "outofdata" "$tmp/err"; then bad "6 stb's word leaks out: $(cat "$tmp/err")"
  elif [ "$n" -ne 1 ]; then bad "6 the summary names the path $n times: '$line'"
  else ok "6 summary line names the path once: '$line'"; fi
fi
# A usable CUDA device (a real one, or the emulated build's) changes what the next two cases can see.
gpu=0
if "$bin" info 2>/dev/null | grep -Eq '^  cuda:[0-9]'; then gpu=1; fi
if [ "$gpu" = 1 ]; then
  skipped "6 CUDA driver message: a CUDA device is usable here (real or emulated)"
elif "$bin" info 2>/dev/null | grep -q "cuda  runtime"; then
  run "6 no driver: says so" 1 "no NVIDIA driver|no CUDA device|usable" -- run "$photo" --depth "$disp" -o "$tmp/o6c" --device cuda --mesh-only
  if grep -q "insufficient" "$tmp/err" && ! nvidia-smi >/dev/null 2>&1; then bad "6 'driver version is insufficient' without a driver"; fi
else
  skipped "6 CUDA driver message: the CUDA backend is not compiled in"
fi

# ---- 7. report.json: what was used, and every warning ----
if run "7 run --json" 0 "done" -- run "$photo" --depth "$disp" -o "$tmp/o7" --mesh-only --json "$tmp/o7/report.json" --set use_boostmonodepth=True; then
  if "$py" - "$tmp/o7/report.json" "$gpu" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
gpu = sys.argv[2] == "1"
errs = []
if r.get("fill") not in ("classic", "learned"): errs.append("fill %r" % r.get("fill"))
if r.get("device") in (None, "auto") and not r.get("devices"): errs.append("device %r" % r.get("device"))
if r.get("depth_model") not in (None, "none"): errs.append("depth_model %r with a depth map given" % r.get("depth_model"))
w = " | ".join(r.get("warnings", []))
# Without a usable device, auto falls back to the CPU and says so; with one, it runs there.
for want in ("boostmonodepth", "non-learned fill") + (() if gpu else ("CPU",)):
    if want.lower() not in w.lower(): errs.append("no warning about %s in %r" % (want, w))
p = r["photos"][0]
if p.get("fill") not in ("classic", "learned"): errs.append("photo fill %r" % p.get("fill"))
if p.get("device") != ("cuda:0" if gpu else "cpu"): errs.append("photo device %r (usable GPU: %s)" % (p.get("device"), gpu))
print("; ".join(errs) or "ok")
sys.exit(1 if errs else 0)
PY
  then ok "7 report.json holds the resolved fill, device, depth source and every warning"
  else bad "7 report.json: $(cat "$tmp/o7/report.json")"; fi
fi

# ---- 8. setup installs the ffmpeg tool; the offline hint keeps -o ----
if grep -Eq '^[^#]*\bffmpeg\b' "$src/tools/setup.sh"; then ok "8 setup.sh installs ffmpeg"; else bad "8 setup.sh does not install ffmpeg"; fi
mkdir -p "$tmp/bin"
printf '#!/bin/sh\nexit 6\n' >"$tmp/bin/curl"
cp "$tmp/bin/curl" "$tmp/bin/wget"
chmod +x "$tmp/bin/curl" "$tmp/bin/wget"
out8="$tmp/mymodels/tiefenrausch.p3dw"
PATH="$tmp/bin:$PATH" bash "$src/tools/fetch_tiefenrausch.sh" -o "$out8" >"$tmp/o8.out" 2>"$tmp/o8.err"
rc=$?
if [ "$rc" -eq 0 ]; then bad "8 fetch succeeded offline?"
elif grep -q "has no numpy" "$tmp/o8.err"; then skipped "8 offline hint: $py has no numpy"
elif ! grep -qF -- "--from DIR -o $out8" "$tmp/o8.err"; then bad "8 offline hint without -o: $(cat "$tmp/o8.err")"
else ok "8 the offline hint keeps -o"; fi
finish
