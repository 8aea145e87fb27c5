#!/usr/bin/env bash
# test_faults.sh - faults while writing (issue 18): a full disk, a read-only output folder, an output
# path that is a folder, SIGTERM and SIGKILL in the middle of a write, a model file replaced (in place)
# while a batch runs. After each: no partial file under a final name, the failed photo leaves nothing,
# and `run --skip-existing` redoes exactly what is missing.
# The full disk is a small tmpfs (needs root and mount; else RLIMIT_FSIZE stands in for it), the
# read-only folder a read-only tmpfs as root (chmod does not stop root), else chmod 555.
. "$(dirname "$0")/cli_lib.sh"
src=${P3D_SOURCE_DIR:-.}
photo=$src/samples/scene.png disp=$src/samples/scene_disp.png
mounts=()
cleanup() { for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
small=(--set longer_side_len=320)   # photos processed at 320x224: seconds, not minutes
# a folder of photos, each with its depth map beside it (NAME_disp.png)
photos() { # DIR N
  mkdir -p "$1"
  for i in $(seq 1 "$2"); do cp "$photo" "$1/p$i.png"; cp "$disp" "$1/p${i}_disp.png"; done
}
# no file under a final name is partial: every PLY parses, every MP4 decodes; no temporary is left
check_tree() { # NAME DIR
  local f
  for f in $(find "$2" -name '*.tmp-*' 2>/dev/null); do bad "$1: temporary file left: $f"; return 1; done
  for f in $(find "$2" -type f -name '*.ply' 2>/dev/null); do
    if ! "$bin" render "$f" --pose 0,0,0 -o "$tmp/check" --format png >/dev/null 2>&1; then bad "$1: $f is not a whole mesh"; return 1; fi
  done
  for f in $(find "$2" -type f -name '*.mp4' 2>/dev/null); do
    if command -v ffprobe >/dev/null && ! ffprobe -v error "$f" >/dev/null 2>&1; then bad "$1: $f does not decode"; return 1; fi
  done
  return 0
}
# `run --skip-existing` redoes exactly the photos in WANT (a space-separated list of names)
redo_check() { # NAME DIR OUT WANT ARGS...
  local name=$1 dir=$2 out=$3 want=$4
  shift 4
  "$bin" run "$dir" --depth-dir "$dir" -o "$out" --skip-existing "${small[@]}" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$? n
  n=$(echo $want | wc -w)
  if [ "$rc" -ne 0 ]; then bad "$name: --skip-existing rerun: exit $rc: $(cat "$tmp/err")"; return 1; fi
  if ! grep -q "run: $n done" "$tmp/err"; then bad "$name: --skip-existing did not redo $n photo(s) ($want): $(grep 'run:' "$tmp/err")"; return 1; fi
  for p in $want; do
    grep -q "^$p: done" "$tmp/err" || { bad "$name: $p was not redone: $(cat "$tmp/err")"; return 1; }
  done
  check_tree "$name (after the rerun)" "$out" && ok "$name: --skip-existing redid exactly: $want"
}

can_mount=0
mkdir -p "$tmp/probe"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m tmpfs "$tmp/probe" 2>/dev/null; then umount "$tmp/probe"; can_mount=1; fi

# ---- a full disk ----
photos "$tmp/in1" 3
if [ "$can_mount" -eq 1 ]; then
  mkdir -p "$tmp/full"
  # one photo's depth maps and mesh take about 9.5 MB at 320x224: 14 MB holds one photo, not two
  mount -t tmpfs -o size=14m tmpfs "$tmp/full" && mounts+=("$tmp/full")
  "$bin" run "$tmp/in1" --depth-dir "$tmp/in1" -o "$tmp/full/out" --mesh-only "${small[@]}" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -ne 3 ] || ! grep -q "No space left on device" "$tmp/err"; then bad "full disk: exit $rc: $(cat "$tmp/err")"
  elif check_tree "full disk" "$tmp/full/out"; then
    done_n=$(ls "$tmp/full/out/mesh" 2>/dev/null | wc -l)
    depth_n=$(ls "$tmp/full/out/depth" 2>/dev/null | wc -l)
    if [ "$done_n" -lt 1 ]; then bad "full disk: no photo fitted: $(cat "$tmp/err")"
    elif [ "$depth_n" -ne $((2 * done_n)) ]; then bad "full disk: a failed photo left depth maps: $(ls "$tmp/full/out/"*)"
    else ok "full disk: exit 3, 'No space left on device', $done_n whole photo(s), nothing partial"; fi
    missing=""
    for i in 1 2 3; do [ -f "$tmp/full/out/mesh/p$i.ply" ] || missing="$missing p$i"; done
    mount -o remount,size=64m "$tmp/full"
    redo_check "full disk" "$tmp/in1" "$tmp/full/out" "$missing" --mesh-only
  fi
else
  # RLIMIT_FSIZE: a write past 3 MB fails with EFBIG (SIGXFSZ ignored, as the signal would end the process)
  (trap '' XFSZ; ulimit -f 3072; exec "$bin" run "$tmp/in1" --depth-dir "$tmp/in1" -o "$tmp/full" --mesh-only "${small[@]}") >"$tmp/out" 2>"$tmp/err"
  rc=$?
  if [ "$rc" -ne 3 ] || ! grep -q "File too large" "$tmp/err"; then bad "file size limit: exit $rc: $(cat "$tmp/err")"
  elif check_tree "file size limit" "$tmp/full"; then ok "file size limit (no tmpfs: $(id -un) cannot mount): exit 3, nothing partial"
    redo_check "file size limit" "$tmp/in1" "$tmp/full" "p1 p2 p3" --mesh-only; fi
fi

# ---- a read-only output folder ----
photos "$tmp/in2" 1
mkdir -p "$tmp/ro"
if [ "$can_mount" -eq 1 ]; then mount -t tmpfs -o ro,size=1m tmpfs "$tmp/ro" && mounts+=("$tmp/ro")
elif [ "$(id -u)" -ne 0 ]; then chmod 555 "$tmp/ro"
else skipped "read-only folder: root without mount"; fi
if [ "$can_mount" -eq 1 ] || [ "$(id -u)" -ne 0 ]; then
  run "read-only output folder" 1 "ro(/out)?: cannot create directory: Read-only file system|Permission denied" -- \
    run "$tmp/in2/p1.png" --depth "$tmp/in2/p1_disp.png" -o "$tmp/ro/out" --mesh-only "${small[@]}"
  run "read-only mesh folder" 3 "(depth|mesh).*(Read-only file system|Permission denied)" -- \
    run "$tmp/in2/p1.png" --depth "$tmp/in2/p1_disp.png" -o "$tmp/ro" --mesh-only "${small[@]}"
  [ -z "$(find "$tmp/ro" -mindepth 1)" ] && ok "read-only: nothing written" || bad "read-only: $(find "$tmp/ro" -mindepth 1)"
fi

# ---- an output path that is a folder ----
mkdir -p "$tmp/o3/mesh/p1.ply"
run "output path is a folder (run)" 3 "p1.ply.*(Is a directory|not a regular file|folder)" -- \
  run "$tmp/in2/p1.png" --depth "$tmp/in2/p1_disp.png" -o "$tmp/o3" --mesh-only "${small[@]}"
if [ -n "$(find "$tmp/o3" -type f)" ]; then bad "output path is a folder: left $(find "$tmp/o3" -type f)"; else ok "output path is a folder: nothing left"; fi
mkdir -p "$tmp/o3b.ply"
run "output path is a folder (mesh -o)" 1 "o3b.ply" -- mesh "$tmp/in2/p1.png" --depth "$tmp/in2/p1_disp.png" -o "$tmp/o3b.ply"
if [ -n "$(find "$tmp" -maxdepth 1 -name 'o3b.ply.tmp-*')" ]; then bad "mesh -o FOLDER: temporary left"; else ok "mesh -o FOLDER: no temporary left"; fi

# ---- SIGTERM and SIGKILL in the middle of a write ----
# p1 is done first (8 frames a video); then a --skip-existing run skips it and is stopped while it writes
# p2's first video (400 frames); a last --skip-existing run must redo p2 alone.
for sig in TERM KILL; do
  photos "$tmp/in4$sig" 2
  out="$tmp/o4$sig"
  "$bin" run "$tmp/in4$sig/p1.png" --depth "$tmp/in4$sig/p1_disp.png" -o "$out" --frames 8 "${small[@]}" >/dev/null 2>&1 ||
    { bad "SIG$sig: p1 alone failed"; continue; }
  "$bin" run "$tmp/in4$sig" --depth-dir "$tmp/in4$sig" -o "$out" --frames 400 --skip-existing "${small[@]}" >"$tmp/o4.out" 2>"$tmp/o4.err" &
  pid=$!
  for _ in $(seq 1 1200); do grep -q 'p2_dolly-zoom-in.mp4 \.\.\.' "$tmp/o4.err" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  kill -$sig "$pid"
  wait "$pid"
  rc=$?
  want=$([ $sig = TERM ] && echo "130 143" || echo 137)
  if ! echo " $want " | grep -q " $rc "; then bad "SIG$sig mid-write: exit $rc (wanted $want): $(tail -3 "$tmp/o4.err")"; continue; fi
  if ! grep -q 'p2_dolly-zoom-in.mp4 \.\.\.' "$tmp/o4.err"; then bad "SIG$sig came before p2's video: $(cat "$tmp/o4.err")"; continue; fi
  if [ -e "$out/video/p2_dolly-zoom-in.mp4" ]; then bad "SIG$sig: a partial video under its final name"; continue; fi
  if [ $sig = TERM ]; then
    check_tree "SIGTERM" "$out" && ok "SIGTERM mid-write: exit $rc, no temporary, no partial file"
    [ -e "$out/mesh/p2.ply" ] && bad "SIGTERM: the unfinished photo p2 kept its mesh"
  else
    left=$(find "$out" -name '*.tmp-*' | wc -l)
    ok "SIGKILL mid-write: no partial file under a final name ($left temporary file(s) stay: nothing can remove them)"
    find "$out" -name '*.tmp-*' -delete
  fi
  redo_check "SIG$sig" "$tmp/in4$sig" "$out" "p2" --frames 8
done

# ---- a model file replaced in place while a batch runs ----
# Depth estimated by MiDaS v1 (random weights) for three photos; after the first photo the blob is
# truncated and rewritten in place (cp over it), as a careless update does. The loaded weights are the
# run's own copy: the batch finishes, and a --skip-existing rerun has nothing to redo.
testdata=${P3D_BUILD_DIR:-build}/testdata
if [ -f "$testdata/midas-v1-random.p3dw" ]; then
  mkdir -p "$tmp/in5" "$tmp/models"
  for i in 1 2 3; do cp "$photo" "$tmp/in5/m$i.png"; done
  cp "$testdata/midas-v1-random.p3dw" "$tmp/models/midas-v1.p3dw"
  "$bin" run "$tmp/in5" -o "$tmp/o5" --mesh-only --depth-model midas-v1 --fill classic --model-dir "$tmp/models" \
    "${small[@]}" >"$tmp/o5.out" 2>"$tmp/o5.err" &
  pid=$!
  for _ in $(seq 1 1200); do grep -q '^m1: done' "$tmp/o5.err" 2>/dev/null && break; sleep 0.1; done
  : >"$tmp/models/midas-v1.p3dw"
  sleep 0.2
  head -c 1000 "$testdata/midas-v1-random.p3dw" >"$tmp/models/midas-v1.p3dw"
  wait "$pid"
  rc=$?
  if [ "$rc" -ne 0 ]; then bad "model replaced mid-batch: exit $rc: $(tail -5 "$tmp/o5.err")"
  elif ! grep -q '^m1: done' "$tmp/o5.err"; then bad "model replaced: m1 never finished: $(cat "$tmp/o5.err")"
  elif check_tree "model replaced" "$tmp/o5"; then ok "model replaced in place mid-batch: the batch finished on the loaded weights"; fi
  "$bin" run "$tmp/in5" -o "$tmp/o5" --mesh-only --skip-existing >"$tmp/out" 2>"$tmp/err"
  grep -q "0 done, 3 skipped" "$tmp/err" && ok "model replaced: --skip-existing has nothing to redo" || bad "model replaced: rerun: $(cat "$tmp/err")"
else
  skipped "model replaced mid-batch: no $testdata/midas-v1-random.p3dw (ctest's midas_test_weights makes it)"
fi
finish
