#!/usr/bin/env bash
# test_depth_midas.sh - `photo3d-gpu depth --model midas-v1` with the random-weight blob that the ctest
# fixture midas_weights writes ($P3D_BUILD_DIR/testdata/midas-v1-random.p3dw): the golden 300x75 photo of
# tests/data/midas (written as a PNG) end to end against PyTorch's network output (384x96) and, with
# --postprocess, the reference's 640x160 map (max |diff| <= 1e-4 * max |ref|, figure printed); the output
# shapes for samples/scene.png (640x448 -> 384x288, post-processed 640x448); usage errors and a missing model.
set -u
. tests/cli_lib.sh

run post-needs-midas 2 "--postprocess is the midas-v1 reference's post-processing" -- \
  depth --postprocess samples/scene.png
mkdir -p "$tmp/empty"
P3D_MODEL_DIR= XDG_CACHE_HOME="$tmp/empty" run missing-model 1 \
  "midas-v1.p3dw not found in $tmp/empty/models.*convert MiDaS/model.pt with tools/convert_midas.py" -- \
  depth --model midas-v1 --model-dir "$tmp/empty/models" samples/scene.png -o "$tmp/none"

blob="${P3D_BUILD_DIR:-build}/testdata/midas-v1-random.p3dw"
if [ ! -r "$blob" ] || ! "$py" -c 'import numpy' 2>/dev/null; then
  skipped "model cases: $blob (the ctest fixture midas_weights writes it) or a python3 with numpy is missing"
  finish
fi
mkdir -p "$tmp/models"
ln -s "$(cd "$(dirname "$blob")" && pwd)/$(basename "$blob")" "$tmp/models/midas-v1.p3dw"
"$py" -c 'import sys, numpy as np
sys.path.insert(0, "tools")
from make_sample import write_png
write_png(sys.argv[2], np.load(sys.argv[1]))' tests/data/midas/photo.npy "$tmp/photo.png"

# compare GOT.npy REF.npy NAME: shapes equal and max |diff| <= 1e-4 max |ref|
compare() {
  if "$py" - "$@" <<'PY'
import sys, numpy as np
got, ref = np.load(sys.argv[1]), np.load(sys.argv[2]).squeeze()
assert got.shape == ref.shape, (got.shape, ref.shape)
r = np.abs(got - ref).max() / np.abs(ref).max()
print(f"{sys.argv[3]}: max|diff| / max|ref| = {r:.3g} (limit 1e-4)")
assert r <= 1e-4
PY
  then ok "$3"; else bad "$3"; fi
}

run photo 0 "photo.png: 300x75 -> disparity 384x96" -- depth --model midas-v1 --model-dir "$tmp/models" \
  --device cpu "$tmp/photo.png" -o "$tmp/net"
compare "$tmp/net/photo.npy" tests/data/midas/photo_out.npy photo-matches-pytorch
P3D_MODEL_DIR="$tmp/models" run photo-post 0 "photo.png: 300x75 -> disparity 640x160" -- \
  depth --model midas-v1 --postprocess --device cpu "$tmp/photo.png" -o "$tmp/post"
compare "$tmp/post/photo.npy" tests/data/midas/photo_post.npy post-matches-reference

run scene 0 "scene.png: 640x448 -> disparity 384x288" -- depth --model midas-v1 --model-dir "$tmp/models" \
  --format npy,png16,vis samples/scene.png -o "$tmp/scene"
for f in scene.npy scene.png scene_vis.png; do [ -s "$tmp/scene/$f" ] || bad "output $f missing"; done
run scene-post 0 "scene.png: 640x448 -> disparity 640x448" -- depth --model midas-v1 --postprocess \
  --model-dir "$tmp/models" samples/scene.png -o "$tmp/scene-post"
if "$py" -c 'import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.shape == (288, 384) and b.shape == (448, 640), (a.shape, b.shape)
assert a.dtype == b.dtype == np.float32 and np.isfinite(a).all() and a.std() > 0' \
  "$tmp/scene/scene.npy" "$tmp/scene-post/scene.npy"; then ok scene-shapes; else bad scene-shapes; fi
finish
