#!/usr/bin/env bash
# test_net_cmd.sh - `photo3d-gpu net` on the golden inputs of tests/data/inpaint (the random-weight
# blobs of $P3D_BUILD_DIR/testdata, written by the ctest fixture inpaint_weights), its .npy output
# compared with the PyTorch golden (max |diff| <= 1e-4 * max |ref|, figure printed); input promotion
# ((C, H, W) and (H, W) for one patch); and the failures: missing input file, wrong input count, wrong
# shape, unreadable dtype, wrong-kind weights, unknown model or option. A failed run leaves no output.
# Exit 77 (skipped) when python3 with numpy or the blobs are missing.
set -u
cd "${P3D_SOURCE_DIR:-$(dirname "$0")/..}" || exit 1
bin="${P3D_BIN:-build/photo3d-gpu}"
testdata="${P3D_BUILD_DIR:-build}/testdata"
gold=tests/data/inpaint
py=/usr/bin/python3
if ! "$py" -c 'import numpy' >/dev/null 2>&1; then echo "SKIP: $py with numpy not found"; exit 77; fi
for m in edge depth color; do
    if [ ! -r "$testdata/$m-random.p3dw" ]; then
        echo "SKIP: $testdata/$m-random.p3dw not found (the ctest fixture inpaint_weights writes it)"
        exit 77
    fi
done
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# golden_inputs MODEL [PREFIX]: the --input options in forward_3P order (manifest.json).
golden_inputs() {
    "$py" -c 'import json, sys
args = json.load(open(sys.argv[1]))["forward_3P_args"][sys.argv[2]]
print(" ".join("--input %s/%s_in_%s.npy" % (sys.argv[3], sys.argv[2], a) for a in args))' \
        "$gold/manifest.json" "$1" "${2:-$gold}"
}

# compare NAME OUT.npy REF.npy [PATCH]: the parity criterion on all patches or one.
compare() {
    if "$py" -c 'import sys, numpy as np
out, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
if len(sys.argv) > 3: ref = ref[int(sys.argv[3]):int(sys.argv[3]) + 1]
assert out.dtype == np.float32 and out.shape == ref.shape, (out.dtype, out.shape, ref.shape)
r = float(np.abs(out - ref).max() / np.abs(ref).max())
print("  max|diff| / max|ref| = %.3g (limit 1e-4)" % r)
sys.exit(0 if r <= 1e-4 else 1)' "$2" "$3" ${4:+"$4"}; then ok "$1"; else bad "$1"; fi
}

for m in edge depth color; do
    # shellcheck disable=SC2046
    if "$bin" net --model "$m" --weights "$testdata/$m-random.p3dw" $(golden_inputs "$m") \
        --output "$tmp/$m.npy" --device cpu 2>"$tmp/err"; then
        compare "net $m N=2" "$tmp/$m.npy" "$gold/${m}_out.npy"
    else
        bad "net $m N=2: exit $?"; cat "$tmp/err"
    fi
done

# One patch given as (C, H, W) and (H, W) arrays, uint8 maps as bool: promoted to (1, C, H, W).
mkdir -p "$tmp/p0"
"$py" -c 'import sys, numpy as np
for a in ("mask", "context", "depth", "edge"):
    x = np.load("%s/depth_in_%s.npy" % (sys.argv[1], a))[0]
    x = x[0] if a != "depth" else x
    np.save("%s/depth_in_%s.npy" % (sys.argv[2], a), x.astype(bool) if x.dtype == np.uint8 else x)' "$gold" "$tmp/p0"
# shellcheck disable=SC2046
if "$bin" net --model depth --weights "$testdata/depth-random.p3dw" $(golden_inputs depth "$tmp/p0") \
    --output "$tmp/p0.npy" --device cpu 2>"$tmp/err"; then
    compare "net depth one patch, promoted" "$tmp/p0.npy" "$gold/depth_out.npy" 0
else
    bad "net depth one patch: exit $?"; cat "$tmp/err"
fi

# fails NAME WANT_RC PATTERN -- ARGS...: exit status, message on stderr, no output file left behind.
fails() {
    local name=$1 want=$2 pat=$3
    shift 4
    rm -f "$tmp/fail.npy"
    "$bin" net "$@" --output "$tmp/fail.npy" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, wanted $want"; cat "$tmp/err"; return; fi
    if ! grep -Eq -- "$pat" "$tmp/err"; then bad "$name: stderr lacks /$pat/"; cat "$tmp/err"; return; fi
    if ls "$tmp" | grep -q '^fail\.npy'; then bad "$name: left $(ls "$tmp" | grep '^fail\.npy')"; return; fi
    ok "$name"
}

cw="--model color --weights $testdata/color-random.p3dw"
# shellcheck disable=SC2086
{
    fails missing-input 1 "nope\.npy: cannot open" -- $cw --input "$tmp/nope.npy" --input "$gold/color_in_context.npy" \
        --input "$gold/color_in_rgb.npy" --input "$gold/color_in_edge.npy"
    fails input-count 2 "takes 4 --input files \(mask, context, rgb, edge\), got 3" -- $cw \
        --input "$gold/color_in_mask.npy" --input "$gold/color_in_context.npy" --input "$gold/color_in_rgb.npy"
    fails wrong-channels 2 "color_in_rgb\.npy: input 1 \(mask\) of color has shape \[2,3,81,101\], expected \[2,1,81,101\]" \
        -- $cw --input "$gold/color_in_rgb.npy" --input "$gold/color_in_context.npy" --input "$gold/color_in_rgb.npy" \
        --input "$gold/color_in_edge.npy"
    fails wrong-size 2 "p0/depth_in_edge\.npy: input 4 \(edge\) of color has shape \[1,1,81,101\], expected \[2,1,81,101\]" \
        -- $cw --input "$gold/color_in_mask.npy" --input "$gold/color_in_context.npy" --input "$gold/color_in_rgb.npy" \
        --input "$tmp/p0/depth_in_edge.npy"
    "$py" -c 'import sys, numpy as np; np.save(sys.argv[1], np.zeros((2, 1, 81, 101), np.int16))' "$tmp/i16.npy"
    fails wrong-dtype 1 "i16\.npy: \.npy dtype '<i2' is not supported" -- $cw --input "$tmp/i16.npy" \
        --input "$gold/color_in_context.npy" --input "$gold/color_in_rgb.npy" --input "$gold/color_in_edge.npy"
    fails not-npy 1 "color-random\.p3dw: not a \.npy file" -- $cw --input "$testdata/color-random.p3dw" \
        --input "$gold/color_in_context.npy" --input "$gold/color_in_rgb.npy" --input "$gold/color_in_edge.npy"
}
# shellcheck disable=SC2046
fails wrong-kind 1 "depth-random\.p3dw: is a inpaint-depth model, expected inpaint-edge" -- --model edge \
    --weights "$testdata/depth-random.p3dw" $(golden_inputs edge) --device cpu
fails unknown-model 2 "unknown inpainting model 'mesh'" -- --model mesh --weights x --input x
fails unknown-option 2 "unknown option '--bogus'" -- --model edge --bogus
fails missing-option 2 "are required" -- --model edge --input x
fails bad-device 2 "device" -- --model depth --weights "$testdata/depth-random.p3dw" --input x --input x --input x \
    --input x --device gpu7

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
