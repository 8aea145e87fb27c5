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
. tests/convert_lib.sh
run_convert_tests tools/make_test_weights.py tests/data/inpaint/manifest.json tests/test_inpaint_convert.py
