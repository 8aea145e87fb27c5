#!/usr/bin/env bash
# test_inputs_cmd.sh - `photo3d-gpu inputs`: folders, @lists, depth matching, shards on the command
# line; stdout carries the list only, problems go to stderr with exit 3, usage errors exit 2.
set -u
. tests/cli_lib.sh
d="$tmp/photos"
mkdir -p "$d" "$tmp/depth" "$tmp/lists"
for n in c a b; do : >"$d/$n.jpg"; done
: >"$d/notes.txt"
: >"$tmp/depth/a.npy"
: >"$tmp/depth/b.png"

run folder 0 "photos/a.jpg" -- inputs "$d"
printf '%s\n' "$d/a.jpg" "$d/b.jpg" "$d/c.jpg" | diff - "$tmp/out" >/dev/null && ok folder-sorted || bad "folder-sorted: $(cat "$tmp/out")"
[ -s "$tmp/err" ] && bad "folder-stderr: $(cat "$tmp/err")" || ok folder-stderr-empty

run depth-dir 0 "a.jpg" -- inputs "$d" --depth-dir "$tmp/depth"
printf '%s\t%s\n' "$d/a.jpg" "$tmp/depth/a.npy" "$d/b.jpg" "$tmp/depth/b.png" "$d/c.jpg" - | diff - "$tmp/out" >/dev/null &&
    ok depth-columns || bad "depth-columns: $(cat "$tmp/out")"
run depth-file 0 "a.jpg	$tmp/depth/b.png" -- inputs "$d/a.jpg" --depth "$tmp/depth/b.png"
run depth-file-many 2 "there are 3 inputs" -- inputs "$d" --depth "$tmp/depth/b.png"
run depth-dir-missing 2 "depth folder $tmp/nodepth" -- inputs "$d" --depth-dir "$tmp/nodepth"

# A list relative to its own folder, with a comment, a blank line and a missing entry.
printf '# two photos\n../photos/b.jpg\n\n../photos/gone.jpg\n../photos/a.jpg\n' >"$tmp/lists/l.txt"
run list-partial 3 "gone.jpg: No such file or directory \(listed in $tmp/lists/l.txt:4\)" -- inputs "@$tmp/lists/l.txt"
printf '%s\n' "$tmp/lists/../photos/b.jpg" "$tmp/lists/../photos/a.jpg" | diff - "$tmp/out" >/dev/null &&
    ok list-order || bad "list-order: $(cat "$tmp/out")"
grep -q "1 input(s) cannot be processed" "$tmp/err" && ok list-summary || bad list-summary
run list-missing 2 "@$tmp/none.txt: cannot open the list file" -- inputs "@$tmp/none.txt"
run missing-input 3 "$tmp/nothere.jpg: No such file" -- inputs "$tmp/nothere.jpg" "$d/a.jpg"
run name-clash 3 "has the name 'a' of" -- inputs "$d" "$tmp/depth/a.npy"
run specific 0 "^$d/b.jpg$" -- inputs "$d" --specific b
run img-format 0 "^$d/c.jpg$" -- inputs "$d" --img-format .JPG
run no-images 3 "no .png images in the folder" -- inputs "$d" --img-format .png

# Shards: disjoint and complete over the folder.
: >"$tmp/all"
for k in 0 1 2; do
    "$bin" inputs "$d" --shard "$k/3" >>"$tmp/all" 2>"$tmp/err" || bad "shard $k/3 failed: $(cat "$tmp/err")"
done
sort "$tmp/all" | diff - <(printf '%s\n' "$d/a.jpg" "$d/b.jpg" "$d/c.jpg") >/dev/null && ok shards-partition ||
    bad "shards-partition: $(cat "$tmp/all")"
for spec in 3/3 -1/3 1/0 x 1/3/4 " 1/3" 1/; do
    run "bad-shard '$spec'" 2 "--shard '$spec'" -- inputs "$d" --shard "$spec"
done
run no-input 2 "no INPUT given" -- inputs
run help 0 "usage: photo3d-gpu inputs" -- inputs --help
run listed-in-help 0 "^  inputs " -- --help
finish
