#!/usr/bin/env bash
# test_converter.sh - the Python half of the weights path, run by ctest from the source root.
#
#   1. tests/test_p3dw.py: tools/p3dw.py's unit tests (numpy only);
#   2. with torch: tools/convert_example.py re-run on the committed tests/data/example.pth must give
#      the committed example.p3dw and example_values.txt byte for byte (conversion is deterministic);
#   3. with torch: a checkpoint with a renamed key and one with a wrong shape are refused, exit status
#      non-zero, the key's name on stderr, no blob written.
# Without torch, 2 and 3 are reported as SKIP; exit 77 only when nothing at all could run.
set -u
PY=${P3D_PYTHON:-/usr/bin/python3} # the pyenv python3 on PATH has no numpy
cd "${P3D_SOURCE_DIR:-$(dirname "$0")/..}" || exit 2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/p3d-converter-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0 skipped=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "skip $1: $2"; skipped=$((skipped + 1)); }
finish() {
    echo "$passed passed, $failed failed, $skipped skipped"
    if [ "$failed" -gt 0 ]; then exit 1; fi
    if [ "$passed" -eq 0 ]; then exit 77; fi
    exit 0
}

if ! "$PY" -c 'import numpy' 2>/dev/null; then
    skip "everything" "$PY has no numpy"
    finish
fi

if "$PY" tests/test_p3dw.py >"$tmp/unit.log" 2>&1; then
    ok "p3dw unit tests ($(grep -o 'Ran [0-9]* tests' "$tmp/unit.log"))"
else
    cat "$tmp/unit.log"
    fail "p3dw unit tests"
fi

if ! "$PY" -c 'import torch' 2>/dev/null; then
    for t in "deterministic conversion" "renamed key refused" "wrong shape refused"; do
        skip "$t" "$PY has no torch"
    done
    finish
fi

if "$PY" tools/convert_example.py tests/data/example.pth "$tmp/example.p3dw" --values "$tmp/values.txt" \
    >"$tmp/convert.log" 2>&1 &&
    cmp tests/data/example.p3dw "$tmp/example.p3dw" && cmp tests/data/example_values.txt "$tmp/values.txt"; then
    ok "deterministic conversion (byte-identical blob and values)"
else
    cat "$tmp/convert.log"
    fail "deterministic conversion: re-run tools/convert_example.py and commit its output if the change is meant"
fi

# Broken checkpoints, made from the committed one.
"$PY" - "$tmp" <<'EOF' || fail "making the broken checkpoints"
import sys
import torch

out = sys.argv[1]
sd = torch.load("tests/data/example.pth", map_location="cpu", weights_only=True)
renamed = dict(sd)
renamed["bn.beta"] = renamed.pop("bn.bias")
torch.save(renamed, f"{out}/renamed.pth")
shaped = dict(sd)
shaped["conv.weight"] = torch.zeros(4, 3, 5, 5)
torch.save(shaped, f"{out}/shape.pth")
EOF

# expect_refusal LABEL CHECKPOINT NEEDLE...: conversion must fail, name every needle on stderr, write nothing.
expect_refusal() {
    local label=$1 pth=$2 needle
    shift 2
    if "$PY" tools/convert_example.py "$pth" "$tmp/refused.p3dw" >/dev/null 2>"$tmp/err.log"; then
        fail "$label: converted without complaint"
        return
    fi
    for needle in "$@"; do
        if ! grep -qF -- "$needle" "$tmp/err.log"; then
            cat "$tmp/err.log"
            fail "$label: stderr does not name '$needle'"
            return
        fi
    done
    if ls "$tmp" | grep -q '^refused\.p3dw'; then
        fail "$label: a blob was written anyway"
        return
    fi
    ok "$label ($(tail -n 1 "$tmp/err.log" | sed 's/^ *//'))"
}
expect_refusal "renamed key refused" "$tmp/renamed.pth" "unknown tensor bn.beta" "missing tensor bn.bias (expected [4])"
expect_refusal "wrong shape refused" "$tmp/shape.pth" "conv.weight: got [4,3,5,5], expected [4,3,3,3]"
finish
