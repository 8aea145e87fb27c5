#!/usr/bin/env bash
# test_midas21_cmd.sh - `photo3d-gpu depth --model midas-small|midas-large` with the random-weight blobs
# of $P3D_BUILD_DIR/testdata (the ctest fixture midas21_weights writes them): the output files and size
# for samples/scene.png (run.py's input size rule), its values against PyTorch on the same photo (when
# /usr/bin/python3 has torch and PIL: tools/midas21_nets.py with the same random weights after run.py's
# preprocessing as tools/gen_midas21_golden.py emulates it; max |diff| <= 1e-4 * max |ref|, figure
# printed), and the failures: a blob of the other kind, a missing model.
set -u
. tests/cli_lib.sh
testdata="${P3D_BUILD_DIR:-build}/testdata"
for k in small large; do
  if [ ! -r "$testdata/midas-$k-random.p3dw" ]; then
    echo "SKIP: $testdata/midas-$k-random.p3dw not found (the ctest fixture midas21_weights writes it)"
    exit 77
  fi
done
mkdir -p "$tmp/models" "$tmp/swapped" "$tmp/empty"
for k in small large; do ln -s "$(cd "$testdata" && pwd)/midas-$k-random.p3dw" "$tmp/models/midas-$k.p3dw"; done
ln -s "$(cd "$testdata" && pwd)/midas-large-random.p3dw" "$tmp/swapped/midas-small.p3dw"

# scene.png is 640x448: small -> 256 x round(179.2 / 32) * 32 = 256x192; large -> 384 x round(268.8 / 32) * 32 = 384x256.
run small 0 "scene.png: 640x448 -> disparity 256x192" -- depth --model midas-small --model-dir "$tmp/models" \
  --format npy,png16,vis samples/scene.png -o "$tmp/s"
run large 0 "scene.png: 640x448 -> disparity 384x256" -- depth --model midas-large --model-dir "$tmp/models" \
  samples/scene.png -o "$tmp/l"
for f in s/scene.npy s/scene.png s/scene_vis.png l/scene.npy l/scene.png; do
  [ -s "$tmp/$f" ] && ok "output $f" || bad "output $f missing"
done

if ! "$py" -c 'import numpy, torch, PIL' 2>/dev/null; then
  skipped "comparison with PyTorch: $py lacks numpy, torch or PIL"
else
  for k in small large; do
    d=$([ $k = small ] && echo s || echo l)
    if "$py" - "$k" "$tmp/$d/scene.npy" <<'PY'
import sys
import numpy as np
import torch
from PIL import Image
sys.path.insert(0, "tools")
import gen_midas21_golden as gen, midas21_nets, make_midas21_weights as mw
kind = "midas-" + sys.argv[1]
out = np.load(sys.argv[2])
rgb = np.asarray(Image.open("samples/scene.png").convert("RGB"))
nw, nh = gen.get_size(rgb.shape[1], rgb.shape[0], gen.NET_SIZE[kind])
net = midas21_nets.load_numpy(midas21_nets.build(kind), mw.random_state_dict(kind))
with torch.no_grad():
    ref = net(torch.from_numpy(gen.preprocess(rgb, nw, nh)[None])).numpy()[0]
assert out.dtype == np.float32 and out.shape == ref.shape == (nh, nw), (out.shape, ref.shape)
r = float(np.abs(out - ref).max() / np.abs(ref).max())
print(f"{kind} scene.png {nw}x{nh}: max|diff| / max|ref| = {r:.3g} (limit 1e-4), min {out.min():.4g}, max {out.max():.4g}")
assert r <= 1e-4 and out.min() >= 0
PY
    then ok "midas-$k-matches-pytorch"; else bad "midas-$k-matches-pytorch"; fi
  done
fi

run wrong-kind 1 "is a midas-large model, expected midas-small" -- depth --model midas-small --model-dir "$tmp/swapped" \
  samples/scene.png -o "$tmp/w"
P3D_MODEL_DIR= XDG_CACHE_HOME="$tmp/empty" run missing-model 1 \
  "midas-large.p3dw not found in $tmp/empty/models.*convert it with tools/convert_midas21.py" -- \
  depth --model midas-large --model-dir "$tmp/empty/models" samples/scene.png -o "$tmp/none"
finish
