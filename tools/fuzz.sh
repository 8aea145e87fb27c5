#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c: clang, -fsanitize=fuzzer,address,undefined,
# CMake option P3D_FUZZ), replays their corpora and fuzzes each one for a while.
#
#   bash tools/fuzz.sh                 # every harness, 30 s each (what .ci/run does)
#   bash tools/fuzz.sh -t 600 fuzz_ply # one harness, ten minutes
#   bash tools/fuzz.sh -t 0            # build and replay the corpora only (a regression check)
#   bash tools/fuzz.sh -t 1200 -T 120  # long runs on a loaded machine: a 120 s per-input timeout
#
# Per harness: the committed seeds tests/fuzz/<harness>/ are replayed first (each file must pass: the
# corpus holds the inputs of every crash found so far); then libFuzzer runs for -t seconds on the seeds
# plus BUILD/fuzz-corpus/<harness>/ (new inputs, kept between runs, never committed). A crash, leak,
# timeout or out-of-memory is written to BUILD/fuzz-artifacts/<harness>/ and fails the script. libFuzzer's
# per-input timeout (-T, default 10 s) is wall-clock time: raise it when the machine is busy (a niced
# fuzzer sharing two cores with a build can wait seconds for the CPU on an input that takes microseconds).
# The last line of each harness's log (executions, coverage) is printed; full logs in BUILD/fuzz-logs/.
# Needs clang with its libFuzzer runtime (Debian: clang; bash tools/setup.sh --fuzz installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=30 build=build-fuzz jobs=2 timeout=10
while getopts "t:T:b:j:" o; do
  case $o in
    t) secs=$OPTARG ;;
    T) timeout=$OPTARG ;;
    b) build=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) echo "usage: tools/fuzz.sh [-t SECONDS] [-T INPUT_TIMEOUT] [-b BUILD_DIR] [-j JOBS] [HARNESS...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
command -v clang >/dev/null || { echo "fuzz.sh: clang not found (apt-get install clang)" >&2; exit 1; }
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -DP3D_FUZZ=ON -DP3D_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  "${launcher[@]}" >"$build.configure.log" 2>&1 || { cat "$build.configure.log" >&2; exit 1; }
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do harnesses+=("$(basename "$f" .c)"); done
fi
cmake --build "$build" -j "$jobs" --target "${harnesses[@]}" >"$build.build.log" 2>&1 || { tail -40 "$build.build.log" >&2; exit 1; }
mkdir -p "$build/fuzz-logs"
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# the harnesses write each input to a file: in memory when /dev/shm is there
[ -z "${TMPDIR:-}" ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
failed=0
for h in "${harnesses[@]}"; do
  seeds=tests/fuzz/$h corpus=$build/fuzz-corpus/$h artifacts=$build/fuzz-artifacts/$h/ log=$build/fuzz-logs/$h.log
  mkdir -p "$corpus" "$artifacts"
  common=(-timeout="$timeout" -rss_limit_mb=2560 -artifact_prefix="$artifacts" -print_final_stats=1)
  if ! "$build/$h" "${common[@]}" -runs=0 "$seeds" >"$log" 2>&1; then
    echo "FAIL $h: a seed of $seeds fails (log: $log)"; tail -30 "$log" >&2; failed=1; continue
  fi
  if [ "$secs" -gt 0 ]; then
    if ! "$build/$h" "${common[@]}" -max_total_time="$secs" -max_len=16384 "$corpus" "$seeds" >>"$log" 2>&1; then
      echo "FAIL $h: found a problem, input in $artifacts (log: $log)"; grep -E "ERROR|SUMMARY|Test unit" "$log" | head -5 >&2
      failed=1; continue
    fi
  fi
  runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | tail -1 | grep -o "[0-9]*$" || true)
  cov=$(grep -oE "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1 || true)
  echo "ok   $h: ${runs:-0} executions in ${secs} s, ${cov:-no coverage line}, corpus $(ls "$corpus" | wc -l) + $(ls "$seeds" | wc -l) seeds"
done
exit $failed
