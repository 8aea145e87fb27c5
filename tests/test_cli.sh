#!/usr/bin/env bash
# test_cli.sh - the command line: help, version, info, and usage errors (exit 2, message on stderr).
set -u
bin="${P3D_BIN:?P3D_BIN must point at photo3d-gpu}"
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME WANT_RC PATTERN(stdout+stderr, grep -E) -- ARGS...
expect() {
  local name=$1 want=$2 pat=$3
  shift 4
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, wanted $want"; cat "$tmp/err"; fail=$((fail + 1)); return
  fi
  if ! cat "$tmp/out" "$tmp/err" | grep -Eq -- "$pat"; then
    echo "FAIL $name: output lacks /$pat/"; cat "$tmp/out" "$tmp/err"; fail=$((fail + 1)); return
  fi
  echo "ok   $name"; pass=$((pass + 1))
}

expect help 0 "^  info " -- --help
expect version 0 "^photo3d-gpu [0-9]+\.[0-9]+\.[0-9]+$" -- --version
expect no-command 2 "usage: photo3d-gpu" --
expect unknown-option 2 "unknown option '--bogus'" -- --bogus
expect unknown-command 2 "unknown command 'frobnicate'" -- frobnicate
expect info 0 "^backends:" -- info
expect info-gpus 0 "^GPUs:" -- info
expect info-models 0 "tiefenrausch +(not installed|/)" -- info
expect info-model-dir 0 "search path: $tmp" -- info --model-dir "$tmp"
expect info-unknown-option 2 "unknown option '--frob'" -- info --frob
expect info-missing-value 2 "needs a value" -- info --model-dir
expect info-help 0 "usage: photo3d-gpu info" -- info --help

# A model placed in --model-dir is found there.
: >"$tmp/tiefenrausch.p3dw"
expect info-finds-model 0 "tiefenrausch +$tmp/tiefenrausch.p3dw" -- info --model-dir "$tmp"

# stdout carries results only: usage errors write nothing to stdout.
"$bin" --bogus >"$tmp/out" 2>/dev/null
if [ -s "$tmp/out" ]; then echo "FAIL usage-error-stdout: stdout not empty"; fail=$((fail + 1)); else echo "ok   usage-error-stdout"; pass=$((pass + 1)); fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
