#!/usr/bin/env bash
# quickstart.sh - the README's first command: installs what is needed, builds, and turns the project's
# own sample (samples/scene.png + samples/scene_disp.png, made by tools/make_sample.py) into a 3D photo:
# depth map, inpainted mesh (PLY + GLB), the four parallax videos and two still views.
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
echo "quickstart: photo3d-gpu run on samples/scene.png (its depth map is samples/scene_disp.png):"
"$bin" run samples/scene.png --depth samples/scene_disp.png -o "$out" --glb --json "$out/report.json"
echo
echo "quickstart: two still views, 2 cm to the left and to the right of the photo's camera:"
"$bin" render "$out/mesh/scene.ply" --pose -0.02,0,0 --pose 0.02,0,0 -o "$out/stills"
echo
echo "quickstart: results in $out/: depth/ mesh/ video/ stills/ report.json"
