#!/usr/bin/env bash
# test_stereo_quality.sh - tools/stereo_quality on the Middlebury cones pair at 225 px (issue 15):
# the left view meshed with the non-learned fill, rendered at the right camera and scored. Asserts the
# targets that hold: the photo reproduced at its own camera within 1 dB of resampling alone (own), the
# border extrapolation at least as good as a background stretch (out), the right camera aligned to
# the half pixel (align). Not asserted yet: disoccluded pixels inside the frame 1.5 dB above the
# stretch (in; see the tool's table). Also checks the outputs exist and a bad call is refused.
set -u
. tests/cli_lib.sh
sq="${P3D_BUILD_DIR:?P3D_BUILD_DIR must point at the build}/stereo_quality"
fx=../shared/fixtures/middlebury-cones
if [ ! -d "$fx" ]; then
  skipped "cones: $fx not found"
  finish
fi
if "$sq" "$fx/im2.png" "$fx/im6.png" "$fx/disp2.png" "$fx/disp6.png" --longer-side 225 --out "$tmp/q" \
    --crops 2 --assert own,out,align >"$tmp/sq.out" 2>&1; then
  ok cones-targets
else
  bad "cones-targets: $(cat "$tmp/sq.out")"
fi
cat "$tmp/sq.out"
for f in quality.json right_ours.png worst_0.png worst_1.png; do
  if [ -s "$tmp/q/$f" ]; then ok "output-$f"; else bad "output-$f"; fi
done
if grep -q '"disoccluded_in"' "$tmp/q/quality.json" && grep -q '"own_camera_resampling"' "$tmp/q/quality.json"; then
  ok json-fields
else
  bad json-fields
fi
if "$sq" "$fx/im2.png" "$fx/im6.png" "$fx/disp2.png" >/dev/null 2>&1; then bad missing-argument; else ok missing-argument; fi
if "$sq" "$fx/im2.png" "$fx/im6.png" "$fx/disp2.png" ../shared/fixtures/moon/moon.png --out "$tmp/x" >"$tmp/e" 2>&1; then
  bad size-mismatch
elif grep -q "differ in size" "$tmp/e"; then ok size-mismatch; else bad "size-mismatch: $(cat "$tmp/e")"; fi
finish
