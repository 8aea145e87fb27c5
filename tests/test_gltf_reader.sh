#!/usr/bin/env bash
# test_gltf_reader.sh - the compact mesh's GLB (`mesh -o X.glb`) read by pygltflib, a glTF library that is not
# ours (tests/check_gltf_pygltflib.py): accessors, bounds, indices, texture coordinates, the embedded atlas at
# the size the program reported, the unlit material and the camera metadata. SKIP (77) only where pygltflib
# (tools/setup.sh --test) cannot be imported.
set -u
. "$(dirname "$0")/cli_lib.sh"
src=${P3D_SOURCE_DIR:-.}
if ! "$py" -c "import pygltflib" 2>/dev/null; then skipped "$py cannot import pygltflib (tools/setup.sh --test)"; finish; fi
if ! "$py" -c "import numpy, PIL" 2>/dev/null; then bad "$py has pygltflib but not numpy and PIL"; finish; fi

# compact mesh NAME ARGS...: writes $tmp/NAME.glb, checks it with the atlas size from the program's report
compact() {
  local name=$1
  shift
  run "$name: mesh" 0 "atlas [0-9]+x[0-9]+" -- mesh "$@" --fill classic --device cpu -o "$tmp/$name.glb" || return
  local size
  size=$(grep -Eo "atlas [0-9]+x[0-9]+" "$tmp/out" "$tmp/err" | head -1 | grep -Eo "[0-9]+x[0-9]+")
  if "$py" tests/check_gltf_pygltflib.py "$tmp/$name.glb" "${size%x*}" "${size#*x}" >"$tmp/check.txt" 2>&1; then
    ok "$name: pygltflib reads it and every check holds: $(tail -1 "$tmp/check.txt")"
  else
    bad "$name: $(cat "$tmp/check.txt")"
  fi
}
compact sample "$src/samples/scene.png" --depth "$src/samples/scene_disp.png" --longer-side 480
finish
