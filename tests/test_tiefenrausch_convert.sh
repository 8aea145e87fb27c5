#!/usr/bin/env bash
# test_tiefenrausch_convert.sh - tools/convert_tiefenrausch.py and tools/fetch_tiefenrausch.sh on the
# released protobufs in ../shared/models/tiefenrausch (run by ctest from the source root):
#   1. the op statistics match SOURCE.txt (193 ops: 146 Int8Conv, 39 Int8Add, 5 Int8ResizeNearest,
#      1 NCHW2NHWC, 1 Int8Quantize, 1 Int8Dequantize; 3550841 parameters) and --check lists every op;
#   2. two conversions are byte-identical, and the blob holds the graph and 292 weight tensors;
#   3. a predict net with an unknown operator type, or an unknown argument, is refused by name and
#      writes nothing;
#   4. fetch_tiefenrausch.sh --from converts verified copies and refuses a file whose SHA-256 differs.
# Exit 77 (skipped) without ../shared or without a python3 with numpy.
set -u
PY=${P3D_PYTHON:-/usr/bin/python3}
cd "${P3D_SOURCE_DIR:-$(dirname "$0")/..}" || exit 2
SRC=../shared/models/tiefenrausch
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p3d-tief-convert-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0 skipped=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
finish() {
    echo "$passed passed, $failed failed, $skipped skipped"
    if [ "$failed" -gt 0 ]; then exit 1; fi
    if [ "$passed" -eq 0 ]; then exit 77; fi
    exit 0
}
if [ ! -f "$SRC/tiefenrausch.pb" ] || [ ! -f "$SRC/tiefenrausch_init.pb" ]; then
    echo "skip everything: $SRC not found (../shared is absent beside the project root)"
    skipped=1
    finish
fi
if ! "$PY" -c 'import numpy' 2>/dev/null; then
    echo "skip everything: $PY has no numpy (set P3D_PYTHON)"
    skipped=1
    finish
fi

# 1. statistics and --check
if "$PY" tools/convert_tiefenrausch.py --from "$SRC" -o "$tmp/a.p3dw" --check >"$tmp/a.log" 2>&1; then
    if grep -q "tiefenrausch.pb: 193 ops: 146 Int8Conv, 39 Int8Add, 5 Int8ResizeNearest, 1 NCHW2NHWC, 1 Int8Quantize, 1 Int8Dequantize" "$tmp/a.log" &&
        grep -q "3550841 parameters (146 uint8 weights, 146 int32 biases)" "$tmp/a.log" &&
        [ "$(grep -cE '^ *[0-9]+ (Int8|NCHW2NHWC)' "$tmp/a.log")" -eq 193 ]; then
        ok "op statistics match SOURCE.txt, --check lists 193 ops"
    else
        head -5 "$tmp/a.log"
        fail "op statistics"
    fi
else
    cat "$tmp/a.log"
    fail "conversion"
fi

# 2. deterministic, and the blob's contents
"$PY" tools/convert_tiefenrausch.py --from "$SRC" -o "$tmp/b.p3dw" >/dev/null 2>&1
if cmp -s "$tmp/a.p3dw" "$tmp/b.p3dw"; then ok "two conversions are byte-identical"; else fail "conversion is not deterministic"; fi
if "$PY" - "$tmp/a.p3dw" <<'EOF'; then ok "blob: graph.ops (193, 21), 146 u8 weights, 146 i32 biases, graph hparams"; else fail "blob contents"; fi
import sys
sys.path.insert(0, "tools")
import numpy as np
import p3dw
kind, hp, t = p3dw.read(sys.argv[1])
g = t["graph.ops"][0]
blobs = hp["graph.blobs"].split("\n")
w = [n for n, (a, s, z) in t.items() if a.dtype == np.uint8]
b = [n for n, (a, s, z) in t.items() if a.dtype == np.int32 and n != "graph.ops"]
assert kind == "tiefenrausch" and g.shape == (193, 21) and len(w) == 146 and len(b) == 146, (kind, g.shape)
assert hp["graph.columns"] == 21 and blobs[hp["graph.input"]] == "0" and blobs[hp["graph.output"]] == "623"
assert sorted(np.bincount(g[:, 0])) == sorted([1, 1, 146, 39, 5, 1])
first = t["1.first.conv.weight_int8"]
assert first[0].shape == (48, 3, 3, 3) and first[2] == 128 and abs(first[1] - 0.04153) < 1e-4, first[1:]
EOF

# 3. refusals by name: patch a copy of the predict net (same-length renames keep the protobuf valid)
patch() { # from to out
    "$PY" - "$SRC/tiefenrausch.pb" "$1" "$2" "$3" <<'EOF'
import sys
src, a, b, out = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode(), sys.argv[4]
data = open(src, "rb").read()
assert len(a) == len(b) and data.count(a) > 0
open(out, "wb").write(data.replace(a, b, 1))
EOF
}
for case in "Int8Add:Int8Mul:unknown operator type Int8Mul" "order:ordex:argument 'ordex' is not supported"; do
    IFS=: read -r from to want <<<"$case"
    mkdir -p "$tmp/$to"
    cp "$SRC/tiefenrausch_init.pb" "$tmp/$to/"
    patch "$from" "$to" "$tmp/$to/tiefenrausch.pb"
    if "$PY" tools/convert_tiefenrausch.py --from "$tmp/$to" -o "$tmp/$to/out.p3dw" >"$tmp/$to/log" 2>&1; then
        fail "$to accepted"
    elif grep -q "$want" "$tmp/$to/log" && [ ! -e "$tmp/$to/out.p3dw" ]; then
        ok "refused by name: $want"
    else
        cat "$tmp/$to/log"
        fail "$to: message should contain '$want' and no blob be written"
    fi
done

# 4. the installer's local path
if P3D_PYTHON=$PY tools/fetch_tiefenrausch.sh --from "$SRC" -o "$tmp/inst/tiefenrausch.p3dw" >"$tmp/f.log" 2>&1 &&
    cmp -s "$tmp/a.p3dw" "$tmp/inst/tiefenrausch.p3dw"; then
    ok "fetch_tiefenrausch.sh --from verifies and converts"
else
    cat "$tmp/f.log"
    fail "fetch_tiefenrausch.sh --from"
fi
mkdir -p "$tmp/bad"
cp "$SRC/tiefenrausch.pb" "$SRC/tiefenrausch_init.pb" "$tmp/bad/"
chmod u+w "$tmp/bad/tiefenrausch.pb"
printf 'x' >>"$tmp/bad/tiefenrausch.pb"
if P3D_PYTHON=$PY tools/fetch_tiefenrausch.sh --from "$tmp/bad" -o "$tmp/bad/out.p3dw" >"$tmp/bad.log" 2>&1; then
    fail "a modified protobuf was installed"
elif grep -q "SHA-256" "$tmp/bad.log" && [ ! -e "$tmp/bad/out.p3dw" ]; then
    ok "fetch_tiefenrausch.sh refuses a file with another SHA-256"
else
    cat "$tmp/bad.log"
    fail "fetch_tiefenrausch.sh on a modified file"
fi
finish
