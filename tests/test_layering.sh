#!/usr/bin/env bash
# test_layering.sh - the tree's shape (DEVELOPERS.md, "The pipeline's folders"):
#   - host/ and cuda/ sources sit in the stage folders, at most 20 files a folder;
#   - an include names its folder ("core/tensor.h") and never reaches a folder above the includer's layer
#     (cuda/<stage>/ counts as host/<stage>/; cuda/'s top level as core);
#   - inside host/mesh/ the order mesh <- mesh_format, mesh_text <- mesh_ply, mesh_glb <- mesh_file holds
#     (the container never calls its codecs back).
# cuda/emu/ is not a stage: it stands in for the CUDA toolkit's headers in the emulated build (its
# files include each other the way the toolkit's do), so it is left out.
set -u
cd "${P3D_SOURCE_DIR:-$(dirname "$0")/..}"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

declare -A rank=([core]=0 [io]=1 [nn]=1 [layers]=2 [depth]=3 [inpaint]=3 [ldi]=4 [mesh]=5 [render]=6
                 [pipeline]=7 [view]=7 [cli]=8)
declare -A mesh_rank=([mesh]=0 [mesh_math]=0 [mesh_tex_math]=0 [mesh_format]=1 [mesh_text]=1 [mesh_compact]=1 [mesh_splats]=1
                      [mesh_ply]=2 [mesh_glb]=2 [mesh_file]=3)

# Every source in a known folder; no folder over 20 files.
while IFS= read -r f; do
  d=${f#*/}; d=${d%%/*}
  case "$f" in
    cuda/*/*/*|host/*/*/*) bad "$f: nested deeper than one stage folder" ;;
    cuda/*/*|host/*/*) if [ -n "${rank[$d]+x}" ]; then ok; else bad "$f: $d is not a stage folder"; fi ;;
    host/*) bad "$f: loose in host/ (belongs in a stage folder)" ;;
    *) ok ;;
  esac
done < <(git ls-files host cuda | grep -E '\.(c|h|cu)$' | grep -v '^cuda/emu/')
for dir in host/* cuda/*; do
  [ -d "$dir" ] && [ "$dir" != cuda/emu ] || continue
  n=$(find "$dir" -maxdepth 1 -type f | wc -l)
  if [ "$n" -le 20 ]; then ok; else bad "$dir holds $n files (at most 20)"; fi
done

# Includes.
while IFS= read -r f; do
  case "$f" in
    host/*/*|cuda/*/*) from=${f#*/}; from=${from%%/*} ;;
    cuda/*) from=core ;;
  esac
  while IFS= read -r inc; do
    case "$inc" in
      */*) to=${inc%%/*} ;;
      p3d_cuda.h|p3d_cuda_check.h) to=core ;;
      *) if [ -e "$(dirname "$f")/$inc" ] || [ -e "host/$inc" ]; then bad "$f: #include \"$inc\" does not name its folder"; fi
         continue ;;
    esac
    if [ -z "${rank[$to]+x}" ]; then bad "$f: #include \"$inc\": unknown folder $to"; continue; fi
    if [ "$to" != "$from" ] && [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
      bad "$f ($from, layer ${rank[$from]}) includes $inc ($to, layer ${rank[$to]})"
    elif [ "$from" = mesh ] && [ "$to" = mesh ] && [ "${f#host/mesh/}" != "$f" ]; then
      a=$(basename "${f%.*}"); b=$(basename "${inc%.*}")
      if [ -n "${mesh_rank[$a]+x}" ] && [ -n "${mesh_rank[$b]+x}" ] && [ "${mesh_rank[$b]}" -gt "${mesh_rank[$a]}" ]; then
        bad "$f includes $inc: the mesh container and codecs must not include the layers above them"
      else ok; fi
    else ok; fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(git ls-files host cuda | grep -E '\.(c|h|cu)$' | grep -v '^cuda/emu/')

echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
