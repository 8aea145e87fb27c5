#!/usr/bin/env bash
# test_gpu_check.sh - the parts of tools/gpu_check.sh that a machine without a GPU can check: its
# arguments, its refusal where no GPU is visible, the PSNR of frame folders and the summary writer
# (fed the real report of a small `run` and the files the script writes, in their formats).
set -u
. tests/cli_lib.sh
gc=tools/gpu_check.sh
sm="$py tools/gpu_check_summary.py"
if ! "$py" -c "import PIL, numpy" 2>/dev/null; then skipped "python3 without PIL + numpy (tools/setup.sh --test installs them)"; finish; fi

check() { # check NAME WANT_RC PATTERN -- CMD...
  local name=$1 want=$2 pat=$3; shift 4
  "$@" >"$tmp/o" 2>&1; local rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, wanted $want: $(cat "$tmp/o")"
  elif ! grep -Eq -- "$pat" "$tmp/o"; then bad "$name: no /$pat/ in: $(cat "$tmp/o")"
  else ok "$name"; fi
}

check "no OUTDIR" 2 "OUTDIR missing" -- bash $gc
check "unknown option" 2 "unknown option '--bogus'" -- bash $gc --bogus "$tmp/x"
check "two OUTDIRs" 2 "one OUTDIR only" -- bash $gc "$tmp/a" "$tmp/b"
check "--deps without a value" 2 "usage" -- bash $gc --deps
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  skipped "refusal without a GPU: this machine has one"
else
  check "refuses without a GPU" 2 "no NVIDIA GPU here" -- bash $gc "$tmp/nogpu"
  if [ -e "$tmp/nogpu" ]; then bad "the refusal left $tmp/nogpu behind"; else ok "the refusal leaves nothing"; fi
fi

# PSNR of frame folders: identical frames are inf; frames off by exactly 1 everywhere are 48.13 dB.
"$py" - "$tmp" <<'PY'
import sys, numpy as np
from PIL import Image
t = sys.argv[1]
import os
for d in ("fa/x", "fb/x"):
    os.makedirs(os.path.join(t, d), exist_ok=True)
rng = np.random.default_rng(1)
a = rng.integers(1, 255, (24, 32, 3), dtype=np.uint8)
Image.fromarray(a).save(f"{t}/fa/x/frame_00000.png"); Image.fromarray(a).save(f"{t}/fb/x/frame_00000.png")
Image.fromarray(a).save(f"{t}/fa/x/frame_00001.png"); Image.fromarray(a + 1).save(f"{t}/fb/x/frame_00001.png")
PY
read -r n lo mean < <($sm --psnr "$tmp/fa" "$tmp/fb")
if [ "$n" = 2 ] && [ "$lo" = 48.1308 ] && [ "$mean" = 48.1308 ]; then ok "psnr: 2 frames, min and mean 48.1308 dB"
else bad "psnr: got n=$n min=$lo mean=$mean, wanted 2 48.1308 48.1308"; fi
read -r n lo mean < <($sm --psnr "$tmp/fa" "$tmp/none")
if [ "$n" = 0 ]; then ok "psnr: no common frames counts 0"; else bad "psnr: no common frames gave n=$n"; fi

# The summary over a real run report.
"$py" - "$tmp" <<'PY'
import sys, numpy as np
from PIL import Image
t = sys.argv[1]
y, x = np.mgrid[0:48, 0:64]
img = np.stack([(x * 4) % 256, (y * 5) % 256, ((x + y) * 3) % 256], -1).astype(np.uint8)
Image.fromarray(img).save(f"{t}/p.png")
disp = np.where((x > 20) & (x < 40), 60000, 20000).astype(np.uint16)
Image.fromarray(disp).save(f"{t}/p_disp.png")
PY
o=$tmp/out
mkdir -p "$o"
if ! "$bin" -q run "$tmp/p.png" --depth "$tmp/p_disp.png" -o "$tmp/r" --device cpu --mesh-only --set longer_side_len=64 \
     --json "$o/run_cpu_p.json" >"$tmp/run.log" 2>&1; then
  bad "run for the summary's input failed: $(cat "$tmp/run.log")"; finish
fi
cp "$o/run_cpu_p.json" "$o/run_cuda_p.json"
printf 'build\t61\t0\nctest_gpu\t20\t0\nrun_cuda_p\t1\t0\ntotal\t90\t0\n' >"$o/steps.tsv"
printf 'NVIDIA H100 80GB HBM3, 81559 MiB, 580.159.04, 9.0\n' >"$o/env.txt"
printf '100%% tests passed, 0 tests failed out of 7\n' >"$o/ctest_gpu.log"
printf 'mesh\tp\tidentical\nframes\tp\t%s\t%s\t%s\n' "$(cut -f1 <($sm --psnr "$tmp/fa" "$tmp/fa"))" inf inf >"$o/compare.tsv"
check "summary: all passed" 0 "ALL CHECKS PASSED" -- $sm "$o"
check "summary: the run's totals" 0 "run cuda p: done, [0-9.]+ s, [1-9][0-9]* faces" -- $sm "$o"
check "summary: the run's stage times" 0 "ldi.build=[0-9.]+ .*ldi.inpaint1=" -- $sm "$o"
if "$py" -c "import json,sys; s=json.load(open(sys.argv[1])); assert s['ok'] and len(s['runs'])==2 and s['runs'][0]['faces']>0" "$o/summary.json"; then
  ok "summary.json: ok, two runs with faces"; else bad "summary.json: $(cat "$o/summary.json")"; fi
# Issue 14's targets from bench's pipeline.* entries: the job's stages summed, the whole job, the videos.
"$py" - "$o/bench_cuda.json" <<'PY'
import json, sys
stages = ["decode", "prep", "build", "cleanup", "border", "edges1", "regions1", "inpaint1", "edges2", "regions2",
          "inpaint2", "mesh"]
def e(name, ms, label):
    return {"name": name, "input": label, "status": "ok", "reason": "", "runs": 5, "ms_median": ms, "ms_min": ms,
            "ms_max": ms, "mpixel_per_s": 0, "gflop_per_s": 0, "peak_device_mb": 1}
rows = [e("pipeline.stage." + k, 5.0, "moon -> 960 px, non-learned fill") for k in stages]     # 60 ms: met
rows += [e("pipeline.stage-learned." + k, 30.0, "moon -> 960 px, learned fill") for k in stages]  # 360 ms: not
rows += [e("pipeline.mesh.moon-classic", 70.0, "moon.jpg + moon.npy -> 960x960 LDI -> mesh, non-learned fill"),
         e("pipeline.stage.videos", 1400.0, "moon -> 960 px, non-learned fill, 4 videos x 240 frames"),
         e("pipeline.stage.render", 900.0, "moon -> 960 px, non-learned fill, 4 trajectories x 240 frames")]
json.dump({"device": "cuda:0", "clock": "cuda events", "stages": rows}, open(sys.argv[1], "w"))
PY
check "summary: per-stage table" 0 "inpaint1 +5\.000 +30\.000" -- $sm "$o"
check "summary: photo -> mesh without nets met" 0 "non-learned fill +60\.000 +70\.000 +100 met" -- $sm "$o"
check "summary: with nets not met" 0 "learned fill +360\.000 +- +300 NOT MET" -- $sm "$o"
check "summary: videos met" 0 "videos rendered \+ encoded +1400\.000 +- +1500 met" -- $sm "$o"
sed -i 's/x 240 frames/x 2 frames/' "$o/bench_cuda.json"
check "summary: videos of another length are not judged" 0 "videos rendered \+ encoded +- +- +1500 not run" -- $sm "$o"
rm "$o/bench_cuda.json"
printf '86%% tests passed, 1 tests failed out of 7\n' >"$o/ctest_gpu.log"
check "summary: a failed GPU test fails the check" 1 "ctest -L gpu +FAILED +5 passed, 1 failed, 0 skipped of 7|ctest -L gpu +FAILED +6 passed, 1 failed" -- $sm "$o"
printf '100%% tests passed, 0 tests failed out of 7\n\nThe following tests did not run:\n\t 3 - test_nn_cuda (Skipped)\n' >"$o/ctest_gpu.log"
check "summary: a skipped GPU test fails the check" 1 "ctest -L gpu +FAILED .*1 skipped" -- $sm "$o"
printf '100%% tests passed, 0 tests failed out of 7\n' >"$o/ctest_gpu.log"
printf 'mesh\tp\tdifferent\nframes\tp\t8\t31.5\t35.0\n' >"$o/compare.tsv"
check "summary: different meshes and low PSNR fail" 1 "mesh cuda == cpu \(p\) +FAILED.*|frames cuda vs cpu \(p\) +FAILED" -- $sm "$o"
rm "$o/ctest_gpu.log"
check "summary: a missing ctest log is NOT RUN" 1 "ctest -L gpu +NOT RUN" -- $sm "$o"
check "summary: an empty folder is NOT RUN" 1 "gpu_check +NOT RUN" -- $sm "$tmp/fa"
finish
