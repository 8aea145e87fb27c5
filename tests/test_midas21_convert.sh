#!/usr/bin/env bash
# MiDaS v2.1 converter and golden files (ctest; run from the source root).
#  1. checks $P3D_BUILD_DIR/testdata/midas-{small,large}-random.p3dw (the ctest fixture midas21_weights writes
#     them with tools/make_midas21_weights.py, numpy only) against tests/data/midas21/manifest.json, rewriting
#     a missing or stale one;
#  2. runs tests/test_midas21_convert.py: the converter refuses renamed, missing, extra, mis-shaped, mis-typed
#     keys and the other model's checkpoint, naming them; BN folding; and, with torch, the modules' key
#     tables, the goldens and the command line on a .pt file.
# Exit 77 (skipped) only when no python3 with numpy exists, i.e. nothing ran.
set -u
cd "${P3D_SOURCE_DIR:-$(dirname "$0")/..}" || exit 1
. tests/convert_lib.sh
run_convert_tests tools/make_midas21_weights.py tests/data/midas21/manifest.json tests/test_midas21_convert.py
