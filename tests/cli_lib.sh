# cli_lib.sh - sourced by the tests/test_*.sh that drive the photo3d-gpu binary.
#   run NAME WANT_RC PATTERN -- ARGS...   runs "$bin ARGS", checks the exit code and that stdout+stderr
#                                         match the extended regex PATTERN ("" = no check: a quiet
#                                         command may print nothing); output in $tmp/out, $tmp/err
#   ok NAME / bad NAME / skipped REASON   count outcomes; finish prints "N passed, N failed, N skipped"
#                                         and exits 1 on any failure, 77 when nothing ran
bin="${P3D_BIN:?P3D_BIN must point at photo3d-gpu}"
py=${P3D_PYTHON:-/usr/bin/python3}
pass=0 fail=0 skip=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
skipped() { echo "SKIP $1"; skip=$((skip + 1)); }
run() {
  local name=$1 want=$2 pat=$3
  shift 4
  "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, wanted $want: $(cat "$tmp/err")"; return 1; fi
  if [ -n "$pat" ] && ! cat "$tmp/out" "$tmp/err" | grep -Eq -- "$pat"; then bad "$name: no /$pat/ in: $(cat "$tmp/out" "$tmp/err")"; return 1; fi
  ok "$name"
}
finish() {
  echo "$pass passed, $fail failed, $skip skipped"
  if [ "$fail" -gt 0 ]; then exit 1; fi
  if [ "$pass" -eq 0 ]; then exit 77; fi
  exit 0
}
