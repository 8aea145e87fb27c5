#!/usr/bin/env bash
# quickstart.sh - the README's first command: installs what is needed, builds, and runs the furthest
# pipeline stage that exists today on the project's own sample (samples/), saying which stages ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
bash tools/build.sh build
bin=build/photo3d-gpu
out=out/sample
mkdir -p "$out"
echo
"$bin" info
echo
echo "quickstart: stage 1 (decode, processing size, resample photo and disparity) on samples/scene.png:"
# samples/README.md: disparity in 1/m = stored value / 65535 * 2.0
"$bin" prepare samples/scene.png --depth samples/scene_disp.png --depth-scale 0.0000305180 -o "$out"
echo
# Depth estimation (for photos without a depth map): needs the Tiefenrausch model, which is not part
# of the project; fetch_tiefenrausch.sh downloads, verifies and converts it when the network allows.
if ! "$bin" info | grep -Eq "^  tiefenrausch +/"; then
  bash tools/fetch_tiefenrausch.sh || echo "quickstart: could not install the Tiefenrausch model (offline?): skipping depth estimation"
fi
if "$bin" info | grep -Eq "^  tiefenrausch +/"; then
  echo "quickstart: depth estimation (Tiefenrausch) on samples/scene.png, as if it had no depth map:"
  "$bin" depth samples/scene.png --format npy,png16,vis -o "$out/depth"
fi
echo "quickstart: results in $out/"
echo "quickstart: not run yet because they are not built yet: LDI, inpainting, mesh export, video"
