#!/usr/bin/env bash
# test_cli.sh - the command line: help, version, info, and usage errors (exit 2, message on stderr).
set -u
. tests/cli_lib.sh

run help 0 "^  info " -- --help
run help-lists-depth 0 "^  depth " -- --help
run help-lists-prepare 0 "^  prepare " -- --help
run version 0 "^photo3d-gpu [0-9]+\.[0-9]+\.[0-9]+$" -- --version
run no-command 2 "usage: photo3d-gpu" --
run unknown-option 2 "unknown option '--bogus'" -- --bogus
run unknown-command 2 "unknown command 'frobnicate'" -- frobnicate
run info 0 "^backends:" -- info
run info-gpus 0 "^GPUs:" -- info
run info-models 0 "tiefenrausch +(not installed|/)" -- info
run info-model-dir 0 "search path: $tmp" -- info --model-dir "$tmp"
run info-unknown-option 2 "unknown option '--frob'" -- info --frob
run info-missing-value 2 "needs a value" -- info --model-dir
run info-help 0 "usage: photo3d-gpu info" -- info --help

# A model placed in --model-dir is found there.
: >"$tmp/tiefenrausch.p3dw"
run info-finds-model 0 "tiefenrausch +$tmp/tiefenrausch.p3dw" -- info --model-dir "$tmp"

# stdout carries results only: usage errors write nothing to stdout.
"$bin" --bogus >"$tmp/out" 2>/dev/null
if [ -s "$tmp/out" ]; then bad "usage-error-stdout: stdout not empty"; else ok usage-error-stdout; fi

finish
