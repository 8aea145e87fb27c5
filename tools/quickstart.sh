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
echo "quickstart: stages run on samples/scene.png:"
echo "quickstart: not yet implemented, so not run: depth estimation, LDI, inpainting, mesh, video"
