#!/usr/bin/env bash
# test_mesh_glb.sh - validates a GLB written by the mesh writer with an independent reader
# (tests/check_glb.py: container, JSON, buffer views, accessors, extensions, axes, winding).
set -u
py=${P3D_PYTHON:-/usr/bin/python3}
gen="${P3D_BUILD_DIR:?}/test_mesh"
if ! "$py" -c "import numpy" 2>/dev/null; then echo "SKIP: $py has no numpy"; exit 77; fi
if [ ! -x "$gen" ]; then echo "SKIP: $gen not built"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" --write-glb "$tmp/sample.glb" || { echo "FAIL writing the sample GLB"; exit 1; }
"$py" tests/check_glb.py "$tmp/sample.glb"
