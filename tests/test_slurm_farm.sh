#!/usr/bin/env bash
# test_slurm_farm.sh - tools/slurm_farm.sh: the per-task command lines of a 3-task array over 10
# photos (dry run), each executed with `inputs` in place of `run` (what `run` would process), every
# photo in exactly one task; a simulated array task (SLURM_ARRAY_TASK_ID) runs its line; `run` lines
# get --skip-existing; bad set-ups are refused.
set -u
. tests/cli_lib.sh
farm=tools/slurm_farm.sh
export P3D_BIN="$bin"
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT P3D_SHARDS P3D_SLURM_DRY_RUN
d="$tmp/photos"
mkdir -p "$d"
for i in 0 1 2 3 4 5 6 7 8 9; do : >"$d/IMG_000$i.jpg"; done

# The run lines: one per task, with the shard and --skip-existing.
bash "$farm" --shards 3 --print-commands run "$d" -o "$tmp/out dir" >"$tmp/run_lines" 2>"$tmp/err" ||
    bad "print-commands: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/run_lines")" -eq 3 ] && ok three-lines || bad "three-lines: $(cat "$tmp/run_lines")"
k=0
while IFS= read -r line; do
    case "$line" in
    *" run $d -o $tmp/out\\ dir --skip-existing --shard $k/3") ok "run-line-$k" ;;
    *) bad "run-line-$k: $line" ;;
    esac
    k=$((k + 1))
done <"$tmp/run_lines"
P3D_SLURM_DRY_RUN=1 bash "$farm" --shards 3 run "$d" -o "$tmp/out dir" | diff - "$tmp/run_lines" >/dev/null &&
    ok dry-run-env || bad dry-run-env
bash "$farm" --shards 2 --print-commands run "$d" --skip-existing | grep -c -- --skip-existing | grep -qx 2 &&
    ok skip-kept || bad skip-kept
[ "$(bash "$farm" --shards 2 --print-commands run "$d" --skip-existing | head -1 | grep -o -- --skip-existing | wc -l)" -eq 1 ] &&
    ok skip-not-doubled || bad skip-not-doubled

# The same split with `inputs`: executing each task's line lists that task's photos.
P3D_SLURM_DRY_RUN=1 bash "$farm" --shards 3 inputs "$d" >"$tmp/lines"
: >"$tmp/all"
k=0
while IFS= read -r line; do
    eval "$line" >"$tmp/task$k" 2>"$tmp/err" || bad "task $k: $line: $(cat "$tmp/err")"
    cat "$tmp/task$k" >>"$tmp/all"
    [ -s "$tmp/task$k" ] && ok "task-$k-nonempty" || bad "task-$k-nonempty"
    k=$((k + 1))
done <"$tmp/lines"
[ "$k" -eq 3 ] && ok three-tasks || bad "three-tasks: $k"
[ "$(wc -l <"$tmp/all")" -eq 10 ] && ok ten-lines || bad "ten-lines: $(cat "$tmp/all")"
missing=0
for i in 0 1 2 3 4 5 6 7 8 9; do
    [ "$(grep -cx "$d/IMG_000$i.jpg" "$tmp/all")" -eq 1 ] || missing=$((missing + 1))
done
[ "$missing" -eq 0 ] && ok each-photo-once || bad "each-photo-once: $missing photos not in exactly one task"

# Inside an array task: SLURM_ARRAY_TASK_ID picks the line; N from SLURM_ARRAY_TASK_COUNT or --shards.
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 bash "$farm" inputs "$d" >"$tmp/t1" 2>"$tmp/err"
diff "$tmp/t1" "$tmp/task1" >/dev/null && ok array-task || bad "array-task: $(cat "$tmp/t1" "$tmp/err")"
grep -q "slurm_farm: task 1 of 3" "$tmp/err" && ok task-log || bad task-log
SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=1 bash "$farm" --shards 3 inputs "$d" >"$tmp/t2" 2>/dev/null
diff "$tmp/t2" "$tmp/task2" >/dev/null && ok shards-over-count || bad shards-over-count
SLURM_ARRAY_TASK_ID=0 P3D_SHARDS=3 bash "$farm" inputs "$d" >"$tmp/t0" 2>/dev/null
diff "$tmp/t0" "$tmp/task0" >/dev/null && ok shards-env || bad shards-env
# The task's exit status is the program's (3: a photo failed).
SLURM_ARRAY_TASK_ID=0 bash "$farm" --shards 1 inputs "$d" "$tmp/gone.jpg" >/dev/null 2>&1
[ $? -eq 3 ] && ok exit-status-passed || bad exit-status-passed

# Refusals (exit 2 with a reason).
refuse() { # name pattern env... -- args...
    local name=$1 pat=$2
    shift 2
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    env "${envs[@]}" bash "$farm" "$@" >/dev/null 2>"$tmp/err"
    local rc=$?
    if [ $rc -eq 2 ] && grep -q -- "$pat" "$tmp/err"; then ok "$name"; else bad "$name: exit $rc: $(cat "$tmp/err")"; fi
}
refuse no-shards "number of shards is unknown" -- --print-commands run "$d"
refuse bad-shards "expected a positive number" -- --shards x --print-commands run "$d"
refuse zero-shards "at least 1" -- --shards 0 --print-commands run "$d"
refuse no-subcommand "no photo3d-gpu subcommand" -- --shards 2
refuse not-in-task "not inside a Slurm array task" -- --shards 2 run "$d"
refuse task-too-big "is not below the number of shards 2" SLURM_ARRAY_TASK_ID=2 -- --shards 2 inputs "$d"
refuse unknown-option "unknown option '--frob'" -- --frob
refuse no-binary "not an executable" SLURM_ARRAY_TASK_ID=0 P3D_BIN="$tmp/nobin" -- --shards 1 inputs "$d"
bash "$farm" --help | grep -q "Array task K of N runs" && ok help || bad help
finish
