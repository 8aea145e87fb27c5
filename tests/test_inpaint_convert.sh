#!/usr/bin/env bash
# Inpainting-net converter and golden files (ctest; run from the source root).
#  1. regenerates $P3D_BUILD_DIR/testdata/{edge,depth,color}-random.p3dw with tools/make_test_weights.py
#     (numpy only; kept when their SHA-256 already matches tests/data/inpaint/manifest.json) and checks
#     the SHA-256s against the manifest;
#  2. runs tests/test_inpaint_convert.py: the converter refuses renamed, missing, extra, mis-shaped keys
#     and a mask_conv that is not all ones, naming the key; folding algebra; and, with torch, the goldens.
# Exit 77 (skipped) only when no python3 with numpy exists, i.e. nothing ran.
set -u
cd "${P3D_SOURCE_DIR:-$(dirname "$0")/..}" || exit 1
build="${P3D_BUILD_DIR:-build}"
testdata="$build/testdata"

py=""
for cand in /usr/bin/python3 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import numpy' >/dev/null 2>&1; then
        py="$cand"
        break
    fi
done
if [ -z "$py" ]; then
    echo "SKIP: no python3 with numpy (tried /usr/bin/python3, python3)"
    exit 77
fi

status=0
echo "== random-weight blobs in $testdata"
"$py" tools/make_test_weights.py "$testdata" --manifest tests/data/inpaint/manifest.json || status=1
"$py" -c 'import torch' >/dev/null 2>&1 || echo "note: torch not installed; its tests are skipped"
echo "== tests/test_inpaint_convert.py"
P3D_TESTDATA="$testdata" "$py" tests/test_inpaint_convert.py || status=1
exit $status
