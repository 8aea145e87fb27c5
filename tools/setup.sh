#!/usr/bin/env bash
# setup.sh - installs the Debian packages photo3d-gpu needs. Idempotent, and silent when everything
# is already present.
#
#   bash tools/setup.sh          # build + run dependencies
#   bash tools/setup.sh --test   # also what the tests use (Python converters, Xvfb, headless Chromium and
#                                #   python3-websocket for the web page, and pygltflib from PyPI: the
#                                #   independent glTF reader)
#   bash tools/setup.sh --fuzz   # also clang with libFuzzer (tools/fuzz.sh)
#
# libjs-three: `export --web` and `run --web` inline Debian's three.js into the page.
# ffmpeg (the command-line tool) is installed too: the README's examples and the tests inspect the
# videos with ffmpeg / ffprobe (the program itself links the FFmpeg libraries, not the tool).
#
# The CUDA toolkit (nvcc, cuDNN, cuBLAS) is not a Debian package of the right version: when it is
# installed (nvcc on PATH or in /usr/local/cuda/bin) the build includes the CUDA backend.
set -euo pipefail

test_pip=0
pkgs=(build-essential cmake pkg-config git libstb-dev libglfw3-dev libepoxy-dev
      libavcodec-dev libavformat-dev libswscale-dev libavutil-dev libopenblas-dev libyaml-dev
      libjpeg62-turbo-dev libmeshoptimizer-dev
      ffmpeg python3 python3-numpy python3-protobuf libjs-three)
for a in "$@"; do
  case "$a" in
    --test) pkgs+=(python3-torch python3-pil python3-pip python3-websocket xvfb xauth libgl1-mesa-dri libxtst6 chromium)
            test_pip=1 ;;
    --fuzz) pkgs+=(clang) ;;
    *) echo "setup.sh: unknown option '$a' (use --test or --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup.sh: installing ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# pygltflib is not packaged by Debian: pip installs it for the user (the system's packages are left alone;
# Debian's pip needs PIP_BREAK_SYSTEM_PACKAGES even for --user installs), into the Python the tests run
# (P3D_PYTHON, default the system's /usr/bin/python3, as tests/cli_lib.sh).
py=${P3D_PYTHON:-/usr/bin/python3}
if [ "$test_pip" -eq 1 ] && ! "$py" -c "import pygltflib" 2>/dev/null; then
  echo "setup.sh: installing pygltflib (pip, --user)"
  PIP_BREAK_SYSTEM_PACKAGES=1 "$py" -m pip install --user --quiet pygltflib
fi

if ! command -v nvcc >/dev/null 2>&1 && [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup.sh: note: no CUDA toolkit found; the build will have the CPU backend only" >&2
fi
