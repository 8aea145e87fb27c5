#!/usr/bin/env python3
"""gpu_check_summary.py - the summary of tools/gpu_check.sh, from the files it leaves in OUTDIR.

    gpu_check_summary.py OUTDIR             table on stdout, OUTDIR/summary.json; exit 1 if a check failed
    gpu_check_summary.py --psnr DIR_A DIR_B  "N<TAB>MIN_DB<TAB>MEAN_DB" over the PNGs both folders hold
                                             at the same relative path (inf when identical)

OUTDIR holds: env.txt (GPU, driver, nvcc, configure line), steps.tsv (step, seconds, exit code),
ctest_gpu.log, bench_cuda.json (bench --json), run_<dev>_<name>.json (run --json), compare.tsv
("mesh NAME identical|different|missing", "frames NAME N MIN MEAN"). A file that is absent is reported
as not run, never as passed.
"""
import json
import math
import os
import re
import sys

# Frames of one mesh rendered by the two backends share every per-sample rule (render_math.h); below this
# they disagree somewhere visible.
MIN_FRAME_PSNR_DB = 40.0

# Issue 14's targets on the GPU, against bench's pipeline.* entries (bench/stages_flow.c): the per-stage
# device times summed over the job from the decoded file to the mesh, and the job timed whole.
JOB_STAGES = ["decode", "prep", "build", "cleanup", "border", "edges1", "regions1", "inpaint1", "edges2",
              "regions2", "inpaint2", "mesh"]
TARGETS = [
    # (what, entries summed, whole-job entry, limit in ms)
    ("photo -> mesh, non-learned fill", ["pipeline.stage." + k for k in JOB_STAGES], "pipeline.mesh.moon-classic", 100.0),
    ("photo -> mesh, learned fill", ["pipeline.stage-learned." + k for k in JOB_STAGES], "pipeline.mesh.moon-learned",
     300.0),
    ("four 240-frame videos rendered + encoded", ["pipeline.stage.videos"], None, 1500.0),
]
# The targets are for moon at 960 px and 240 frames per video: entries of another size (P3D_BENCH_SIDE,
# P3D_BENCH_FRAMES) are shown but not judged.
TARGET_LABEL = re.compile(r"960(x960| px)")
TARGET_FRAMES = "x 240 frames"


def targets(bench):
    """Rows (what, stage sum ms or None, whole ms or None, limit, verdict) from bench's stages."""
    ms = {b["name"]: b["ms_median"] for b in bench if b.get("status") == "ok" and TARGET_LABEL.search(b.get("input") or "")
          and ("videos" not in b["name"] or TARGET_FRAMES in (b.get("input") or ""))}
    rows = []
    for what, parts, whole, limit in TARGETS:
        got = [ms.get(p) for p in parts]
        total = sum(got) if all(v is not None for v in got) else None
        w = ms.get(whole) if whole else None
        vals = [v for v in (total, w) if v is not None]
        verdict = "not run" if not vals else ("met" if max(vals) < limit else "NOT MET")
        rows.append({"target": what, "stages_ms": total, "whole_ms": w, "limit_ms": limit, "result": verdict})
    return rows


def psnr_dirs(a, b):
    import numpy as np
    from PIL import Image

    vals = []
    for dirpath, _, files in os.walk(a):
        for f in sorted(files):
            if not f.endswith(".png"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), a)
            pb = os.path.join(b, rel)
            if not os.path.isfile(pb):
                continue
            x = np.asarray(Image.open(os.path.join(a, rel)).convert("RGB"), dtype=np.float64)
            y = np.asarray(Image.open(pb).convert("RGB"), dtype=np.float64)
            if x.shape != y.shape:
                vals.append(0.0)
                continue
            mse = float(np.mean((x - y) ** 2))
            vals.append(math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse))
    if not vals:
        return 0, math.nan, math.nan
    finite = [v for v in vals if math.isfinite(v)]
    mean = sum(finite) / len(finite) if finite else math.inf
    return len(vals), min(vals), mean


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def ctest_counts(log):
    """(passed, failed, skipped, total) from ctest's closing lines, or None when it did not finish."""
    if log is None:
        return None
    m = re.search(r"(\d+)% tests passed, (\d+) tests? failed out of (\d+)", log)
    if not m:
        return None
    failed, total = int(m.group(2)), int(m.group(3))
    skipped = len(re.findall(r"^\s*\d+ - \S+ \(Skipped\)", log, re.M))
    return total - failed - skipped, failed, skipped, total


def summarize(out):
    s = {"env": [], "steps": [], "checks": [], "bench": [], "runs": [], "compare": [], "targets": []}
    env = read(os.path.join(out, "env.txt"))
    s["env"] = env.strip().splitlines() if env else []
    steps = read(os.path.join(out, "steps.tsv")) or ""
    for line in steps.splitlines():
        name, sec, rc = line.split("\t")
        s["steps"].append({"step": name, "seconds": int(sec), "rc": int(rc)})

    def check(name, ok, detail):
        s["checks"].append({"check": name, "result": ok, "detail": detail})

    for st in s["steps"]:
        if st["step"] != "total":
            check(st["step"], "passed" if st["rc"] == 0 else "FAILED", "exit %d, %d s" % (st["rc"], st["seconds"]))
    if not s["steps"]:
        check("gpu_check", "NOT RUN", "no steps.tsv in %s" % out)

    c = ctest_counts(read(os.path.join(out, "ctest_gpu.log")))
    if c is None:
        check("ctest -L gpu", "NOT RUN", "no ctest summary in ctest_gpu.log")
    else:
        p, f, k, t = c
        ok = "passed" if f == 0 and k == 0 and t > 0 else "FAILED"
        check("ctest -L gpu", ok, "%d passed, %d failed, %d skipped of %d" % (p, f, k, t))

    bench = read(os.path.join(out, "bench_cuda.json"))
    if bench:
        s["bench_clock"] = json.loads(bench).get("clock", "")
        for st in json.loads(bench).get("stages", []):
            s["bench"].append({k: st.get(k) for k in ("name", "input", "status", "reason", "ms_median", "ms_min",
                                                        "mpixel_per_s", "gflop_per_s", "peak_device_mb")})
    s["targets"] = targets(s["bench"])
    for f in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        m = re.fullmatch(r"run_(cuda|cpu)_(\w+)\.json", f)
        if not m:
            continue
        rep = json.loads(read(os.path.join(out, f)))
        for ph in rep.get("photos", []):
            stages = ph.get("seconds") or {}
            total = sum(v for k, v in stages.items() if not k.startswith("ldi."))
            row = {"device": m.group(1), "name": m.group(2), "status": ph.get("status"),
                   "seconds": total if stages else None, "faces": ph.get("faces"), "videos": ph.get("videos"),
                   "frames": ph.get("frames"), "stages": stages}
            s["runs"].append(row)
            if ph.get("status") != "done":
                check("run %s %s" % (m.group(1), m.group(2)), "FAILED", ph.get("error", ""))
    comp = read(os.path.join(out, "compare.tsv")) or ""
    for line in comp.splitlines():
        parts = line.split("\t")
        if parts[0] == "mesh":
            s["compare"].append({"what": "mesh", "name": parts[1], "result": parts[2]})
            check("mesh cuda == cpu (%s)" % parts[1], "passed" if parts[2] == "identical" else "FAILED", parts[2])
        elif parts[0] == "frames":
            n, lo, mean = int(parts[2]), float(parts[3]), float(parts[4])
            s["compare"].append({"what": "frames", "name": parts[1], "n": n, "psnr_min_db": lo, "psnr_mean_db": mean})
            ok = n > 0 and lo >= MIN_FRAME_PSNR_DB
            check("frames cuda vs cpu (%s)" % parts[1], "passed" if ok else "FAILED",
                  "%d frames, PSNR min %.2f dB, mean %.2f dB (limit %.0f)" % (n, lo, mean, MIN_FRAME_PSNR_DB))
    s["ok"] = bool(s["checks"]) and all(c["result"] == "passed" for c in s["checks"])
    return s


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def print_summary(s, out):
    print("== gpu_check summary (%s)" % out)
    for line in s["env"]:
        print("   " + line)
    print("\n%-34s %-8s %s" % ("check", "result", "detail"))
    for c in s["checks"]:
        print("%-34s %-8s %s" % (c["check"], c["result"], c["detail"]))
    if s["bench"]:
        print("\n%-40s %10s %10s %10s %10s %s" % ("bench stage (cuda)", "median ms", "min ms", "MPix/s", "GFLOP/s", "status"))
        for b in s["bench"]:
            print("%-40s %10s %10s %10s %10s %s %s" % (b["name"], fmt(b["ms_median"], ".3f"), fmt(b["ms_min"], ".3f"),
                                                     fmt(b["mpixel_per_s"], ".1f"), fmt(b["gflop_per_s"], ".1f"),
                                                     b["status"], b["reason"] or ""))
    if s["bench"]:
        # where the time goes: the job's stages in order, each alone (bench/stages_flow.c)
        ms = {b["name"]: b for b in s["bench"]}
        print("\n%-28s %12s %12s   (%s)" % ("pipeline stage", "classic ms", "learned ms", s.get("bench_clock", "")))
        for k in JOB_STAGES + ["render", "videos"]:
            a, b = ms.get("pipeline.stage." + k), ms.get("pipeline.stage-learned." + k)
            print("%-28s %12s %12s" % (k, fmt(a["ms_median"] if a else None, ".3f"), fmt(b["ms_median"] if b else None, ".3f")))
    if s["targets"]:
        print("\n%-42s %12s %12s %10s %s" % ("target (issue 14)", "stages ms", "whole ms", "limit ms", "result"))
        for t in s["targets"]:
            print("%-42s %12s %12s %10.0f %s" % (t["target"], fmt(t["stages_ms"], ".3f"), fmt(t["whole_ms"], ".3f"),
                                                  t["limit_ms"], t["result"]))
    for r in s["runs"]:
        st = " ".join("%s=%.3f" % (k, v) for k, v in r["stages"].items() if isinstance(v, (int, float)))
        print("\nrun %s %s: %s, %s s, %s faces, %s videos / %s frames\n   %s" % (
            r["device"], r["name"], r["status"], fmt(r["seconds"], ".3f"), r["faces"], r["videos"], r["frames"], st))
    print("\n%s" % ("ALL CHECKS PASSED" if s["ok"] else "SOME CHECKS FAILED OR DID NOT RUN"))


def main(argv):
    if len(argv) == 4 and argv[1] == "--psnr":
        n, lo, mean = psnr_dirs(argv[2], argv[3])
        print("%d\t%.4f\t%.4f" % (n, lo, mean))
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = argv[1]
    s = summarize(out)
    print_summary(s, out)
    tmp = os.path.join(out, "summary.json.tmp")
    if os.path.isdir(out):
        with open(tmp, "w") as f:
            json.dump(s, f, indent=1, allow_nan=True)
        os.replace(tmp, os.path.join(out, "summary.json"))
    return 0 if s["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
