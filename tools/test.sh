#!/usr/bin/env bash
# test.sh - sets up, builds and runs every test (the README's second command; .ci/run runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --test
bash tools/build.sh build
cd build
ctest --output-on-failure -j "$(nproc)"
