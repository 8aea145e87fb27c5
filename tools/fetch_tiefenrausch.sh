#!/usr/bin/env bash
# fetch_tiefenrausch.sh - installs the Tiefenrausch depth model (the default depth estimator).
#
#   tools/fetch_tiefenrausch.sh               download, verify, convert
#   tools/fetch_tiefenrausch.sh --from DIR    convert local copies (DIR/tiefenrausch.pb and
#                                             DIR/tiefenrausch_init.pb), verified the same way
#   tools/fetch_tiefenrausch.sh -o FILE ...   write FILE instead of the per-user model dir
#
# Source: the two Caffe2 NetDef protobufs of facebookresearch/one_shot_3d_photography (MIT licence),
# model/tiefenrausch.pb and model/tiefenrausch_init.pb at commit ff094d0, checked against the SHA-256
# digests below before anything is converted. The result is tiefenrausch.p3dw in $P3D_MODEL_DIR, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/photo3d-gpu/models (the program's search path, host/core/models.h).
# Needs curl or wget for the download, and a python3 with numpy (P3D_PYTHON, default /usr/bin/python3).
set -euo pipefail

COMMIT=ff094d02bb519d228170a9bad068adaf9fca18ca
BASE_URL="https://raw.githubusercontent.com/facebookresearch/one_shot_3d_photography/$COMMIT/model"
SHA_PREDICT=7fd8d7eb5948fe8fe9ae0a5c67792a5553f09a26572be5ccc1f0584db15d2034 # tiefenrausch.pb, 50464 bytes
SHA_INIT=8595624b4ac3d639d5f769fc95d7e0c5f2caa9c9edb356110a533acbb30b50af    # tiefenrausch_init.pb, 3777421 bytes
PY=${P3D_PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)

die() {
    echo "fetch_tiefenrausch: $*" >&2
    exit 1
}

src=""
out=""
out_arg="" # -o as the user gave it, repeated in the offline hint
while [ $# -gt 0 ]; do
    case "$1" in
    --from) [ $# -ge 2 ] || die "--from needs a folder"; src=$2; shift 2 ;;
    -o | --output) [ $# -ge 2 ] || die "-o needs a file"; out=$2; out_arg=$2; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done

if [ -z "$out" ]; then
    if [ -n "${P3D_MODEL_DIR:-}" ]; then
        dir=$P3D_MODEL_DIR
    else
        dir=${XDG_CACHE_HOME:-${HOME:?neither P3D_MODEL_DIR, XDG_CACHE_HOME nor HOME is set}/.cache}/photo3d-gpu/models
    fi
    out=$dir/tiefenrausch.p3dw
fi
mkdir -p "$(dirname "$out")" || die "cannot create $(dirname "$out")"
"$PY" -c 'import numpy' 2>/dev/null || die "$PY has no numpy (set P3D_PYTHON to a python3 with numpy)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/p3d-tiefenrausch-XXXXXX") || die "cannot make a temporary folder"
trap 'rm -rf "$tmp"' EXIT

download() { # url dest
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 2 --connect-timeout 20 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q --tries=2 --timeout=20 -O "$2" "$1"
    else
        die "neither curl nor wget is installed (or use --from DIR with local copies)"
    fi
}

if [ -z "$src" ]; then
    echo "downloading the Tiefenrausch model (facebookresearch/one_shot_3d_photography@${COMMIT:0:7}) ..."
    for f in tiefenrausch.pb tiefenrausch_init.pb; do
        download "$BASE_URL/$f" "$tmp/$f" ||
            die "could not download $BASE_URL/$f (offline? copy model/tiefenrausch.pb and model/tiefenrausch_init.pb from the repository at that commit and run: $0 --from DIR${out_arg:+ -o $(printf '%q' "$out_arg")})"
    done
    src=$tmp
fi

for pair in "tiefenrausch.pb:$SHA_PREDICT" "tiefenrausch_init.pb:$SHA_INIT"; do
    f=${pair%%:*}
    want=${pair#*:}
    [ -f "$src/$f" ] || die "$src/$f: not found"
    got=$(sha256sum "$src/$f" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "$src/$f: SHA-256 $got, expected $want (not the released file of commit ${COMMIT:0:7})"
done

# convert into a temporary name beside the target, then rename: never a half-written model
"$PY" "$here/convert_tiefenrausch.py" --from "$src" -o "$out.part$$" >"$tmp/convert.log" 2>&1 || {
    cat "$tmp/convert.log" >&2
    rm -f "$out.part$$"
    die "conversion failed"
}
mv -f "$out.part$$" "$out"
grep -E '^(.*: [0-9]+ ops:|wrote )' "$tmp/convert.log" | sed "s|$out.part$$|$out|"
echo "installed $out"
