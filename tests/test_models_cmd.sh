#!/usr/bin/env bash
# test_models_cmd.sh - `photo3d-gpu models`: each known model found (with its path and size) or
# missing (with the command that installs it), the search order (--model-dir, $P3D_MODEL_DIR, the
# per-user cache), a file that is not a p3dw blob, the configured *_ckpt paths (a .pth with its
# converted blob beside it), the inpainting fallback note, and usage errors.
set -u
. tests/cli_lib.sh
# Isolate the search path from the machine's own models.
export XDG_CACHE_HOME="$tmp/cache" HOME="$tmp/home"
unset P3D_MODEL_DIR
md="$tmp/models"
mkdir -p "$md" "$tmp/cache/photo3d-gpu/models" "$tmp/env"

run empty-lists-all 0 "^color +missing" -- models --model-dir "$md"
for m in tiefenrausch midas-v1 midas-small midas-large edge depth; do
    grep -Eq "^$m +missing" "$tmp/out" && ok "missing-$m" || bad "missing-$m: $(cat "$tmp/out")"
done
grep -q "get it:   bash tools/fetch_tiefenrausch.sh -o $md/tiefenrausch.p3dw" "$tmp/out" && ok hint-fetch || bad hint-fetch
grep -q "get it:   /usr/bin/python3 tools/convert_inpaint.py --model edge edge-model.pth $md/edge-model.p3dw" "$tmp/out" &&
    ok hint-inpaint || bad hint-inpaint
grep -q "tools/convert_midas.py --model midas-v1 model.pt $md/midas-v1.p3dw" "$tmp/out" && ok hint-midas || bad hint-midas
grep -q "tools/convert_midas21.py --model midas-large midas_v21_384.pt" "$tmp/out" && ok hint-midas21 || bad hint-midas21
grep -q "inpainting: 0 of the 3 networks installed: run uses the non-learned fill" "$tmp/out" && ok fill-note || bad fill-note
grep -q "^  $md   (--model-dir)" "$tmp/out" && grep -q "^  $tmp/cache/photo3d-gpu/models   (per-user cache)" "$tmp/out" &&
    ok search-path || bad "search-path: $(head -4 "$tmp/out")"

# Found: the path and the size; a file without the P3DW magic is reported as such.
cp tests/data/example.p3dw "$md/edge-model.p3dw"
printf 'junk' >"$md/color-model.p3dw"
run found 0 "^edge +installed +0\.0 MB  $md/edge-model.p3dw" -- models --model-dir "$md"
grep -Eq "^color +not a p3dw blob +0\.0 MB  $md/color-model.p3dw" "$tmp/out" && ok not-a-blob || bad "not-a-blob: $(cat "$tmp/out")"
grep -q "inpainting: 1 of the 3 networks installed" "$tmp/out" && ok fill-note-1 || bad fill-note-1
grep -A3 "^edge " "$tmp/out" | grep -q "get it:" && bad found-no-hint || ok found-no-hint

# Search order: --model-dir before $P3D_MODEL_DIR before the user cache.
cp tests/data/example.p3dw "$tmp/env/tiefenrausch.p3dw"
cp tests/data/example.p3dw "$tmp/cache/photo3d-gpu/models/tiefenrausch.p3dw"
cp tests/data/example.p3dw "$tmp/cache/photo3d-gpu/models/midas-v1.p3dw"
P3D_MODEL_DIR="$tmp/env" "$bin" models --model-dir "$md" >"$tmp/out" 2>&1
grep -Eq "^tiefenrausch +installed .*  $tmp/env/tiefenrausch.p3dw" "$tmp/out" && ok env-dir || bad "env-dir: $(cat "$tmp/out")"
grep -Eq "^midas-v1 +installed .*  $tmp/cache/photo3d-gpu/models/midas-v1.p3dw" "$tmp/out" && ok cache-dir || bad cache-dir
grep -q "^  $tmp/env   (\$P3D_MODEL_DIR)" "$tmp/out" && ok env-listed || bad env-listed
cp tests/data/example.p3dw "$md/tiefenrausch.p3dw"
P3D_MODEL_DIR="$tmp/env" "$bin" models --model-dir "$md" >"$tmp/out" 2>&1
grep -Eq "^tiefenrausch +installed .*  $md/tiefenrausch.p3dw" "$tmp/out" && ok cli-dir-first || bad cli-dir-first

# The configuration's paths: a reference-style .pth with its converted blob beside it.
mkdir -p "$tmp/ckpt"
cp tests/data/example.p3dw "$tmp/ckpt/depth-model.p3dw"
printf 'depth_feat_model_ckpt: %s/ckpt/depth-model.pth\n' "$tmp" >"$tmp/c.yml"
run config-ckpt 0 "^depth +installed .*  $tmp/ckpt/depth-model.p3dw" -- models --model-dir "$md" --config "$tmp/c.yml"
run set-ckpt 0 "^depth +installed .*  $tmp/ckpt/depth-model.p3dw" -- models --model-dir "$md" \
    --set "depth_feat_model_ckpt=$tmp/ckpt/depth-model.p3dw"
run set-missing-blob 0 "^depth +depth_feat_model_ckpt: $tmp/nope.p3dw: No such file" -- models --model-dir "$md" \
    --set "depth_feat_model_ckpt=$tmp/nope.p3dw"
cp tests/data/example.p3dw "$md/color-model.p3dw"
cp tests/data/example.p3dw "$md/depth-model.p3dw"
run all-inpaint 0 "inpainting: the 3 networks are installed" -- models --model-dir "$md"

run help 0 "usage: photo3d-gpu models" -- models --help
run listed-in-help 0 "^  models " -- --help
run unknown-option 2 "unknown option '--frob'" -- models --frob
run positional 2 "unexpected argument 'x'" -- models x
run bad-set 2 "unknown key 'nokey'" -- models --set nokey=1
printf "bogus: 1\n" >"$tmp/bad.yml"
run bad-config 2 "$tmp/bad.yml:1: unknown key 'bogus'" -- models --config "$tmp/bad.yml"
finish
