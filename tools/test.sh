#!/usr/bin/env bash
# test.sh - sets up, builds and runs every test (the README's second command; .ci/run runs it), then
# prints one line naming every skipped check and why (tools/ctest_skips.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --test
bash tools/build.sh build
cd build
rc=0
ctest --output-on-failure -j "$(nproc)" || rc=$?
/usr/bin/python3 ../tools/ctest_skips.py .
exit $rc
