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
echo "quickstart: results in $out/"
echo "quickstart: not run yet because they are not built yet: LDI, inpainting, mesh export, video"
