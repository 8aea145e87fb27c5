#!/usr/bin/env bash
# test_bench_flow.sh - bench's per-stage pipeline entries (bench/stages_flow.c): every stage of the job
# runs alone from its reset input, twice, on the build's device (the emulated CUDA device in that
# build), and the JSON names each with a time and says what clock measured it. A small job (moon at
# 64 px, 2 frames per video) so it takes seconds.
source "$(dirname "$0")/cli_lib.sh"
bench="${P3D_BUILD_DIR:?}/bench"
[ -f ../shared/fixtures/moon/moon.jpg ] || { skipped "../shared/fixtures/moon not found"; finish; }
[ -x "$bench" ] || { bad "no bench program at $bench"; finish; }
dev=cpu
"$bin" info 2>/dev/null | grep -Eq "cuda:0" && dev=cuda
filter='pipeline.stage.*'
P3D_BENCH_SIDE=64 P3D_BENCH_FRAMES=2 "$bench" --device "$dev" --filter "$filter" --runs 2 --warmup 0 \
  --json "$tmp/b.json" >"$tmp/log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok "bench $filter on $dev"; else bad "bench $filter on $dev: exit $rc: $(tail -5 "$tmp/log")"; fi
"$py" - "$tmp/b.json" "$dev" <<'PY' && ok "every stage timed, clock named" || bad "bench JSON: $(cat "$tmp/log")"
import json, sys
j = json.load(open(sys.argv[1]))
dev = sys.argv[2]
want = ["decode", "prep", "build", "cleanup", "border", "edges1", "regions1", "inpaint1", "edges2", "regions2",
        "inpaint2", "mesh", "render", "videos"]
st = {s["name"]: s for s in j["stages"]}
errs = []
for w in want:
    s = st.get("pipeline.stage." + w)
    if s is None:
        errs.append("missing " + w)
    elif w == "videos" and s["status"] == "skipped" and "FFmpeg" in s["reason"]:
        pass
    elif s["status"] != "ok" or s["runs"] != 2 or not s["ms_median"] > 0:
        errs.append("%s: %s %s" % (w, s["status"], s["reason"]))
if len(st) != len(want):
    errs.append("unexpected entries: %s" % sorted(set(st) - {"pipeline.stage." + w for w in want}))
clock = j.get("clock", "")
if dev == "cuda" and not clock.startswith(("cuda events", "host (emulated")):
    errs.append("clock " + clock)
if dev == "cpu" and clock != "host":
    errs.append("clock " + clock)
print("\n".join(errs))
sys.exit(1 if errs else 0)
PY
finish
