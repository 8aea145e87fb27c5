# convert_lib.sh - sourced by the converter tests (tests/test_*_convert.sh), run from the source root:
#   run_convert_tests MAKE_SCRIPT MANIFEST UNITTEST
# checks the random-weight blobs in $P3D_BUILD_DIR/testdata against MANIFEST with MAKE_SCRIPT --manifest
# (rewriting a missing or stale one), then runs the python unittest file UNITTEST with P3D_TESTDATA set,
# and exits 1 if either failed. Exit 77 (skipped) only when no python3 with numpy exists (nothing ran).
run_convert_tests() {
    local make=$1 manifest=$2 unittest=$3 testdata="${P3D_BUILD_DIR:-build}/testdata" py="" status=0
    for cand in /usr/bin/python3 python3; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import numpy' >/dev/null 2>&1; then
            py="$cand"
            break
        fi
    done
    if [ -z "$py" ]; then
        echo "SKIP: no python3 with numpy (tried /usr/bin/python3, python3)"
        exit 77
    fi
    echo "== random-weight blobs in $testdata"
    "$py" "$make" "$testdata" --manifest "$manifest" || status=1
    "$py" -c 'import torch' >/dev/null 2>&1 || echo "note: torch not installed; its tests are skipped"
    echo "== $unittest"
    P3D_TESTDATA="$testdata" "$py" "$unittest" || status=1
    exit $status
}
