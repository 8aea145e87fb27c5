#!/usr/bin/env bash
# gpu_check.sh - everything a GPU can tell us, in one command, on a machine with an NVIDIA GPU:
#   1. configure and build for the local GPU's architecture only (CMAKE_CUDA_ARCHITECTURES=native);
#   2. ctest -L gpu with P3D_REQUIRE_GPU=1 (a CUDA context that cannot be created fails, never skips);
#   3. bench --device cuda over every stage (CUDA events) -> OUTDIR/bench_cuda.json, with the job cut
#      into its stages (pipeline.stage.*, pipeline.stage-learned.*: bench/stages_flow.c) so the summary
#      shows where the time goes and judges issue 14's targets (photo -> mesh < 100 ms without networks,
#      < 300 ms with; four 240-frame videos rendered and encoded < 1.5 s, NVENC when FFmpeg has it);
#   4. the sample and moon through `run` with --device cuda and --device cpu: the meshes compared byte
#      for byte, frames of the four presets rendered from the same mesh by both backends compared by
#      PSNR, the CUDA job's per-stage times (with its four 240-frame videos when FFmpeg was found);
#   5. a summary table on stdout and OUTDIR/summary.json (tools/gpu_check_summary.py).
# Sized for at most 8 minutes on 16 cores, the build included.
#
# usage: tools/gpu_check.sh [--deps DIR] [--fixtures DIR] [--skip-build] OUTDIR
#        tools/gpu_check.sh --stage-deps DIR     on the development machine: put in DIR the Debian
#                                                packages the build needs and the moon fixture, for a
#                                                GPU machine that reaches no package registry
#        tools/gpu_check.sh --summarize OUTDIR   the summary again from OUTDIR's files
# Exit: 0 every check passed, 1 a check failed, 2 usage error or no GPU here.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  sed -n 's/^# \{0,1\}//; 15,20p' "$0" >&2
  exit 2
}

# Packages the build cannot do without (CMake: REQUIRED) and that a bare CUDA image may lack; FFmpeg and
# OpenBLAS are optional and too large to carry (the summary says what was left out).
stage_pkgs="libyaml-dev libyaml-0-2 libstb-dev libstb0 pkgconf pkgconf-bin libpkgconf3 libjpeg62-turbo-dev libjpeg62-turbo
  libmeshoptimizer-dev libmeshoptimizer2d"

stage_deps() {
  local dir=$1
  mkdir -p "$dir/debs" "$dir/fixtures" || exit 1
  (cd "$dir/debs" && apt-get download $stage_pkgs) || { echo "gpu_check: apt-get download failed (run 'apt-get update' first?)" >&2; exit 1; }
  if [ -d ../shared/fixtures/moon ]; then
    cp -r ../shared/fixtures/moon "$dir/fixtures/" && chmod -R u+w "$dir/fixtures"
  else
    echo "gpu_check: ../shared/fixtures/moon not found: the GPU run will do the sample only" >&2
  fi
  echo "staged $(ls "$dir/debs" | wc -l) packages ($(du -sh "$dir" | cut -f1)) in $dir"
  echo "carry it to the GPU machine (.gpudeps/ is git-ignored; another folder needs an entry in .git/info/exclude)"
  exit 0
}

deps="" fixtures="" skip_build=0 out="" summarize=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage ;;
    --stage-deps) [ $# -ge 2 ] || usage; stage_deps "$2" ;;
    --summarize) summarize=1 ;;
    --deps) [ $# -ge 2 ] || usage; deps=$2; shift ;;
    --fixtures) [ $# -ge 2 ] || usage; fixtures=$2; shift ;;
    --skip-build) skip_build=1 ;;
    -*) echo "gpu_check: unknown option '$1'" >&2; usage ;;
    *) [ -z "$out" ] || { echo "gpu_check: one OUTDIR only ('$out', '$1')" >&2; usage; }; out=$1 ;;
  esac
  shift
done
[ -n "$out" ] || { echo "gpu_check: OUTDIR missing" >&2; usage; }
py=${P3D_PYTHON:-python3}
if [ "$summarize" = 1 ]; then
  exec "$py" tools/gpu_check_summary.py "$out"
fi

# ---- 0. a GPU, or nothing to check --------------------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi -L lists none): run it on a machine with one (README: 'GPU check')" >&2
  exit 2
fi
. tools/env.sh
[ -n "$P3D_NVCC" ] || { echo "gpu_check: no nvcc (CUDA toolkit) on PATH or in /usr/local/cuda/bin" >&2; exit 2; }
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
t_start=$(date +%s)
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader
  "$P3D_NVCC" --version | tail -1
  echo "cores $(nproc)"
} >"$out/env.txt" 2>&1

step() { # step NAME SECONDS RC: one line of steps.tsv
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$out/steps.tsv"
}
: >"$out/steps.tsv"

# ---- 1. dependencies carried in, then the build -------------------------------------------------
if [ -n "$deps" ]; then
  prefix=/tmp/p3d-deps
  mkdir -p "$prefix"
  for f in "$deps"/debs/*.deb; do dpkg -x "$f" "$prefix" || exit 1; done
  # The packages' .pc files say prefix=/usr: the sysroot prefix makes their -I/-L point into $prefix.
  export PKG_CONFIG_SYSROOT_DIR=$prefix
  export PKG_CONFIG_PATH=$prefix/usr/lib/x86_64-linux-gnu/pkgconfig:$prefix/usr/share/pkgconfig
  if ! command -v pkg-config >/dev/null 2>&1; then
    # The carried pkgconf needs its carried library: a wrapper gives it that, and nothing else.
    mkdir -p "$prefix/wrap"
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$prefix/usr/lib/x86_64-linux-gnu" "$prefix/usr/bin/pkgconf" \
      >"$prefix/wrap/pkg-config"
    chmod +x "$prefix/wrap/pkg-config"
    export PATH=$prefix/wrap:$PATH
  fi
  export CMAKE_PREFIX_PATH=$prefix/usr
  # Only our programs get the carried libraries (cmake and nvcc keep the machine's own).
  export P3D_RUN_LD=$prefix/usr/lib/x86_64-linux-gnu
  [ -n "$fixtures" ] || [ ! -d "$deps/fixtures" ] || fixtures=$deps/fixtures
fi
[ -n "$fixtures" ] || fixtures=../shared/fixtures
b=build-gpu
if [ "$skip_build" = 0 ]; then
  t=$(date +%s)
  gen=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  cmake -S . -B "$b" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DP3D_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native \
    >"$out/configure.log" 2>&1 && cmake --build "$b" -j "$(nproc)" >"$out/build.log" 2>&1
  rc=$?
  step build $(( $(date +%s) - t )) $rc
  grep "photo3d-gpu:" "$out/configure.log" | sed 's/^-- //' >>"$out/env.txt"
  if [ $rc -ne 0 ]; then
    tail -40 "$out/configure.log" "$out/build.log" >&2
    "$py" tools/gpu_check_summary.py "$out"
    exit 1
  fi
fi
runp() { LD_LIBRARY_PATH=${P3D_RUN_LD:+$P3D_RUN_LD:}${LD_LIBRARY_PATH:-} "$@"; }
bin=$root/$b/photo3d-gpu

# ---- 2. the CPU-vs-CUDA comparisons, strict ---------------------------------------------------------
t=$(date +%s)
(cd "$b" && P3D_REQUIRE_GPU=1 runp ctest -L gpu --no-tests=error --output-on-failure -j 4 --timeout 300) >"$out/ctest_gpu.log" 2>&1
rc=$?
step ctest_gpu $(( $(date +%s) - t )) $rc

# ---- 3. every bench stage on the GPU ----------------------------------------------------------------
t=$(date +%s)
runp "$b/bench" --device cuda --runs 5 --json "$out/bench_cuda.json" >"$out/bench_cuda.log" 2>&1
rc=$?
step bench_cuda $(( $(date +%s) - t )) $rc

# ---- 4. the whole job on both backends ------------------------------------------------------------
inputs=("sample samples/scene.png samples/scene_disp.png")
if [ -f "$fixtures/moon/moon.jpg" ] && [ -f "$fixtures/moon/moon.npy" ]; then
  inputs+=("moon $fixtures/moon/moon.jpg $fixtures/moon/moon.npy")
else
  echo "moon skipped: $fixtures/moon not found" >>"$out/env.txt"
fi
: >"$out/compare.tsv"
for item in "${inputs[@]}"; do
  set -- $item
  name=$1 img=$2 dep=$3
  for dev in cuda cpu; do
    extra=()
    # The CPU's videos take minutes: its mesh and frames are compared instead. Without FFmpeg there are
    # no videos at all; the frame rate then comes from the PNG renders below.
    if [ "$dev" = cpu ] || ! grep -q "FFmpeg=yes" "$out/env.txt"; then extra=(--mesh-only); fi
    t=$(date +%s)
    runp "$bin" -q run "$img" --depth "$dep" -o "$out/run-$dev-$name" --device "$dev" --json "$out/run_${dev}_$name.json" \
      "${extra[@]}" >"$out/run_${dev}_$name.log" 2>&1
    rc=$?
    step "run_${dev}_$name" $(( $(date +%s) - t )) $rc
  done
  stem=$(basename "${img%.*}")
  a=$(ls "$out/run-cuda-$name/mesh/$stem".* 2>/dev/null | head -1) c=$(ls "$out/run-cpu-$name/mesh/$stem".* 2>/dev/null | head -1)
  if [ -n "$a" ] && [ -n "$c" ]; then
    if cmp -s "$a" "$c"; then same=identical; else same=different; fi
    printf 'mesh\t%s\t%s\n' "$name" "$same" >>"$out/compare.tsv"
    # The same mesh (the CPU's) rendered by both backends: 8 frames of each preset.
    for dev in cuda cpu; do
      t=$(date +%s)
      runp "$bin" -q render "$c" -o "$out/frames-$dev-$name" --traj dolly-zoom-in,zoom-in,circle,swing --frames 8 \
        --format png --device "$dev" >"$out/render_${dev}_$name.log" 2>&1
      rc=$?
      step "render_${dev}_$name" $(( $(date +%s) - t )) $rc
    done
    "$py" tools/gpu_check_summary.py --psnr "$out/frames-cuda-$name" "$out/frames-cpu-$name" \
      | sed "s/^/frames\t$name\t/" >>"$out/compare.tsv"
  else
    printf 'mesh\t%s\tmissing\n' "$name" >>"$out/compare.tsv"
  fi
done
step total $(( $(date +%s) - t_start )) 0

# ---- 5. the summary -------------------------------------------------------------------------------
"$py" tools/gpu_check_summary.py "$out"
