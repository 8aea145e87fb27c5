#!/usr/bin/env bash
# test_run_overlap.sh - `run` over a batch overlaps the photos (issue 14): the next photo is decoded on a
# second thread while the current one is computed, and a photo's videos are encoded on the video
# queue's thread (host/pipeline/video_queue.h) while the worker renders on and goes on to the next photo.
# The overlap must not change anything:
#   1. a batch of 3 different photos gives byte-identical meshes, and the same videos, as the same photos
#      run one by one (on the build's device: the emulated CUDA device in that build);
#   2. a bad image in the batch is reported and skipped, the others are done (exit 3); so is a bad depth
#      map in the middle (it is read on the prefetch thread), with the error the photo gives alone;
#   3. SIGINT while the videos are being encoded: exit 130, no temporary file and no partial video left,
#      and a photo either has all four videos or none;
#   4. the device traffic stays per photo: the next photo's upload is queued during the current photo,
#      yet every photo of a batch reports the bytes and blocking waits it reports alone, and no
#      allocation after the first photo (the staging and the arena are planned once);
#   5. on a CUDA device the videos go to h264_nvenc as device frames where it opens, else (no driver:
#      the emulated device) through the host to libx264: either way H.264 files.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cli_lib.sh"
src=${P3D_SOURCE_DIR:-$(cd "$here/.." && pwd)}
photo="$src/samples/scene.png" disp="$src/samples/scene_disp.png"
"$bin" info 2>/dev/null | grep -q "FFmpeg libraries yes" || { skipped "built without FFmpeg: no videos"; finish; }
dev=cpu
"$bin" info 2>/dev/null | grep -Eq '^  cuda:[0-9]' && dev=cuda
small=(--device "$dev" --fill classic --set longer_side_len=96 --frames 6)

# Three different photos: the sample, its mirror image, and the sample with its top rows darkened (PIL),
# else three copies.
mkdir -p "$tmp/in"
"$py" - "$photo" "$disp" "$tmp/in" <<'PY' || for n in p1 p2 p3; do cp "$photo" "$tmp/in/$n.png"; cp "$disp" "$tmp/in/${n}_disp.png"; done
import sys
from PIL import Image, ImageOps
photo, disp, out = sys.argv[1:4]
im, dm = Image.open(photo).convert("RGB"), Image.open(disp)
im.save(out + "/p1.png"); dm.save(out + "/p1_disp.png")
ImageOps.mirror(im).save(out + "/p2.png"); ImageOps.mirror(dm).save(out + "/p2_disp.png")
dark = im.copy()
dark.paste((20, 30, 40), (0, 0, im.width, im.height // 5))
dark.save(out + "/p3.png"); dm.save(out + "/p3_disp.png")
PY

# 1. batch vs one by one
run "1 batch of 3 ($dev)" 0 "3 done" -- run "$tmp/in" --depth-dir "$tmp/in" -o "$tmp/batch" "${small[@]}"
for n in p1 p2 p3; do
  mkdir -p "$tmp/one_$n"
  cp "$tmp/in/$n.png" "$tmp/in/${n}_disp.png" "$tmp/one_$n/"
  "$bin" run "$tmp/one_$n/$n.png" --depth "$tmp/one_$n/${n}_disp.png" -o "$tmp/single" "${small[@]}" >"$tmp/out" 2>"$tmp/err" ||
    bad "1 $n alone: $(cat "$tmp/err")"
done
# Meshes: byte for byte. Videos: libx264 with its worker threads does not give the same bytes for the
# same frames from run to run (main's own sequential writer gave two encodings of one photo's video in
# 2 of 4 identical runs, 32-33 dB apart at this size), so they are compared decoded: same frame count,
# and close (PSNR >= 28 dB: the wrong photo or frames out of order are far below).
same=0 differ=""
for f in $(cd "$tmp/single" && find mesh -type f | sort); do
  if cmp -s "$tmp/batch/$f" "$tmp/single/$f"; then same=$((same + 1)); else differ="$differ $f"; fi
done
n_files=$(cd "$tmp/batch" && find mesh video -type f | wc -l)
if [ -z "$differ" ] && [ "$same" -eq 3 ] && [ "$n_files" -eq 15 ]; then ok "1 batch == one by one: 3 meshes byte-identical, 12 videos"
else bad "1 batch vs one by one: $same meshes identical, $n_files files, differ:$differ"; fi
if command -v ffmpeg >/dev/null; then
  msg=$("$py" - "$tmp/batch/video" "$tmp/single/video" <<'PY'
import math, os, subprocess, sys
import numpy as np
def frames(p):
    b = subprocess.run(["ffmpeg", "-v", "error", "-i", p, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                       capture_output=True, check=True).stdout
    return np.frombuffer(b, np.uint8).astype(np.float64)
worst, bad = math.inf, []
for f in sorted(os.listdir(sys.argv[2])):
    x, y = frames(os.path.join(sys.argv[1], f)), frames(os.path.join(sys.argv[2], f))
    mse = float(np.mean((x - y) ** 2)) if x.size == y.size and x.size else None
    db = 0.0 if mse is None else math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
    worst = min(worst, db)
    if db < 28:
        bad.append("%s %.1f dB" % (f, db))
print("; ".join(bad) if bad else "12 videos, worst %.1f dB" % worst)
sys.exit(1 if bad else 0)
PY
  )
  if [ $? -eq 0 ]; then ok "1 videos of the batch match the single runs' ($msg)"; else bad "1 videos differ: $msg"; fi
else
  skipped "1 videos decoded: no ffmpeg program"
fi
if cmp -s "$tmp/batch/mesh/p1.ply" "$tmp/batch/mesh/p2.ply"; then bad "1 the photos are not different"; else ok "1 the batch's photos differ"; fi

# 2. a bad image in the middle of the batch
cp -r "$tmp/in" "$tmp/in2"
mv "$tmp/in2/p2.png" "$tmp/in2/p2_full.png"
head -c 300 "$tmp/in2/p2_full.png" >"$tmp/in2/p2.png"
rm "$tmp/in2/p2_full.png"
if run "2 a truncated photo in the batch" 3 "p2" -- run "$tmp/in2" --depth-dir "$tmp/in2" -o "$tmp/bad" "${small[@]}" \
     --json "$tmp/bad.json"; then
  "$py" - "$tmp/bad.json" <<'PY' && ok "2 p2 failed with its reason, p1 and p3 done" || bad "2 report: $(cat "$tmp/bad.json")"
import json, sys
r = {p["name"]: p for p in json.load(open(sys.argv[1]))["photos"]}
assert r["p1"]["status"] == "done" and r["p3"]["status"] == "done", r
assert r["p2"]["status"] == "failed" and r["p2"]["error"], r
assert r["p1"]["videos"] == 4 and r["p3"]["videos"] == 4, r
PY
  if [ -e "$tmp/bad/mesh/p2.ply" ] || ls "$tmp/bad/video"/p2_* >/dev/null 2>&1; then bad "2 the bad photo left outputs"; else ok "2 the bad photo left nothing"; fi
  for n in p1 p3; do
    if cmp -s "$tmp/bad/mesh/$n.ply" "$tmp/batch/mesh/$n.ply"; then ok "2 $n's mesh as in the full batch"
    else bad "2 $n's mesh differs from the full batch's"; fi
  done
fi

# 2b. a bad depth map in the middle: read by the prefetch thread, reported in p2's turn as alone
cp -r "$tmp/in" "$tmp/in3"
head -c 200 "$tmp/in/p2_disp.png" >"$tmp/in3/p2_disp.png"
if run "2b a truncated depth map in the batch" 3 "p2" -- run "$tmp/in3" --depth-dir "$tmp/in3" -o "$tmp/bad3" \
     --mesh-only "${small[@]}" --json "$tmp/bad3.json"; then
  mkdir -p "$tmp/one_bad"
  cp "$tmp/in3/p2.png" "$tmp/in3/p2_disp.png" "$tmp/one_bad/"
  "$bin" run "$tmp/one_bad/p2.png" --depth "$tmp/one_bad/p2_disp.png" -o "$tmp/bad3_one" --mesh-only "${small[@]}" \
    --json "$tmp/bad3_one.json" >/dev/null 2>&1
  "$py" - "$tmp/bad3.json" "$tmp/bad3_one.json" <<'PY' && ok "2b p2 failed with the error it gives alone, p1 and p3 done" || bad "2b report: $(cat "$tmp/bad3.json")"
import json, sys
r = {p["name"]: p for p in json.load(open(sys.argv[1]))["photos"]}
alone = json.load(open(sys.argv[2]))["photos"][0]
assert r["p1"]["status"] == "done" and r["p3"]["status"] == "done", r
assert r["p2"]["status"] == "failed" and "p2_disp" in r["p2"]["error"], r
def rel(p):  # the error with the photo's folder left out
    return p["error"].replace(p["input"].rsplit("/", 1)[0] + "/", "")
assert alone["status"] == "failed" and rel(alone) == rel(r["p2"]), (alone, r["p2"])
PY
  for n in p1 p3; do
    if cmp -s "$tmp/bad3/mesh/$n.ply" "$tmp/batch/mesh/$n.ply"; then ok "2b $n's mesh as in the full batch"
    else bad "2b $n's mesh differs from the full batch's"; fi
  done
fi

# 4. traffic per photo: the batch against each photo alone (mesh only: the renderer's buffers are per
#    photo by design). On the CPU every counter is 0.
if run "4 mesh-only batch" 0 "3 done" -- run "$tmp/in" --depth-dir "$tmp/in" -o "$tmp/t_batch" --mesh-only "${small[@]}" \
     --json "$tmp/t_batch.json"; then
  for n in p1 p2 p3; do
    "$bin" run "$tmp/one_$n/$n.png" --depth "$tmp/one_$n/${n}_disp.png" -o "$tmp/t_one" --mesh-only "${small[@]}" \
      --json "$tmp/t_$n.json" >/dev/null 2>&1 || bad "4 $n alone failed"
  done
  msg=$("$py" - "$tmp" "$dev" 2>&1 <<'PY'
import json, sys
tmp, dev = sys.argv[1:3]
batch = {p["name"]: p["device_traffic"] for p in json.load(open(tmp + "/t_batch.json"))["photos"]}
out = []
for i, n in enumerate(["p1", "p2", "p3"]):
    alone = json.load(open("%s/t_%s.json" % (tmp, n)))["photos"][0]["device_traffic"]
    b = batch[n]
    for k in ("h2d_bytes", "d2h_bytes", "syncs"):
        assert b[k] == alone[k], (n, k, b[k], alone[k])
    assert b["allocations"] == (alone["allocations"] if i == 0 else 0), (n, b, alone)
    if dev == "cuda":
        assert b["h2d_bytes"] > 0 and alone["allocations"] > 0, (n, b, alone)
    out.append("%s h2d %d syncs %d alloc %d" % (n, b["h2d_bytes"], b["syncs"], b["allocations"]))
print("; ".join(out))
PY
  ) && ok "4 traffic per photo as alone, no allocation after the first ($dev: $msg)" || bad "4 traffic: $msg"
fi

# 5. the encoder on the device: NVENC on device frames, or the fallback through the host
if [ "$dev" = cuda ] && command -v ffprobe >/dev/null; then
  "$bin" -v run "$tmp/one_p1/p1.png" --depth "$tmp/one_p1/p1_disp.png" -o "$tmp/enc" "${small[@]}" >"$tmp/enc.out" 2>"$tmp/enc.err" ||
    bad "5 run: $(tail -3 "$tmp/enc.err")"
  codec=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "$tmp/enc/video/p1_swing.mp4" 2>/dev/null)
  if grep -q "encoding device frames with h264_nvenc" "$tmp/enc.err"; then how="NVENC on device frames"
  elif grep -q "no NVENC on device frames" "$tmp/enc.err"; then how="fallback through the host"
  else how=""; fi
  if [ -n "$how" ] && [ "$codec" = h264 ]; then ok "5 videos on cuda: $how, $codec"
  else bad "5 videos on cuda: encoder path '${how:-not logged}', codec '$codec'"; fi
else
  skipped "5 the device's encoder: no CUDA device or no ffprobe"
fi

# 3. SIGINT while videos are encoded: longer videos, the signal once the first photo's encoding began
out=$tmp/intr
"$bin" run "$tmp/in" --depth-dir "$tmp/in" -o "$out" --device "$dev" --fill classic --set longer_side_len=96 --frames 200 >"$tmp/i.out" 2>"$tmp/i.err" &
pid=$!
for _ in $(seq 1 1200); do grep -q 'p1_zoom-in.mp4' "$tmp/i.err" 2>/dev/null && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
rc=$?
if [ "$rc" -eq 130 ]; then ok "3 SIGINT: exit 130"; else bad "3 SIGINT: exit $rc: $(tail -3 "$tmp/i.err")"; fi
left=$(find "$out" -name '*.tmp-*' | wc -l)
if [ "$left" -eq 0 ]; then ok "3 SIGINT: no temporary file left"; else bad "3 SIGINT: $left temporary file(s) left"; fi
for n in p1 p2 p3; do
  k=$(ls "$out/video/${n}_"*.mp4 2>/dev/null | wc -l)
  if [ "$k" -ne 0 ] && [ "$k" -ne 4 ]; then bad "3 SIGINT: $n has $k of 4 videos"; fi
  if [ "$k" -eq 4 ] && command -v ffprobe >/dev/null; then
    for f in "$out/video/${n}_"*.mp4; do ffprobe -v error "$f" >/dev/null 2>&1 || bad "3 SIGINT: $f does not decode"; done
  fi
done
ok "3 SIGINT: every photo has all its videos or none"
finish
