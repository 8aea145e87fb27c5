#!/usr/bin/env bash
# test_prepare.sh - `photo3d-gpu prepare` on the sample and the fixtures, and its bad-input matrix:
# exit codes, messages naming the file, and no output left behind on failure.
set -u
. tests/cli_lib.sh

# The sample: 640x448 -> 960x672; the written image and map have that size and agree with the mask.
run sample 0 "scene: 640x448 -> 960x672, disparity valid 100.0%" -- \
  prepare samples/scene.png --depth samples/scene_disp.png --depth-scale 0.0000305180 -o "$tmp/s"
if $py - "$tmp/s" <<'PY'
import sys, struct, numpy as np
d = sys.argv[1]
a = np.load(f"{d}/scene_disp.npy")
assert a.shape == (672, 960) and a.dtype == np.float32, (a.shape, a.dtype)
assert 0.10 < a.min() and a.max() < 0.46, (a.min(), a.max())   # 1/9 m .. 1/2.2 m, see samples/README.md
png = open(f"{d}/scene.png", "rb").read()
w, h = struct.unpack(">II", png[16:24])
assert (w, h) == (960, 672), (w, h)
PY
then ok sample-outputs; else bad sample-outputs; fi

fx=../shared/fixtures
if [ -d "$fx" ]; then
  run tum-metric 0 "TUM_color: 640x480 -> 960x720, disparity valid 8[01]\.[0-9]%" -- \
    prepare "$fx/tum-kinect/TUM_color.png" --depth "$fx/tum-kinect/TUM_depth.png" --metric --depth-scale 0.0002 -o "$tmp/t"
  run moon-upsampled-depth 0 "moon: 2100x2100 -> 960x960" -- prepare "$fx/moon/moon.jpg" --depth "$fx/moon/moon.npy" -o "$tmp/m"
  run columns-portrait 0 "columns: 768x1024 -> 720x960" -- prepare "$fx/columns/columns.jpg" --depth "$fx/columns/columns.npy" -o "$tmp/c"
  run middlebury-holes 0 "im2: 450x375 -> 960x800, disparity valid 9[0-9]\.[0-9]%" -- \
    prepare "$fx/middlebury-cones/im2.png" --depth "$fx/middlebury-cones/disp2.png" --depth-scale 0.25 -o "$tmp/mb"
  run wrong-aspect 1 "columns.npy: depth map is 288x384, which does not have the aspect" -- \
    prepare "$fx/moon/moon.jpg" --depth "$fx/columns/columns.npy" -o "$tmp/wa"
  if [ -e "$tmp/wa/moon.png" ]; then bad wrong-aspect-no-output; else ok wrong-aspect-no-output; fi
else
  skipped "fixture cases: ../shared/fixtures not found"
fi

run missing-image 1 "nothere.jpg: cannot open" -- prepare "$tmp/nothere.jpg" --depth samples/scene_disp.png -o "$tmp/x"
head -c 1000 samples/scene.png >"$tmp/trunc.png"
run corrupt-image 1 "trunc.png" -- prepare "$tmp/trunc.png" --depth samples/scene_disp.png -o "$tmp/x"
printf 'not a depth map' >"$tmp/junk.npy"
run corrupt-depth 1 "junk.npy" -- prepare samples/scene.png --depth "$tmp/junk.npy" -o "$tmp/x"
if [ -e "$tmp/x" ] && [ -n "$(ls -A "$tmp/x")" ]; then bad failed-runs-leave-nothing; else ok failed-runs-leave-nothing; fi
: >"$tmp/file"
run output-not-a-dir 1 "is not a directory" -- prepare samples/scene.png --depth samples/scene_disp.png -o "$tmp/file"
run missing-depth-option 2 "missing --depth" -- prepare samples/scene.png
run unknown-option 2 "unknown option '--frob'" -- prepare samples/scene.png --frob
run bad-longer-side 2 "--longer-side 'abc'" -- prepare samples/scene.png --depth samples/scene_disp.png --longer-side abc
run two-images 2 "one IMAGE at a time" -- prepare a.png b.png --depth samples/scene_disp.png

finish
