#!/usr/bin/python3
"""test_tiefenrausch_oracle.py - the C engine's Int8 operators and whole network against the numpy
oracle tools/tiefenrausch_oracle.py (written from Caffe2's int8 operators and QNNPACK's SSE2 kernels).

    /usr/bin/python3 tests/test_tiefenrausch_oracle.py BUILD/tiefenrausch_ops [--ops-only]

1. Op by op, on seeded random inputs (no model needed): Int8Quantize (every rgb8 input value, exact
   ties, saturation), exp(Int8Dequantize) on all 256 levels, Int8Conv (pointwise, depthwise 3x3
   stride 1 and 2, the first 3 -> 48 and last 32 -> 1 full convolutions, grouped), Int8Add (equal and
   unequal input / output scales), Int8ResizeNearest. Scales are powers of two (or 1.5 / 1.25 times
   one) in a share of the cases, so that the Q31 product and the final shift land on exact ties;
   biases, weights and zero points at the extremes drive the outputs into saturation; fused ReLU is
   on in some. Every output byte (float bits for the exp) must equal the oracle's; each op prints how
   many values it compared and how many were ties or saturated.
2. End to end (needs ../shared): every photo of ../shared/fixtures is decoded and resized by the C
   program (tiefenrausch_ops net), run through the engine, and the network input is run through the
   oracle's graph: the quantized output must be identical, pixel for pixel. columns.jpg's oracle
   output is also compared with the released columns.npy. The per-fixture share of equal pixels and
   the oracle's time are printed.
Exit 0 passed, 1 failed, 77 when the end-to-end part could not run and --ops-only was not given
(the op part still has to pass)."""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import tiefenrausch_oracle as oracle  # noqa: E402

F32 = np.float32
SHARED = os.path.join(ROOT, "..", "shared")
MODEL_DIR = os.path.join(SHARED, "models", "tiefenrausch")
PHOTOS = ["columns/columns.jpg", "moon/moon.jpg", "tum-kinect/TUM_color.png", "middlebury-cones/im2.png",
          "middlebury-cones/im6.png"]
# scales of the released graph (input, a convolution's, an output) to mix in with the tie-making ones
MODEL_SCALES = [0.00770313, 0.0157029, 0.0061442, 0.0326092, 0.0486927, 0.0187441, 0.00535931]


def hexf(v):
    return float(F32(v)).hex()


class Cases:
    """Writes one line per case for tiefenrausch_ops and keeps the oracle's expected output."""

    def __init__(self, tmp):
        self.tmp, self.lines, self.expect, self.n = tmp, [], [], 0

    def file(self, arr, suffix="bin"):
        path = os.path.join(self.tmp, f"c{self.n}_{len(self.lines)}_{np.random.randint(1 << 30)}.{suffix}")
        np.ascontiguousarray(arr).tofile(path)
        return path

    def add(self, op, fields, out_dtype, expected, name, ties=0):
        y = os.path.join(self.tmp, f"y{len(self.lines)}.bin")
        self.lines.append(" ".join([op] + [str(f) for f in fields] + [y]))
        self.expect.append((op, y, out_dtype, expected, name, ties))


def tie_scale(rng):
    """A power of two, or 1.5 / 1.25 times one: products and ratios of these are exact in float32 and
    make the requantization meet exact halves."""
    return float(F32(rng.choice([1.0, 1.5, 1.25]) * 2.0 ** -int(rng.integers(2, 9))))


def pick_scale(rng, tie):
    return tie_scale(rng) if tie else float(F32(rng.choice(MODEL_SCALES) * rng.uniform(0.5, 2.0)))


def u8(rng, shape, extreme=False):
    a = rng.integers(0, 256, shape).astype(np.uint8)
    if extreme:  # a third of the samples at 0 or 255
        m = rng.random(shape) < 0.33
        a[m] = rng.choice(np.array([0, 255], np.uint8), int(m.sum()))
    return a


def conv_cases(cs, rng):
    shapes = []  # (H, W, C, M, KH, KW, S, pad, G)
    for _ in range(6):
        c = int(rng.choice([3, 8, 17, 40, 64]))
        shapes.append((int(rng.integers(1, 9)), int(rng.integers(1, 9)), c, int(rng.choice([1, 4, 13, 48])), 1, 1, 1, 0, 1))
    for s in (1, 2):
        for c in (8, 20, 48):
            shapes.append((int(rng.integers(3, 12)), int(rng.integers(3, 12)), c, c, 3, 3, s, 1, c))
    shapes += [(9, 7, 3, 48, 3, 3, 1, 1, 1), (8, 6, 32, 1, 3, 3, 1, 1, 1), (7, 9, 8, 12, 3, 3, 2, 1, 2),
               (6, 6, 6, 6, 1, 1, 2, 0, 1), (5, 7, 4, 8, 3, 3, 1, 1, 4)]
    for i, (h, w, c, m, kh, kw, s, p, g) in enumerate(shapes * 3):
        tie = i % 3 != 2
        x_scale, w_scale = pick_scale(rng, tie), pick_scale(rng, tie)
        x_zp, w_zp, y_zp = (int(rng.choice([0, 127, 128, 255, int(rng.integers(0, 256))])) for _ in range(3))
        relu = int(i % 5 == 4)
        x = u8(rng, (h, w, c), extreme=i % 4 == 1)
        wt = u8(rng, (m, kh, kw, c // g), extreme=i % 4 == 2)
        acc0 = oracle.conv_accumulate(x, x_zp, wt, w_zp, np.zeros(m, np.int32), (s, s), (p, p, p, p), g)
        spread = max(float(acc0.std()), 1.0)
        b = rng.integers(-int(spread), int(spread) + 1, m).astype(np.int32)
        if i % 6 == 5:  # far outside the output range: saturation
            b = (b.astype(np.int64) * 40).clip(-2**30, 2**30).astype(np.int32)
        # outputs of some tens of levels: ratio ~ 40 / spread, a power of two (x 1, 1.25, 1.5) for ties
        target = 40.0 / spread
        ratio = float(F32(2.0 ** np.floor(np.log2(target)) * rng.choice([1.0, 1.25, 1.5]))) if tie else \
            float(F32(target * rng.uniform(0.5, 2.0)))
        ratio = min(ratio, 0.75)
        y_scale = float(F32(F32(x_scale) * F32(w_scale)) / F32(ratio))
        mult, shift = oracle.conv_requant_params(x_scale, w_scale, y_scale)
        acc = acc0 + b
        exp = oracle.int8_conv(x, x_scale, x_zp, wt, w_scale, w_zp, b, y_scale, y_zp, stride=(s, s),
                               pads=(p, p, p, p), groups=g, relu=bool(relu))
        prod = acc * mult
        q31 = (prod + (1 << 30)) >> 31
        mask = (1 << shift) - 1
        ties = int(((prod & 0x7FFFFFFF) == 1 << 30).sum() + (shift > 0 and ((q31 & mask) == (mask + 1) >> 1).sum()))
        kind = "pointwise" if (kh, kw, s, g) == (1, 1, 1, 1) else "depthwise" if g == c == m else "full"
        cs.add("conv", [h, w, c, m, kh, kw, s, s, p, p, p, p, g, hexf(x_scale), hexf(w_scale), hexf(y_scale),
                        x_zp, w_zp, y_zp, relu, cs.file(x), cs.file(wt), cs.file(b)], np.uint8, exp,
               f"Int8Conv {kind}", ties)


def add_cases(cs, rng):
    for i in range(40):
        n = int(rng.integers(1, 300))
        tie = i % 3 != 2
        if i % 7 == 0:
            a_s = b_s = y_s = pick_scale(rng, tie)
        else:
            y_s = pick_scale(rng, tie)
            a_s = float(F32(y_s * (tie_scale(rng) * 8 if tie else rng.uniform(0.1, 4.0))))
            b_s = float(F32(y_s * (tie_scale(rng) * 8 if tie else rng.uniform(0.1, 4.0))))
        a_zp, b_zp, y_zp = (int(rng.choice([0, 127, 128, 255, int(rng.integers(0, 256))])) for _ in range(3))
        relu = int(i % 5 == 4)
        a, b = u8(rng, n, extreme=i % 2 == 1), u8(rng, n, extreme=i % 4 == 1)
        exp = oracle.int8_add(a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp, bool(relu))
        am, bm, shift = oracle.add_params(a_s, b_s, y_s)
        acc = a.astype(np.int64) * am + b.astype(np.int64) * bm - (am * a_zp + bm * b_zp)
        mask = (1 << shift) - 1
        ties = int(((acc & mask) == (mask + 1) >> 1).sum())
        cs.add("add", [n, hexf(a_s), a_zp, hexf(b_s), b_zp, hexf(y_s), y_zp, relu, cs.file(a), cs.file(b)],
               np.uint8, exp, "Int8Add", ties)


def other_cases(cs, rng):
    for h, w, c in ((1, 1, 1), (3, 5, 7), (12, 9, 40), (6, 4, 3)):
        x = u8(rng, (h, w, c))
        cs.add("resize", [h, w, c, cs.file(x)], np.uint8, oracle.int8_resize_nearest(x, 2.0, 2.0),
               "Int8ResizeNearest")
    # the engine's input path: every rgb8 value / 255.0 (float64) as float32, at the model's scale
    v = (np.arange(256) / 255.0).astype(F32)
    for s, z in ((0.00770313, 128), (2.0 ** -7, 128), (1.5 * 2 ** -8, 0)):
        cs.add("quantize", [v.size, hexf(s), z, cs.file(v)], np.uint8, oracle.int8_quantize(v, s, z), "Int8Quantize")
    for _ in range(6):
        s = tie_scale(rng)
        k = rng.integers(-400, 400, 500)
        x = ((k + 0.5) * s).astype(F32)  # exact ties: half to even
        x = np.concatenate([x, F32([1e30, -1e30, 300 * s, -300 * s, 0.0])]).astype(F32)
        z = int(rng.integers(0, 256))
        ties = int((np.abs(x / F32(s) - np.floor(x / F32(s))) == 0.5).sum())
        cs.add("quantize", [x.size, hexf(s), z, cs.file(x)], np.uint8, oracle.int8_quantize(x, s, z), "Int8Quantize",
               ties)
    lv = np.arange(256, dtype=np.uint8)
    for s, z in ((0.0187441, 128), (0.01, 0), (0.03, 255)):
        exp = np.exp(oracle.int8_dequantize(lv, s, z))
        cs.add("output", [256, hexf(s), z, cs.file(lv)], np.float32, exp, "Int8Dequantize + exp")


def run_ops(runner, tmp):
    rng = np.random.default_rng(20261207)
    np.random.seed(1)
    cs = Cases(tmp)
    conv_cases(cs, rng)
    add_cases(cs, rng)
    other_cases(cs, rng)
    path = os.path.join(tmp, "cases.txt")
    with open(path, "w") as f:
        f.write("\n".join(cs.lines) + "\n")
    r = subprocess.run([runner, "ops", path], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL: {runner} ops: {r.stderr.strip()}")
        return 1
    totals = {}
    failed = 0
    for op, y, dtype, expected, name, ties in cs.expect:
        got = np.fromfile(y, dtype).reshape(expected.shape)
        same = got.view(np.uint32) == expected.view(np.uint32) if dtype == np.float32 else got == expected
        t = totals.setdefault(name, [0, 0, 0, 0, 0])
        t[0] += 1
        t[4] += ties
        t[1] += expected.size
        t[2] += int((~same).sum())
        if dtype == np.uint8:
            t[3] += int(((expected == 0) | (expected == 255)).sum())
        if not same.all():
            failed += 1
            if t[2] == int((~same).sum()):
                bad = np.argwhere(~same)[0]
                print(f"  {name}: first difference at {tuple(bad)}: C {got[tuple(bad)]}, oracle "
                      f"{expected[tuple(bad)]} ({op} case: {[ln for ln in cs.lines if y in ln][0][:160]})")
    for name, (cases, values, diff, sat, ties) in totals.items():
        status = "ok" if diff == 0 else "DIFFERS"
        print(f"{name}: {cases} cases, {values} values ({ties} exact rounding ties, {sat} at 0 or 255): "
              f"{diff} differ: {status}")
    return 1 if failed else 0


def run_net(runner, tmp):
    blob = os.path.join(tmp, "tiefenrausch.p3dw")
    conv = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "convert_tiefenrausch.py"), "--from",
                           MODEL_DIR, "-o", blob], capture_output=True, text=True)
    if conv.returncode != 0:
        print(f"FAIL: convert_tiefenrausch.py: {conv.stderr.strip()}")
        return 1
    model = oracle.Model(MODEL_DIR)
    failed = 0
    for rel in PHOTOS:
        photo = os.path.join(SHARED, "fixtures", rel)
        if not os.path.isfile(photo):
            print(f"FAIL: {photo} is missing")
            failed += 1
            continue
        out = os.path.join(tmp, os.path.basename(rel))
        r = subprocess.run([runner, "net", blob, photo, out], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL: {rel}: {r.stderr.strip()}")
            failed += 1
            continue
        h, w = (int(v) for v in open(out + ".txt").read().split())
        rgb = np.fromfile(out + "_rgb.u8", np.uint8).reshape(h, w, 3)
        q = np.fromfile(out + "_q.u8", np.uint8).reshape(h, w)
        t0 = time.time()
        levels, _, _, dq = model.run(oracle.network_input(rgb))
        dt = time.time() - t0
        equal = float((levels == q).mean())
        off = np.abs(levels.astype(np.int32) - q)
        print(f"{rel}: {w}x{h}: {100 * equal:.3f}% of the output levels equal the oracle's "
              f"(max difference {off.max()} levels; oracle {dt:.1f} s)")
        if equal != 1.0:
            failed += 1
        if rel.startswith("columns/"):
            ref = np.load(os.path.join(SHARED, "fixtures", "columns", "columns.npy"))
            same = float((np.exp(dq) == ref).mean())
            print(f"  oracle vs the released columns.npy: {100 * same:.3f}% bit-identical")
            if same != 1.0:
                failed += 1
    return 1 if failed else 0


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    runner = sys.argv[1]
    ops_only = "--ops-only" in sys.argv[2:]
    with tempfile.TemporaryDirectory(prefix="tief_oracle_") as tmp:
        rc = run_ops(runner, tmp)
        if ops_only:
            return rc
        if not os.path.isfile(os.path.join(MODEL_DIR, "tiefenrausch_init.pb")):
            print("SKIP: end to end: ../shared/models/tiefenrausch not found (../shared is absent beside the "
                  "project root)")
            return rc or 77
        return run_net(runner, tmp) or rc


if __name__ == "__main__":
    sys.exit(main())
