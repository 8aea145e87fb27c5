#!/usr/bin/env bash
# build.sh [BUILD_DIR] [extra cmake args...] - configures and builds (CUDA backend when nvcc exists).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/env.sh
dir="${1:-build}"
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; exit 1; }
grep "photo3d-gpu:" "$dir.configure.log" | sed 's/^-- //'
cmake --build "$dir" -j "$(nproc)" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; exit 1; }
echo "built $dir/photo3d-gpu"
