#!/usr/bin/env bash
# slurm_farm.sh - photo3d-gpu over a photo collection on a Slurm cluster: one shard per array task.
#
#   sbatch --array=0-15 tools/slurm_farm.sh --shards 16 run photos/ -o out/ --config my.yml
#   tools/slurm_farm.sh --shards 16 --print-commands run photos/ -o out/   # each task's command line
#   P3D_SLURM_DRY_RUN=1 tools/slurm_farm.sh --shards 16 run photos/ -o out/ # the same
#
# Array task K of N runs     photo3d-gpu run ARGS... --shard K/N --skip-existing
# K = SLURM_ARRAY_TASK_ID: submit with --array=0-(N-1) (also a subset such as --array=3,7 to redo
# failed tasks). N = --shards N, else $P3D_SHARDS, else SLURM_ARRAY_TASK_COUNT (right only for the
# full 0-(N-1) array: give --shards when re-submitting a subset). The shard of a photo depends on
# its name only (photo3d-gpu inputs --help), so the N tasks never overlap and together cover every
# input, whatever order the file system lists them in. --skip-existing (added to `run` when not
# given) makes a requeued or re-submitted task continue where it stopped; outputs are written
# atomically, so a task killed mid-photo leaves no partial file. Any other subcommand is run with
# --shard only: `inputs` previews the split.
#
# The program: $P3D_BIN, else photo3d-gpu on PATH, else build/photo3d-gpu in the submit directory.
# The task's exit status is photo3d-gpu's: 0 all done, 3 some photos failed (named in the log).
#
# Edit the directives below for your cluster (partition, account, GPU type, limits):
#SBATCH --job-name=photo3d
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=04:00:00
#SBATCH --output=photo3d-%A_%a.log
#SBATCH --requeue
set -euo pipefail

die() {
    echo "slurm_farm: $*" >&2
    exit 2
}

shards=${P3D_SHARDS:-}
print=${P3D_SLURM_DRY_RUN:-0}
while [ $# -gt 0 ]; do
    case "$1" in
    --shards) [ $# -ge 2 ] || die "--shards needs a number"; shards=$2; shift 2 ;;
    --print-commands) print=1; shift ;;
    -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) break ;;
    esac
done
[ $# -ge 1 ] || die "no photo3d-gpu subcommand given (e.g. run photos/ -o out/; see --help)"
[ -n "$shards" ] || shards=${SLURM_ARRAY_TASK_COUNT:-}
[ -n "$shards" ] || die "the number of shards is unknown: give --shards N (or P3D_SHARDS, or run as an sbatch --array task)"
case "$shards" in '' | *[!0-9]*) die "--shards '$shards': expected a positive number" ;; esac
[ "$shards" -ge 1 ] || die "--shards must be at least 1"

if [ -n "${P3D_BIN:-}" ]; then
    bin=$P3D_BIN
elif command -v photo3d-gpu >/dev/null 2>&1; then
    bin=$(command -v photo3d-gpu)
else
    bin=${SLURM_SUBMIT_DIR:-.}/build/photo3d-gpu
fi

args=("$@")
if [ "$1" = run ]; then
    have_skip=0
    for a in "$@"; do [ "$a" = --skip-existing ] && have_skip=1; done
    [ "$have_skip" = 1 ] || args+=(--skip-existing)
fi

# The command line of task K, as an array in `cmd`.
task_command() {
    cmd=("$bin" "${args[@]}" --shard "$1/$shards")
}

if [ "$print" = 1 ]; then
    for ((k = 0; k < shards; k++)); do
        task_command "$k"
        printf '%q ' "${cmd[@]}" | sed 's/ $//'
        echo
    done
    exit 0
fi

[ -n "${SLURM_ARRAY_TASK_ID:-}" ] ||
    die "not inside a Slurm array task: submit with sbatch --array=0-$((shards - 1)) $0 ..., or use --print-commands"
k=$SLURM_ARRAY_TASK_ID
case "$k" in *[!0-9]*) die "SLURM_ARRAY_TASK_ID '$k' is not a number" ;; esac
[ "$k" -lt "$shards" ] || die "SLURM_ARRAY_TASK_ID $k is not below the number of shards $shards (submit with --array=0-$((shards - 1)))"
[ -x "$bin" ] || die "$bin: not an executable (set P3D_BIN to the photo3d-gpu program)"
task_command "$k"
echo "slurm_farm: task $k of $shards on $(hostname): ${cmd[*]}" >&2
exec "${cmd[@]}"
