# env.sh - sourced by the build scripts: puts the CUDA toolkit's usual place on PATH when nvcc is
# not already there, and exports P3D_NVCC (empty when there is no toolkit).
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
P3D_NVCC="$(command -v nvcc 2>/dev/null || true)"
export P3D_NVCC
if [ -n "$P3D_NVCC" ]; then export CUDACXX="$P3D_NVCC"; fi
# The converters and test generators run on Debian's Python (numpy, torch from apt), not on a
# user-level interpreter that may shadow it on PATH.
export P3D_PYTHON="${P3D_PYTHON:-/usr/bin/python3}"
