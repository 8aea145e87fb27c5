#!/usr/bin/env bash
# test_stereo_quality.sh - tools/stereo_quality on the Middlebury cones pair at 450 px, its native size
# (issue 15): the left view meshed with the non-learned fill, rendered at the right camera and scored.
# Asserts the issue's targets: the photo reproduced at its own camera within 1 dB of resampling alone
# (own), the disoccluded pixels inside the frame at least 1.5 dB above a background stretch (in), the
# border extrapolation at least as good as the stretch (out), the right camera aligned to the half
# pixel (align). The fill before the depth preparation's fix failed `in` here (15.92 dB against 16.34
# needed). At 225 px `in` does not hold (+0.1 dB: most disocclusions there are one or two pixels wide),
# and about 100 disoccluded pixels at 450 still show no geometry, so `geom` is not asserted yet. Then
# the mirrored pair at 450 px and cones at 960 px. About 40 s of CPU. Also checks the outputs exist and
# a bad call is refused.
set -u
. tests/cli_lib.sh
sq="${P3D_BUILD_DIR:?P3D_BUILD_DIR must point at the build}/stereo_quality"
fx=../shared/fixtures/middlebury-cones
if [ ! -d "$fx" ]; then
  skipped "cones: $fx not found"
  finish
fi
if "$sq" "$fx/im2.png" "$fx/im6.png" "$fx/disp2.png" "$fx/disp6.png" --longer-side 450 --out "$tmp/q" \
    --crops 2 --assert own,in,out,align >"$tmp/sq.out" 2>&1; then
  ok cones-targets
else
  bad "cones-targets: $(cat "$tmp/sq.out")"
fi
cat "$tmp/sq.out"
# The same targets where the disocclusions open on the other side of every object (the mirrored pair)
# and at 960 px (cones upsampled: edges two pixels wide), `in` only there: the fill before the seam
# rule (ldi_inpaint.c colour_sources) gave +1.47 dB at 960 px.
if "$sq" "$fx/im2.png" "$fx/im6.png" "$fx/disp2.png" "$fx/disp6.png" --longer-side 450 --mirror --out "$tmp/m" \
    --crops 0 --assert own,in,out,align >"$tmp/sqm.out" 2>&1; then
  ok cones-mirrored-targets
else
  bad "cones-mirrored-targets: $(cat "$tmp/sqm.out")"
fi
grep '^disoccluded_in\|^target' "$tmp/sqm.out"
if "$sq" "$fx/im2.png" "$fx/im6.png" "$fx/disp2.png" "$fx/disp6.png" --longer-side 960 --out "$tmp/b" \
    --crops 0 --assert own,in >"$tmp/sqb.out" 2>&1; then
  ok cones-960-targets
else
  bad "cones-960-targets: $(cat "$tmp/sqb.out")"
fi
grep '^disoccluded_in\|^target' "$tmp/sqb.out"
for f in quality.json right_ours.png in_shows.png worst_0.png worst_1.png; do
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
